import numpy as np
from datasketch import MinHash, MinHashLSH

from pipeline.stages.dedup import components, exact, lsh, minhash

TEXT = ("Winnow turns raw crawled text into clean deduplicated tokenized training shards and "
        "trains on them, locally on a laptop or at scale on a distributed runner.")


def test_signature_bit_identical_to_datasketch():
    for text in (TEXT, TEXT * 3, "short text", "Ünïcödé 文字 mixed words here and there ok"):
        for num_perm, seed in ((128, 1), (64, 42)):
            ref = MinHash(num_perm=num_perm, seed=seed, hashfunc=minhash.hash_shingle)
            ref.update_batch(list(minhash.shingles(text, 5)))
            assert np.array_equal(ref.hashvalues, minhash.signature(text, num_perm, 5, seed))


def test_shingles_are_word_ngrams_of_simplified_text():
    assert minhash.shingles("A b, C! d e f", 5) == {b"a b c d e", b"b c d e f"}
    assert minhash.shingles("two words", 5) == {b"two words"}
    assert minhash.shingles("  ,, ", 5) == set()


def test_lsh_params_match_datasketch_and_s_curve():
    b, r = lsh.optimal_params(0.8, 128)
    ref = MinHashLSH(threshold=0.8, num_perm=128)
    assert (b, r) == (ref.b, ref.r)
    assert lsh.candidate_probability(0.95, b, r) > 0.99
    assert lsh.candidate_probability(0.3, b, r) < 0.01


def test_band_keys_collide_for_equal_bands_only():
    sig = minhash.signature(TEXT)
    other = sig.copy()
    other[0] ^= 1
    k1, k2 = lsh.band_keys(sig, 9, 13), lsh.band_keys(other, 9, 13)
    assert k1[0] != k2[0] and k1[1:] == k2[1:]


def test_exact_survivor_rule():
    acc = exact.create()
    for cand in [(0.5, "b"), (0.9, "z"), (0.9, "c"), (0.1, "a")]:
        acc = exact.add(acc, cand)
    assert acc == (4, (0.9, "c"))
    assert exact.merge([exact.add(exact.create(), (0.2, "x")), acc]) == (5, (0.9, "c"))


def test_components_and_survivor():
    edges = [("d", "b"), ("b", "c"), ("x", "y")]
    scores = {"b": 0.5, "c": 0.9, "d": 0.9, "x": 0.1, "y": 0.1}
    cl = components.clusters(edges, scores)
    assert cl["b"] == ("b", 3, "c") and cl["c"] == ("b", 3, None) and cl["d"] == ("b", 3, "c")
    assert cl["x"] == ("x", 2, None) and cl["y"] == ("x", 2, "x")


def test_union_find_is_order_independent():
    import random
    edges = [(f"n{i}", f"n{(i * 7) % 50}") for i in range(50)] + [(f"m{i}", f"m{i+1}") for i in range(20)]
    ref = components.clusters(edges, {})
    for seed in range(5):
        shuffled = edges[:]
        random.Random(seed).shuffle(shuffled)
        assert components.clusters(shuffled, {}) == ref
