"""Tests for pipeline.stages.decon: normalization, recall on injected items (verbatim and edited), no false
positives, short items, remove mode, index files (round trip, bad files), load_sets."""
import gzip
import json

import numpy as np
import pytest

from pipeline.stages import decon
from pipeline.stages.decon import DeconConfig, build_index, check, load_index, load_sets, save_index
from pipeline.stages.types import Rejection

# Eval-like items written for this test: (question, answer). Every question has at least 27 words, so one
# substituted word leaves a clean run of 13.
QA = [
    ("A farmer plants three rows of apple trees with twelve trees in each row and later adds two more rows of the "
     "same length. How many apple trees does the farmer have now?", "60"),
    ("Which gas, making up about seventy eight percent of the air we breathe at sea level, is mostly inert and is "
     "used to keep packaged snacks from going stale on store shelves?", "Nitrogen"),
    ("In the story the old lighthouse keeper refuses to leave the island during the storm because he believes a "
     "fishing boat is still out at sea. What does he do first when the power fails?", "He lights the oil lamp"),
    ("A train leaves the station at nine in the morning traveling at eighty kilometers per hour, and a second train "
     "leaves the same station one hour later at one hundred kilometers per hour. When does the second catch up?",
     "At two in the afternoon"),
    ("Which organ of the human body produces insulin, a hormone that helps regulate the amount of sugar in the "
     "blood, and is located just behind the stomach in the upper part of the abdomen?", "The pancreas"),
    ("The committee argued for hours about whether the new bridge should be painted green or grey, and in the end "
     "they decided to let the schoolchildren of the town vote on the color. Why did they do this?",
     "To end the deadlock"),
    ("If a rectangle has a perimeter of thirty six centimeters and its length is twice its width, what is the area "
     "of the rectangle in square centimeters, assuming both sides are whole numbers?", "72"),
    ("Which famous scientist, born in a small town in Poland in the nineteenth century, was the first person to win "
     "Nobel prizes in two different sciences, physics and chemistry?", "Marie Curie"),
    ("Maria reads twenty pages of her history book every weekday and forty pages on each day of the weekend. How "
     "many pages does she read in three full weeks if she never skips a day?", "540"),
    ("What is the name of the process by which green plants use sunlight, water and carbon dioxide to make their "
     "own food and release oxygen into the surrounding air as a by product?", "Photosynthesis"),
    ("During the meeting the manager announced that the quarterly budget would be cut by ten percent and that every "
     "department would need to submit a revised spending plan before the end of the month.",
     "What must each department submit?"),
    ("The hikers reached the ridge just after noon, ate their sandwiches in the shade of a large boulder and then "
     "argued about whether to continue to the summit or turn back before the clouds rolled in.",
     "They turned back"),
    ("Which ancient wonder of the world, a huge bronze statue of the sun god Helios, stood at the entrance of a "
     "Greek island harbor until an earthquake toppled it around two hundred years before the common era?",
     "The Colossus of Rhodes"),
    ("A baker uses three cups of flour for every two cups of sugar in her favorite cake recipe. If she wants to use "
     "exactly nine cups of flour, how many cups of sugar will she need to add to the bowl?", "6"),
    ("Which planet in our solar system has the shortest day, spinning once on its axis in a little under ten hours "
     "even though it is by far the largest planet orbiting the sun?", "Jupiter"),
    ("The young violinist practiced the difficult passage every evening for a month, and on the night of the "
     "concert she played it perfectly while her teacher watched proudly from the back row of the hall.",
     "Who watched from the back row?"),
    ("What is the smallest prime number that is greater than fifty, and how many divisors does the number that "
     "comes right after it have when you count one and the number itself?", "53 and 6"),
    ("Which language, spoken by more people as a first language than any other in the world, uses characters "
     "rather than an alphabet and has several tones that change the meaning of a syllable?", "Mandarin Chinese"),
    ("After the flood the villagers worked together for weeks to rebuild the stone wall along the river, carrying "
     "rocks by hand because the only road into the valley had been washed away.", "Why by hand?"),
    ("If you fold a square sheet of paper in half three times and then cut off one corner through all of the "
     "layers, how many holes will you see in the paper when you unfold it completely?", "1"),
    ("Which instrument, invented in Italy around the year seventeen hundred, was originally called the harpsichord "
     "with soft and loud because the player could change the volume by pressing the keys harder?", "The piano"),
    ("The recipe says to bake the bread for forty minutes at two hundred degrees, but the baker noticed that the "
     "crust was already dark after thirty minutes and took the loaf out early to let it cool.",
     "What did the baker notice?"),
    ("A cyclist rides up a hill at twelve kilometers per hour and comes back down the same road at thirty "
     "kilometers per hour. What is her average speed for the whole trip up and down the hill?", "About 17.1 km/h"),
    ("Which element, whose chemical symbol comes from its Latin name, is a soft yellow metal that does not rust and "
     "has been used for coins and jewelry for thousands of years across many cultures?", "Gold"),
    ("The museum guide explained that the painting had been hidden in a farmhouse cellar during the war and was "
     "only rediscovered decades later when the new owners decided to renovate the old kitchen.",
     "Where was the painting hidden?"),
    ("How many edges does a cube have, and how many of those edges meet at each corner of the cube if you count "
     "only the straight lines where two of its square faces come together?", "12 and 3"),
    ("The city council voted to close the main street to cars every Sunday so that families could walk, cycle and "
     "play there safely, and shop owners reported that their weekend sales went up as a result.",
     "What happened to sales?"),
    ("Which animal, the largest living land mammal, uses its long trunk to breathe, smell, drink and grab food, and "
     "can communicate with others of its kind over many kilometers using very low sounds?", "The elephant"),
    ("A library lends out one hundred and twenty books on Monday, half as many on Tuesday and twice as many on "
     "Wednesday as on Tuesday. How many books does it lend out over the three days?", "300"),
    ("The scientist repeated the experiment five times with fresh samples because the first result seemed too good "
     "to be true, and each time the new material conducted electricity without any measurable loss.",
     "Why did she repeat it?"),
]
SHORT = "Who painted the ceiling of the Sistine Chapel in Rome?"   # 10 words: indexed whole
# One-sentence items (8-20 words), found lightly edited by coverage (one substituted word, case, punctuation).
SENTENCES = [
    "Which river flows through the city of Cairo on its way to the sea?",
    "Name the author of the novel about a white whale and its captain.",
    "How many legs does a spider have?",                   # 7 words: skipped
    "The glacier retreated nearly two kilometers in the last forty years.",
    "What colour do you get when you mix blue and yellow paint together?",
    "Our teacher kept a small turtle named Oscar in a glass tank by the window.",
    "Which metal is liquid at room temperature and was once used in thermometers?",
    "At the end of the day the tired farmer counts his sheep twice.",
    "The treaty was signed in a railway carriage in a forest north of Paris.",
]
COVERED = [s for s in SENTENCES if len(s.split()) >= 8]
TINY = "Capital of Peru?"                                          # 3 words: skipped

