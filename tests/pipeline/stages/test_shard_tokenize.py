from pipeline.stages import shard, tokenize


def test_pack_blocks_and_doc_boundaries():
    docs = [("a", "en", "s", [1, 2, 3]), ("b", "en", "s", [4, 5, 6, 7, 8]), ("c", "fr", "t", [9])]
    cols, dropped = shard.pack(docs, seq_len=3, eos=0)
    assert [r.tolist() for r in cols["input_ids"]] == [[1, 2, 3, 0], [4, 5, 6, 7], [8, 0, 9, 0]]
    assert cols["doc_ids"] == [["a"], ["b"], ["b", "c"]]
    assert cols["doc_starts"] == [[0], [0], [0, 2]]
    assert cols["langs"][2] == ["en", "fr"] and cols["sources"][2] == ["s", "t"]
    assert dropped == 0


def test_pack_drops_and_counts_the_tail():
    cols, dropped = shard.pack([("a", "en", "s", list(range(1, 11)))], seq_len=3, eos=0)
    assert len(cols["input_ids"]) == 2 and dropped == 11 - 8


def test_split_is_stable_and_roughly_proportional():
    ids = [f"doc{i}" for i in range(20000)]
    val = sum(shard.split_of(d, 0.1) == "val" for d in ids)
    assert 1700 < val < 2300
    assert [shard.split_of(d, 0.1) for d in ids[:100]] == [shard.split_of(d, 0.1) for d in ids[:100]]
    assert all(0 <= shard.bucket_of(d, 7) < 7 for d in ids[:1000])


def test_train_bpe_is_deterministic_and_round_trips():
    texts = [f"Document number {i} talks about data cleaning, deduplication and tokenization." for i in range(200)]
    a, b = tokenize.train_bpe(texts, 400), tokenize.train_bpe(texts, 400)
    assert a == b
    tok = tokenize.load(a)
    assert tok.get_vocab_size() <= 400
    ids = tokenize.encode_batch(tok, ["Ünïcödé 文字 survive byte-level BPE."])[0]
    assert tok.decode(ids) == "Ünïcödé 文字 survive byte-level BPE."
    assert tokenize.eos_id(tok) == tok.token_to_id(tokenize.EOS_TOKEN)


def test_gpt2_tokenizer_reference_ids(shared):
    path = shared("tokenizer_gpt2", "tokenizer.json")
    tok = tokenize.load(open(path, encoding="utf-8").read())
    assert tokenize.encode_batch(tok, ["Hello world", " the"]) == [[15496, 995], [262]]
    assert tokenize.eos_id(tok) == 50256
