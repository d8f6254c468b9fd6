"""MinHash signatures of word n-gram shingles, vectorized in numpy over all shingles of a document at once.

Shingle hash: `hash_shingle` (polynomial word hashes over code points, MurmurHash3 fmix64, combined per
shingle, low 32 bits). Permutations: datasketch 2.x "affine32" (fmix32 pre-mix, a*h+b mod 2^32), re-derived
from the seed. `datasketch.MinHash(num_perm, seed, hashfunc=hash_shingle).update_batch(shingles(text, n))`
gives the same hashvalues as `signature(text, num_perm, n, seed)`; tests/pipeline/stages/dedup proves it.
"""
from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_M64 = (1 << 64) - 1
# Odd multipliers, so both polynomials are invertible mod 2^64: xxHash PRIME64_1 (per code point) and
# PRIME64_2 (per word of a shingle), from github.com/Cyan4973/xxHash xxhash.h.
_P = 0x9E3779B185EBCA87
_R = 0xC2B2AE3D27D4EB4F
# MurmurHash3 fmix64/fmix32 finalizers (github.com/aappleby/smhasher MurmurHash3.cpp); the 32-bit one is
# the pre-mix datasketch 2.x applies to every input hash (datasketch.minhash._FMIX_CONSTANTS).
_FMIX64 = (33, 0xFF51AFD7ED558CCD, 33, 0xC4CEB9FE1A85EC53, 33)
_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def simplify(text: str) -> list[str]:
    """NFKC, lowercase, punctuation to spaces, split into words (the shingling input)."""
    return _NON_WORD.sub(" ", _normalize(text)).split()


def shingles(text: str, n: int) -> set[bytes]:
    """Word n-grams (joined by a space, UTF-8). A doc shorter than n words is one shingle."""
    words = simplify(text)
    if not words:
        return set()
    if len(words) < n:
        return {" ".join(words).encode("utf-8")}
    return {" ".join(words[i:i + n]).encode("utf-8") for i in range(len(words) - n + 1)}


# --- the shingle hash, one shingle at a time (the definition; slow, for datasketch and tests) ---

def _fmix64(x: int) -> int:
    s1, m1, s2, m2, s3 = _FMIX64
    x ^= x >> s1
    x = (x * m1) & _M64
    x ^= x >> s2
    x = (x * m2) & _M64
    return x ^ (x >> s3)


@functools.lru_cache(maxsize=1 << 16)  # words repeat across shingles; the cache only saves time
def hash_word(word: str) -> int:
    """fmix64(sum_i ord(word[i]) * P^i mod 2^64): a 64-bit hash of one word's code points."""
    h = 0
    for c in reversed(word):  # Horner: ((c_{L-1} * P + c_{L-2}) * P + ...) * P + c_0
        h = (h * _P + ord(c)) & _M64
    return _fmix64(h)


def hash_shingle(shingle: bytes) -> int:
    """32-bit hash of a shingle (UTF-8 words joined by b" "): low 32 bits of fmix64(sum_j hash_word(w_j) * R^j).

    Pass it to datasketch as `MinHash(hashfunc=hash_shingle)` to reproduce `signature`.
    """
    acc = 0
    for w in reversed(shingle.decode("utf-8").split(" ")):  # Horner again, over the words
        acc = (acc * _R + hash_word(w)) & _M64
    return _fmix64(acc) & 0xFFFFFFFF


# --- the same hash and datasketch's permutations, vectorized over a document ---

@functools.cache
def _is_word() -> np.ndarray:
    """Per code point: kept by `simplify` ([\\W_] in `re` is `not str.isalnum()`; a test checks all of them)."""
    table = np.fromiter(map(str.isalnum, map(chr, range(0x110000))), dtype=bool, count=0x110000)
    table.flags.writeable = False
    return table