HOST = ("Welcome to our community garden blog. This week we finally repaired the greenhouse roof after the winter "
        "storms, and the tomato seedlings are doing well. Volunteers are welcome every Saturday morning; bring "
        "gloves and a water bottle.\n\nUpcoming events\nPlant swap on the first of May. Composting workshop in June. "
        "Contact the organizers through the form below if you would like to help with the harvest festival.\n")
UNRELATED = [
    HOST,
    "Die Stadtverwaltung teilt mit, dass die Brücke über den Fluss ab Montag für drei Wochen gesperrt wird. "
    "Umleitungen sind ausgeschildert.",
    "Our privacy policy explains which cookies we use and why. You can change your settings at any time.",
    "The train was late again this morning, and the coffee machine at the office is still broken. At least the "
    "weather is nice and the farmer in the market had fresh apples.",
    "北京时间昨天晚上，国家队在比赛中以二比一获胜。",
    "Ingredients: 200 g flour, 100 g sugar, 2 eggs, a pinch of salt. Bake for 25 minutes at 180 degrees.",
]


def write_jsonl(path, records, gz=False):
    data = "".join(json.dumps(r) + "\n" for r in records)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def eval_path(tmp_path_factory):
    records = [{"id": f"q{i}", "question": q, "answer": a} for i, (q, a) in enumerate(QA)]
    records += [{"id": "short", "question": SHORT, "answer": "Michelangelo"}, {"id": "tiny", "question": TINY}]
    records += [{"id": f"s{i}", "question": s} for i, s in enumerate(SENTENCES)]
    return write_jsonl(tmp_path_factory.mktemp("eval") / "qa_test.jsonl.gz", records, gz=True)


