"""memory.release_freed_memory: freed heap memory that glibc keeps (RSS at the high-water mark) goes back to
the operating system. Runs in a fresh interpreter, so that nothing else shapes the heap."""
import subprocess
import sys
import textwrap

import pytest

from pipeline.io import memory

ROOT = __file__.rsplit("/tests/", 1)[0]


@pytest.mark.skipif(memory._TRIM is None, reason="no glibc malloc_trim here (only Arrow's pool is released)")
def test_freed_heap_memory_goes_back_to_the_os():
    code = textwrap.dedent(f"""
        import sys
        import psutil
        sys.path.insert(0, {ROOT!r})
        from pipeline.io import memory
        p = psutil.Process()
        blocks = [bytes(64 * 1024) for _ in range(2000)]      # ~131 MB in glibc's heap
        keep = bytes(64 * 1024)                     # the heap's top stays in use: free() cannot shrink it
        del blocks
        before = p.memory_info().rss
        memory.release_freed_memory()
        print(before - p.memory_info().rss)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(out) > 80e6, f"released {int(out) / 1e6:.0f} MB of ~131 MB freed"
