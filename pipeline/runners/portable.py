"""A local Beam job service plus an EXTERNAL SDK worker pool, for PortableRunner runs without a cluster.

Both are Beam's own servers, started as subprocesses of this Python for the lifetime of one run:
`apache_beam.runners.portability.local_job_service_main` (the job service) and
`apache_beam.runners.worker.worker_pool_main` (starts SDK harnesses on request). Nothing is downloaded.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before listening on port {port}")
        with socket.socket() as s:
            if s.connect_ex(("localhost", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f} s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def local_job_service(workers: int):
    """Yield the Beam flags that point PortableRunner at a fresh local job service and worker pool."""
    job_port, pool_port = free_port(), free_port()
    logdir = tempfile.mkdtemp(prefix="winnow-portable-")
    env = dict(os.environ)
    # the pool starts SDK workers as `python -c ...`: make that this interpreter (the one with Winnow installed)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    procs = []
    try:
        with open(os.path.join(logdir, "worker_pool.log"), "wb") as log:
            pool = subprocess.Popen([sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main",
                                     f"--service_port={pool_port}"], stdout=log, stderr=subprocess.STDOUT, env=env)
        procs.append(pool)
        with open(os.path.join(logdir, "job_service.log"), "wb") as log:
            job = subprocess.Popen([sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main",
                                    f"--port={job_port}"], stdout=log, stderr=subprocess.STDOUT, env=env)
        procs.append(job)
        _wait_port(pool_port, pool, "worker_pool_main")
        _wait_port(job_port, job, "local_job_service_main")
        yield [f"--job_endpoint=localhost:{job_port}", "--environment_type=EXTERNAL",
               f"--environment_config=localhost:{pool_port}", f"--sdk_worker_parallelism={workers}"]
    finally:
        for proc in reversed(procs):
            _stop(proc)