@pytest.fixture(scope="module")
def idx(eval_path):
    return build_index([eval_path])


@pytest.fixture(scope="module")
def ngram_idx(eval_path):
    return build_index([eval_path], cover_k=0)   # n-grams and whole short items only


def inject(item, host=HOST):
    lines = host.split("\n")
    return "\n".join(lines[:2] + [item] + lines[2:])


def edit(item, i):
    """Case, punctuation and whitespace changes plus one substituted word (a different one per item)."""
    words = item.split()
    k = len(words) // 2 + (i % 5) - 2
    words[k] = "banana" if words[k].lower() != "banana" else "cherry"
    text = " ".join(w.upper() if j % 7 == 0 else w for j, w in enumerate(words))
    text = text.replace(",", "").replace("?", " ?!").replace(".", "\u2026").replace("'", "\u2019")
    return text.replace(" ", "\n", 3).replace(" ", "  ", 2)


def test_tokens_normalization():
    assert decon.tokens("Don\u2019t STOP\u2014believing,  now!\u00a0Ok \u00ab\u00bb - \u3002") == [
        b"dont", b"stopbelieving", b"now", b"ok"]
    assert decon.tokens("Straße ÉTÉ") == ["straße".encode(), "été".encode()]
    assert decon.tokens("a\x1cb\u2003c\u3000d") == [b"a", b"b", b"c", b"d"]    # str.split() whitespace


@pytest.mark.parametrize("text", [HOST, "\u00ab Oui \u00bb , dit-il\u00a0: \u00ab\u00a0non\u00a0\u00bb \x1c x",
                                  "-- ... a\u2028b \ud800 c", "", "   "])
def test_token_spans_follow_tokens(text):
    spans = decon._token_spans(text)
    assert len(spans) == len(decon.tokens(text))
    assert [decon.tokens(text[a:b]) for a, b in spans] == [[t] for t in decon.tokens(text)]


def test_window_hash_is_the_polynomial_and_stable():
    th = decon._token_hashes(decon.tokens("one two three four five six seven eight nine ten"))
    w = decon._windows(decon._prefix(th), 8)
    m = 1 << 64
    for s in range(3):
        direct = sum(int(th[s + j]) * pow(decon._B, 7 - j, m) for j in range(8)) + 8 * decon._LENGTH_SALT
        assert int(w[s]) == direct % m
    # pinned: a change to tokens() or the hash must bump NORMALIZATION (old index files then refuse to load)
    assert int(w[0]) == 0xe958006322d1c3b3


def test_build_index_counts(idx):
    assert idx.n == 13 and idx.sources == ("qa_test",)
    # every question and the short one are indexed; answers under 8 words, ids and TINY are skipped
    assert idx.item_counts == {"qa_test": len(QA) + 1 + len(COVERED)}
    assert idx.skipped_counts["qa_test"] == (2 * len(QA) + 2 + 1 + 1 - sum(len(a.split()) >= 8 for _, a in QA)
                                             + 2 * len(SENTENCES) - len(COVERED))   # ids, the 7-word sentence
    short = [s for s in COVERED + [SHORT] if len(s.split()) < 13]          # indexed whole, with an anchor
    assert list(idx.lengths) == sorted({len(s.split()) for s in short})
    assert idx.anchor_lengths == (8,) and len(idx.anchors) == len(short)
    assert idx.hashes.dtype == np.uint64 and np.all(idx.hashes[1:] > idx.hashes[:-1])


