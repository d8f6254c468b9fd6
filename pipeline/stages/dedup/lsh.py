"""LSH banding for MinHash signatures: (bands, rows) from the target Jaccard threshold, band keys per doc.

(b, r) minimise the weighted false-positive + false-negative area of the S-curve 1 - (1 - s^r)^b around the
threshold, exactly as datasketch `MinHashLSH` does (`datasketch.lsh._optimal_param`, weights 0.5/0.5).
"""
from __future__ import annotations

import hashlib

import numpy as np


def optimal_params(threshold: float, num_perm: int) -> tuple[int, int]:
    from datasketch.lsh import _optimal_param
    b, r = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(b), int(r)


def bands_rows(near_cfg) -> tuple[int, int]:
    """The (bands, rows) of a dedup.near config: the explicit ones, else derived from its threshold."""
    if near_cfg.bands is not None:
        return near_cfg.bands, near_cfg.rows
    return optimal_params(near_cfg.threshold, near_cfg.num_perm)


def candidate_probability(s: float, bands: int, rows: int) -> float:
    """Probability that two docs of Jaccard s share at least one band."""
    return 1.0 - (1.0 - s ** rows) ** bands


def band_keys(sig: np.ndarray, bands: int, rows: int) -> list[tuple[int, bytes]]:
    """One (band index, 16-byte digest of the band's values) key per band."""
    return [(i, hashlib.blake2b(sig[i * rows:(i + 1) * rows].astype("<u8").tobytes(), digest_size=16).digest())
            for i in range(bands)]
