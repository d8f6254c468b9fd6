import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
DATA = os.path.join(SHARED, "data")
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def shared_path(*parts: str) -> str:
    """Path under ../shared/data, or skip the test with a clear message when it is absent."""
    path = os.path.join(DATA, *parts)
    if not os.path.exists(path):
        pytest.skip(f"needs ../shared/data/{'/'.join(parts)} beside the repo (absent here)")
    return path


@pytest.fixture(scope="session")
def shared():
    return shared_path