def test_build_index_cover_arrays(idx):
    # every item of fewer than 3n = 39 words gets its 3-grams (minus stop-grams: none in so few items)
    lengths = sorted(len(t.split()) for t in [q for q, _ in QA] + [SHORT] + COVERED if len(t.split()) < 39)
    assert idx.cover_k == 3 and sorted(idx.cover_lengths.tolist()) == lengths
    assert len(idx.cover_hashes) == len(idx.cover_items) == len(idx.cover_offsets) <= sum(m - 2 for m in lengths)
    assert (idx.cover_hashes.dtype, idx.cover_items.dtype, idx.cover_offsets.dtype) == (np.uint64, np.uint32,
                                                                                        np.uint16)
    assert np.all(idx.cover_hashes[1:] >= idx.cover_hashes[:-1])
    assert np.all(idx.cover_offsets.astype(int) + 3 <= idx.cover_lengths[idx.cover_items])
    small = build_index([write_jsonl_tmp([{"q": SENTENCES[0]}, {"q": SENTENCES[0]}])], cover_max_df=1)
    assert len(small.cover_lengths) == 2 and len(small.cover_hashes) == 0     # every gram in 2 items: stop-grams
    assert len(build_index([write_jsonl_tmp([{"q": SENTENCES[0]}])], cover_max_tokens=0).cover_hashes) == 0


def write_jsonl_tmp(records):
    import tempfile
    from pathlib import Path
    return write_jsonl(Path(tempfile.mkdtemp()) / "items.jsonl", records)


@pytest.mark.parametrize("i", range(len(QA)))
def test_verbatim_item_is_found(idx, i):
    result = check(inject(QA[i][0]), idx)
    assert result.matches >= len(QA[i][0].split()) - 12
    assert result.rejection == Rejection("decon.contaminated", result.matches)
    assert result.text == inject(QA[i][0]) and result.removed_chars == 0


@pytest.mark.parametrize("i", range(len(QA)))
def test_edited_item_is_found(idx, i):
    result = check(inject(edit(QA[i][0], i)), idx)
    assert result.rejection is not None and result.rejection.reason == "decon.contaminated"


def test_short_item_is_found_whole(idx, ngram_idx):
    for index in (idx, ngram_idx):
        result = check(f"Quiz night! {SHORT.upper()} Answers on Monday.", index)
        assert result.matches == 1 and result.covered == 0       # found whole: coverage adds no second match
    partial = "Quiz night! Who painted the ceiling of the Sistine Chapel?"   # 8 of 10 words
    assert check(partial, ngram_idx).matches == 0
    assert check(partial, idx).covered == 1                     # a light edit, found by coverage
    assert check(inject(TINY), idx).matches == 0      # skipped at build: too short to tell from chance


def edit_short(item, i):
    """One substituted word (not the first or last), case, punctuation and whitespace changes."""
    words = item.split()
    k = 1 + i % (len(words) - 2)
    words[k] = "zebra"
    return " ".join(w.upper() if j % 3 == 0 else w for j, w in enumerate(words)).replace("?", " ?!").replace(
        ",", "").replace(" ", "\n", 1)


@pytest.mark.parametrize("i", range(len(COVERED)))
def test_edited_short_item_is_found_by_coverage(idx, ngram_idx, i):
    doc = inject(edit_short(COVERED[i], i))
    assert check(doc, ngram_idx).matches == 0            # a substitution leaves no clean 13-word run
    result = check(doc, idx)
    assert result.covered == 1 and result.rejection == Rejection("decon.contaminated", result.matches)
    assert check(doc, idx, cover_fraction=0.95).covered == 0
    starts, ends = decon.find_covered(doc, idx)
    assert len(starts) == 1 and ends[0] - starts[0] == len(decon.tokens(COVERED[i]))


