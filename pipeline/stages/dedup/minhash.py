"""MinHash signatures of word n-gram shingles, computed by datasketch `MinHash.update_batch` (numpy over all
shingles of a document at once; default sha1_hash32, datasketch 2.x affine32 scheme).
"""
from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def simplify(text: str) -> list[str]:
    """NFKC, lowercase, punctuation to spaces, split into words (the shingling input)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _NON_WORD.sub(" ", text).split()


def shingles(text: str, n: int) -> set[bytes]:
    """Word n-grams (joined by a space, UTF-8). A doc shorter than n words is one shingle."""
    words = simplify(text)
    if not words:
        return set()
    if len(words) < n:
        return {" ".join(words).encode("utf-8")}
    return {" ".join(words[i:i + n]).encode("utf-8") for i in range(len(words) - n + 1)}


@functools.lru_cache(maxsize=8)
def _template(num_perm: int, seed: int):
    from datasketch import MinHash
    return MinHash(num_perm=num_perm, seed=seed)


def signature(text: str, num_perm: int = 128, ngram: int = 5, seed: int = 1) -> np.ndarray:
    """datasketch `MinHash.hashvalues` of the doc's shingles, via one vectorized `update_batch` call.

    The permutations are drawn once per (num_perm, seed) and shared, so a doc costs only its shingle hashes.
    """
    from datasketch import MinHash
    t = _template(num_perm, seed)
    m = MinHash(num_perm=num_perm, seed=seed, permutations=t.permutations, scheme=t.scheme)
    sh = shingles(text, ngram)
    if sh:
        m.update_batch(sorted(sh))
    return np.asarray(m.hashvalues)
