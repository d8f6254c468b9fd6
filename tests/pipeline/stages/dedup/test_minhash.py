"""minhash.signature is bit-identical to datasketch MinHash(hashfunc=minhash.hash_shingle) and estimates Jaccard."""
import functools
import gzip
import json
import random
import sys

import numpy as np
import pytest
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.stages.dedup import minhash

CONFIGS = [(128, 1), (64, 42), (256, 7), (1, 0)]
# Golden values: changing the hash changes every signature, and so which docs are near duplicates.
GOLDEN_SHINGLE = 1735058521  # hash_shingle(b"the quick brown fox jumps")
GOLDEN_SIGNATURE = [1637412639, 551643028, 1664795888, 311988453]  # signature(<pangram>, num_perm=4)
GENERATED = [
    "", "  ,, !! ", "_", "one", "two words", "three word doc", "exactly five words here now",
    "A b, C! d e f", "snake_case_words and 1st 2nd 3rd numbers 42 ½ ²",
    "Ünïcödé 文字 mixed words here and there ok", "İstanbul ΣΊΣΥΦΟΣ straße Ǆemal ﬁnance ＦＵＬＬ　ｗｉｄｔｈ",
    "中文没有空格所以整句是一个词。日本語の文も同じです、句読点で区切られる。한국어 문장은 띄어쓰기를 합니다.",
    "emoji 😀 between 👍🏽 words 𝐛𝐨𝐥𝐝 math 𠀀𠀁 astral cjk", "combining e\u0301 vs é and a\u0300",
    "lone \ud800 surrogate \udfff in text", "tabs\tand\nnewlines\r\nand\u00a0nbsp\u2003em space\u200bzwsp",
    "repeat " * 50, ("the quick brown fox jumps over the lazy dog " * 30).strip(),
]


def reference(text, num_perm, seed, ngram=5, hashfunc=minhash.hash_shingle):
    m = MinHash(num_perm=num_perm, seed=seed, hashfunc=hashfunc)
    m.update_batch(list(minhash.shingles(text, ngram)))
    return m.hashvalues


def real_texts(shared):
    texts = []
    with gzip.open(shared("web_trafilatura_eval", "documents.jsonl.gz"), "rt", encoding="utf-8") as f:
        texts += [json.loads(line)["text"] for line in f][:150]
    with gzip.open(shared("clean_reference_nltk", "inaugural.jsonl.gz"), "rt", encoding="utf-8") as f:
        texts += [json.loads(line)["text"] for line in f][:10]
    return texts


def test_permutations_are_datasketchs():
    for num_perm, seed in CONFIGS:
        a, b = minhash.permutations(num_perm, seed)
        ref = MinHash(num_perm=num_perm, seed=seed)
        assert ref.scheme == "affine32"
        assert np.array_equal(ref.permutations, np.array([a, b])) and a.dtype == ref.permutations.dtype


@pytest.mark.parametrize("num_perm,seed", CONFIGS)
def test_bit_identical_to_datasketch_on_generated_texts(num_perm, seed):
    for text in GENERATED:
        for ngram in (1, 3, 5):
            sig = minhash.signature(text, num_perm, ngram, seed)
            assert sig.dtype == np.uint32
            assert np.array_equal(sig, reference(text, num_perm, seed, ngram)), (text, ngram)


def test_bit_identical_to_datasketch_on_real_pages(shared):
    texts = real_texts(shared)
    for text in texts:
        assert np.array_equal(minhash.signature(text), reference(text, 128, 1)), text[:200]
    # Other configs: the same hash_shingle, memoized so datasketch only redoes the permutations.
    memo = functools.lru_cache(maxsize=None)(minhash.hash_shingle)
    for num_perm, seed in CONFIGS[1:]:
        for text in texts[::5]:
            assert np.array_equal(minhash.signature(text, num_perm, 5, seed),
                                  reference(text, num_perm, seed, hashfunc=memo)), text[:200]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.sampled_from([1, 2, 5]))
def test_bit_identical_to_datasketch_on_any_text(text, ngram):
    assert np.array_equal(minhash.signature(text, 16, ngram, 3), reference(text, 16, 3, ngram))


def test_vectorized_hashes_match_the_definition():
    text = GENERATED[10] + " " + GENERATED[11]
    assert minhash.word_hashes(text).tolist() == [minhash.hash_word(w) for w in minhash.simplify(text)]
    assert set(minhash.shingle_hashes(text, 3).tolist()) == {minhash.hash_shingle(s)
                                                             for s in minhash.shingles(text, 3)}
    # Long docs fall outside the cached powers of P and get their own.
    long_text = "wörd " * (minhash._POWERS_CACHED // 4)
    assert np.array_equal(minhash.signature(long_text, 8), reference(long_text, 8, 1))


def test_hash_is_the_documented_formula_and_stable():
    mask = (1 << 64) - 1
    word = "straße文"
    poly = sum(ord(c) * pow(minhash._P, i, 1 << 64) for i, c in enumerate(word)) & mask
    assert minhash.hash_word(word) == minhash._fmix64(poly)
    words = ["the", "quick", "brown"]
    acc = sum(minhash.hash_word(w) * pow(minhash._R, j, 1 << 64) for j, w in enumerate(words)) & mask
    assert minhash.hash_shingle(b"the quick brown") == minhash._fmix64(acc) & 0xFFFFFFFF
    assert minhash.hash_shingle(b"the quick brown fox jumps") == GOLDEN_SHINGLE
    assert minhash.signature("The quick brown fox jumps over the lazy dog.", 4).tolist() == GOLDEN_SIGNATURE


def test_word_table_is_simplifys_regex():
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    kept = minhash._NON_WORD.sub("", everything)
    assert kept == "".join(c for c in everything if minhash._is_word()[ord(c)])
    assert not any(c.isspace() for c in kept)  # so str.split() never cuts inside a word


def jaccard(a, b):
    return len(a & b) / len(a | b)


def edited_pairs(texts, rng):
    """(a, b): b is a with a share of its words deleted or replaced, from 0% to 60%."""
    for text, share in zip(texts, [0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6]):
        words = text.split()
        edited = [w if rng.random() >= share else rng.choice(["", "zzz", words[0]]) for w in words]
        yield text, " ".join(edited)


def test_jaccard_estimate_agrees_with_true_jaccard():
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(3000)]
    texts = [" ".join(rng.choice(vocab) for _ in range(800)) for _ in range(8)]
    pairs = list(edited_pairs(texts, rng)) + [(texts[0], texts[1])]
    for a, b in pairs:
        true = jaccard(minhash.shingles(a, 5), minhash.shingles(b, 5))
        est = float(np.mean(minhash.signature(a, 256) == minhash.signature(b, 256)))
        # One permutation matches with probability J: sd sqrt(J(1-J)/256) <= 0.031; allow ~3.5 sd.
        assert abs(est - true) <= 0.11, (true, est)


def test_jaccard_estimate_on_real_pages(shared):
    texts = [t for t in real_texts(shared) if len(t.split()) >= 500][:8]
    for a, b in edited_pairs(texts, random.Random(1)):
        true = jaccard(minhash.shingles(a, 5), minhash.shingles(b, 5))
        est = float(np.mean(minhash.signature(a, 256) == minhash.signature(b, 256)))
        assert abs(est - true) <= 0.11, (true, est)