def test_edited_short_item_remove_mode(idx):
    item = COVERED[2]
    doc = inject(edit_short(item, 2))
    result = check(doc, idx, mode="remove", window_chars=0)
    assert result.covered == 1 and check(result.text, idx).matches == 0
    # the whole item goes, its edited ends included: as the verbatim item does
    assert result.text == check(inject(item), idx, mode="remove", window_chars=0).text


@pytest.mark.parametrize("text", [
    "At the end of the day, kids all went home happy.",     # 6 of an item's 13 words: one common phrase
    "The farmer sold his sheep. " + "At the market the price was good. " * 20 + "Counts were done twice a day.",
    "Which river is the longest? The one on the way to the sea, in the city, said the guide.",
    "The painting of the ceiling took four years; the chapel in Rome is named for Pope Sixtus.",
])
def test_no_false_positive_from_common_phrases(idx, text):
    result = check(text, idx)
    assert result.matches == 0 and result.covered == 0 and result.text == text


@pytest.mark.parametrize("text", UNRELATED)
def test_no_false_positive(idx, text):
    result = check(text, idx)
    assert result.matches == 0 and result.rejection is None and result.text == text


def test_twelve_shared_words_are_not_a_match(idx, ngram_idx):
    words = QA[0][0].split()
    doc = " ".join(words[:12]) + " zebra " + " ".join(words[13:24])
    assert check(doc, ngram_idx).matches == 0
    assert check(doc, idx).covered == 1                 # 23 of its 33 words, one substituted: coverage finds it


def test_min_matches(idx):
    doc = inject(QA[3][0])
    matches = check(doc, idx).matches
    assert check(doc, idx, min_matches=matches).rejection is not None
    assert check(doc, idx, min_matches=matches + 1).rejection is None


@pytest.mark.parametrize("i", range(0, len(QA), 3))
def test_remove_mode_cuts_the_item(idx, i):
    doc = inject(QA[i][0])
    result = check(doc, idx, mode="remove", window_chars=0)
    assert result.rejection is None and result.matches > 0
    assert QA[i][0] not in result.text
    assert check(result.text, idx).matches == 0
    assert "Welcome to our community garden blog." in result.text and "harvest festival." in result.text
    assert result.removed_chars == len(QA[i][0])


def test_remove_mode_window_takes_whole_words(idx):
    doc = "x" * 50 + " alpha beta " + QA[1][0] + " gamma delta " + "word " * 100
    result = check(doc, idx, mode="remove", window_chars=8)
    assert result.text == "x" * 50 + "\n" + "word " * 99 + "word"   # "beta", "gamma" touched: whole words
    result = check(doc, idx, mode="remove")                # GPT-3's 200 characters: "x"*50 goes too
    end = 50 + len(" alpha beta ") + len(QA[1][0])
    assert doc.endswith(result.text + " ") and result.text.startswith("word word")
    assert end + 200 <= result.removed_chars <= end + 200 + len("word ")


def test_remove_mode_merges_overlapping_spans(idx):
    doc = HOST + QA[2][0] + " " + QA[5][0] + "\n" + HOST
    result = check(doc, idx, mode="remove", window_chars=0)
    assert result.text == HOST.strip() + "\n" + HOST.strip()


def test_edited_item_remove_mode(idx):
    doc = inject(edit(QA[4][0], 4))
    result = check(doc, idx, mode="remove")
    assert result.matches > 0 and check(result.text, idx).matches == 0