_POWERS_CACHED = 1 << 20  # code points whose powers are kept (2 x 8 MiB); longer docs compute their own
_powers_cache = (np.ones(1, np.uint64), np.ones(1, np.uint64))


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(P^i, P^-i) mod 2^64 for at least i < n; the cache grows by doubling and is swapped in whole."""
    global _powers_cache
    cached = _powers_cache
    if len(cached[0]) >= n:
        return cached
    size = max(n, min(2 * len(cached[0]), _POWERS_CACHED), 4096)
    out = []
    for base in (_P, pow(_P, -1, 1 << 64)):
        p = np.empty(size, np.uint64)
        p[0] = 1
        np.cumprod(np.full(size - 1, base, np.uint64), out=p[1:])  # uint64 products wrap: mod 2^64
        p.flags.writeable = False
        out.append(p)
    if size <= _POWERS_CACHED:
        _powers_cache = (out[0], out[1])
    return out[0], out[1]


def _fmix(x: np.ndarray, consts) -> np.ndarray:
    """MurmurHash3 finalizer in place on a uint64 or uint32 array (products wrap mod 2^width)."""
    s1, m1, s2, m2, s3 = (x.dtype.type(c) for c in consts)
    x ^= x >> s1
    x *= m1
    x ^= x >> s2
    x *= m2
    x ^= x >> s3
    return x


def word_hashes(text: str) -> np.ndarray:
    """`hash_word` of every word of `simplify(text)`, in order, as uint64."""
    # surrogatepass: a lone surrogate is not a word character, so `simplify` drops it like punctuation.
    cp = np.frombuffer(_normalize(text).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    n = len(cp)
    if n == 0:
        return np.empty(0, np.uint64)
    # Words are the maximal runs [start, end) of word code points: edges are where is-word flips.
    is_word = _is_word().take(cp)
    flips = np.empty(n + 1, bool)
    flips[0], flips[n] = is_word[0], is_word[n - 1]
    np.not_equal(is_word[1:], is_word[:-1], out=flips[1:n])
    edges = np.flatnonzero(flips)
    starts, ends = edges[0::2], edges[1::2]
    # prefix[k] = sum_{i<k} cp[i] * P^i, so a word's polynomial is (prefix[end] - prefix[start]) * P^-start.
    pw, inv = _powers(n)
    prefix = np.empty(n + 1, np.uint64)
    prefix[0] = 0
    np.multiply(cp, pw[:n], out=prefix[1:])
    np.cumsum(prefix[1:], out=prefix[1:])
    return _fmix((prefix.take(ends) - prefix.take(starts)) * inv.take(starts), _FMIX64)


def shingle_hashes(text: str, n: int) -> np.ndarray:
    """`hash_shingle` of every word n-gram of the doc in order (repeats kept), as uint32."""
    wh = word_hashes(text)
    if len(wh) == 0:
        return np.empty(0, np.uint32)
    k = min(n, len(wh))  # a doc shorter than n words is one shingle of all its words
    m = len(wh) - k + 1
    acc = wh[:m].copy()
    for j in range(1, k):
        acc += wh[j:j + m] * np.uint64(pow(_R, j, 1 << 64))
    return _fmix(acc, _FMIX64).astype(np.uint32)  # astype keeps the low 32 bits


@functools.lru_cache(maxsize=16)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) uint32 of datasketch 2.x `MinHash(num_perm, seed).permutations` ("affine32"), drawn as it does."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    a.flags.writeable = b.flags.writeable = False  # cached and shared
    return a, b


_BLOCK = 8192  # shingles per (num_perm, shingles) block: caps the product at 4 MiB for 128 permutations


def signature(text: str, num_perm: int = 128, ngram: int = 5, seed: int = 1) -> np.ndarray:
    """uint32 MinHash of the doc's shingles: min over shingles of a * fmix32(hash_shingle) + b mod 2^32."""
    a, b = permutations(num_perm, seed)
    sig = np.full(num_perm, 0xFFFFFFFF, np.uint32)  # datasketch's empty value
    hv = _fmix(shingle_hashes(text, ngram), _FMIX32)
    for i in range(0, len(hv), _BLOCK):
        # (num_perm, shingles): the min runs along contiguous rows, faster than the transposed layout.
        phv = a[:, None] * hv[i:i + _BLOCK]
        phv += b[:, None]
        np.minimum(sig, phv.min(axis=1), out=sig)
    return sig