def test_index_round_trip(idx, tmp_path):
    path = tmp_path / "qa.index"                          # any name: no ".npz" appended
    save_index(idx, path)
    loaded = load_index(path)
    assert np.array_equal(loaded.hashes, idx.hashes) and np.array_equal(loaded.anchors, idx.anchors)
    assert (loaded.n, loaded.lengths, loaded.anchor_lengths, loaded.sources, loaded.item_counts,
            loaded.skipped_counts) == (idx.n, idx.lengths, idx.anchor_lengths, idx.sources, idx.item_counts,
                                       idx.skipped_counts)
    assert loaded.fingerprint() == idx.fingerprint()
    assert b"lighthouse" not in path.read_bytes()         # hashes only, no eval text
    for i in (0, 7):
        assert check(inject(QA[i][0]), loaded).matches == check(inject(QA[i][0]), idx).matches
    assert check(SHORT, loaded).matches == 1
    assert loaded.cover_k == idx.cover_k
    for name in ("cover_hashes", "cover_items", "cover_offsets", "cover_lengths"):
        assert np.array_equal(getattr(loaded, name), getattr(idx, name))
        assert getattr(loaded, name).dtype == getattr(idx, name).dtype
    assert b"glacier" not in path.read_bytes()
    doc = inject(edit_short(COVERED[0], 0))
    assert check(doc, loaded).covered == 1

def _bad_files(tmp_path, idx):
    (tmp_path / "text.npz").write_text("hello, not an index\n")
    np.save(tmp_path / "array.npy", idx.hashes)
    np.savez(tmp_path / "other.npz", x=np.arange(3))
    cover = {a: getattr(idx, a) for a in ("cover_hashes", "cover_items", "cover_offsets", "cover_lengths")}
    np.savez(tmp_path / "wrong_header.npz", hashes=idx.hashes, anchors=idx.anchors,
             header=np.frombuffer(b'{"format": "something-else"}', np.uint8))
    save_index(idx, tmp_path / "good.npz")
    (tmp_path / "truncated.npz").write_bytes((tmp_path / "good.npz").read_bytes()[:200])
    header = json.loads(np.load(tmp_path / "good.npz")["header"].tobytes())
    np.savez(tmp_path / "unsorted.npz", hashes=idx.hashes[::-1].copy(), anchors=idx.anchors, **cover,
             header=np.frombuffer(json.dumps(header).encode(), np.uint8))
    np.savez(tmp_path / "old_norm.npz", hashes=idx.hashes, anchors=idx.anchors, **cover,
             header=np.frombuffer(json.dumps({**header, "normalization": "other/0"}).encode(), np.uint8))
    v1 = {k: v for k, v in header.items() if not k.startswith("cover")}     # a version-1 file: no cover arrays
    np.savez(tmp_path / "version1.npz", hashes=idx.hashes, anchors=idx.anchors,
             header=np.frombuffer(json.dumps({**v1, "version": 1}).encode(), np.uint8))
    np.savez(tmp_path / "cover_unsorted.npz", hashes=idx.hashes, anchors=idx.anchors,
             **{**cover, "cover_hashes": cover["cover_hashes"][::-1].copy()},
             header=np.frombuffer(json.dumps(header).encode(), np.uint8))
    np.savez(tmp_path / "cover_offsets.npz", hashes=idx.hashes, anchors=idx.anchors,
             **{**cover, "cover_offsets": cover["cover_offsets"] + np.uint16(60)},
             header=np.frombuffer(json.dumps(header).encode(), np.uint8))
    np.savez(tmp_path / "cover_missing.npz", hashes=idx.hashes, anchors=idx.anchors,
             header=np.frombuffer(json.dumps(header).encode(), np.uint8))
    return ["text.npz", "array.npy", "other.npz", "wrong_header.npz", "truncated.npz", "unsorted.npz",
            "old_norm.npz", "missing.npz", "version1.npz", "cover_unsorted.npz", "cover_offsets.npz",
            "cover_missing.npz"]


def test_bad_index_file_is_a_value_error(idx, tmp_path):
    for name in _bad_files(tmp_path, idx):
        with pytest.raises(ValueError, match="not a usable Winnow decon index") as err:
            load_index(tmp_path / name)
        assert name in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ValueError, match="format version 1, this Winnow reads version 2.*rebuild"):
        load_index(tmp_path / "version1.npz")


def test_load_sets_merges_eval_sets_and_indexes(idx, eval_path, tmp_path):
    other = write_jsonl(tmp_path / "extra.jsonl", [{"text": UNRELATED[3]}])
    save_index(build_index([other]), tmp_path / "extra.npz")
    merged = load_sets([str(eval_path), str(tmp_path / "extra.npz")], 13)
    assert merged.sources == ("qa_test", "extra")
    assert len(merged) == len(idx) + len(build_index([other]))
    assert check(UNRELATED[3], merged).rejection is not None
    assert check(inject(QA[0][0]), merged).rejection is not None and check(SHORT, merged).matches == 1
    # coverage item ids of the second part are shifted past the first's
    extra = write_jsonl(tmp_path / "extra2.jsonl", [{"text": "The lighthouse keeper fed three grey cats every morning "
                                                              "at seven."}])
    save_index(build_index([extra]), tmp_path / "extra2.npz")
    merged = load_sets([str(eval_path), str(tmp_path / "extra2.npz")], 13)
    assert len(merged.cover_lengths) == len(idx.cover_lengths) + 1
    assert check("The lighthouse keeper fed three zebra cats every morning at seven!", merged).covered == 1
    assert check(inject(edit_short(COVERED[2], 2)), merged).covered == 1
    with pytest.raises(ValueError, match="cover_k=3, but cover_k=4"):
        load_sets([str(tmp_path / "extra2.npz")], 13, cover_k=4)


def test_load_sets_refuses_mismatched_n_and_unknown_files(eval_path, tmp_path):
    save_index(build_index([eval_path], n=8), tmp_path / "n8.npz")
    with pytest.raises(ValueError, match="n=8, but n=13"):
        load_sets([str(eval_path), str(tmp_path / "n8.npz")], 13)
    assert load_sets([str(tmp_path / "n8.npz")], 8).n == 8
    with pytest.raises(ValueError, match="expected an eval set"):
        load_sets([str(tmp_path / "items.csv")], 13)
    with pytest.raises(ValueError, match="no eval set"):
        load_sets([], 13)


def test_text_fields(tmp_path):
    path = write_jsonl(tmp_path / "mc.jsonl", [{"question": QA[0][0], "choices": [QA[1][0], "b"], "note": QA[2][0]}])
    idx = build_index([path], text_fields=["question", "choices"])
    assert check(QA[0][0], idx).matches and check(QA[1][0], idx).matches and not check(QA[2][0], idx).matches
    with pytest.raises(ValueError, match="has any of the fields"):
        build_index([path], text_fields=["prompt"])


@pytest.mark.parametrize("content", ["{not json}\n", "[1, 2]\n", ""])
def test_bad_eval_set_is_a_value_error(tmp_path, content):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(ValueError, match="bad.jsonl"):
        build_index([path])


def test_empty_index_and_empty_text(tmp_path):
    idx = build_index([write_jsonl(tmp_path / "e.jsonl", [{"q": "too short"}])])
    assert len(idx) == 0 and check(HOST, idx).matches == 0 and check("", idx).matches == 0


def test_config_validation():
    assert DeconConfig(sets=["a.jsonl"]).sets == ("a.jsonl",)
    for bad in ({"mode": "cut"}, {"n": 0}, {"min_item_tokens": 14}, {"min_matches": 0}, {"window_chars": -1},
                {"cover_k": 9}, {"cover_k": -1}, {"cover_max_tokens": -1}, {"cover_max_df": 0},
                {"cover_fraction": 0}, {"cover_fraction": 1.5}, {"cover_min_hits": 0}):
        with pytest.raises(ValueError):
            DeconConfig(**bad)
    empty = decon.DeconIndex(13, np.zeros(0, np.uint64), np.zeros(0, np.uint64), (), (), (), {}, {})
    with pytest.raises(ValueError, match="mode"):
        check("x", empty, mode="cut")
    with pytest.raises(ValueError, match="cover_fraction"):
        check("x", empty, cover_fraction=2)
    assert check(HOST, empty).matches == 0 and check(HOST, empty).covered == 0
