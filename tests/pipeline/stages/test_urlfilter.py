"""Tests for pipeline.stages.urlfilter on small UT1-style lists written in tmp_path."""
import gzip

import pytest

from pipeline.stages.types import Rejection
from pipeline.stages.urlfilter import UrlFilterConfig, UrlLists, check, list_name


def write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def lists(tmp_path):
    adult = tmp_path / "blacklists" / "adult"
    write(adult / "domains", ["# UT1 adult domains", "example-adult.com", "Sub.Shared-Host.NET", "10.1.2.3",
                              "bücher-xxx.example", "  spaced.example  ", "", "*.wild.example", "trailing.example."])
    write(adult / "urls", ["# UT1 adult urls", "freehost.example/users/bad", "www.portal.example/hidden/",
                           "pages.example/page.html", "search.example/q?term=bad"])
    gambling = tmp_path / "blacklists" / "Gambling-Sites"
    write(gambling / "domains", ["casino.example", "example-adult.com"])   # also in adult: first list wins
    plain = write(tmp_path / "extra block.txt", ["# plain file: domains and URLs", "plain.example",
                                                 "http://mixed.example/path/"])
    allow = write(tmp_path / "allow.txt", ["good.example-adult.com", "freehost.example/users/bad/ok"])
    return UrlLists.load([str(adult), str(gambling), str(plain)], [str(allow)])


BLOCKED = [
    ("http://example-adult.com/", "adult"),
    ("https://www.example-adult.com/some/page?x=1", "adult"),
    ("https://a.b.example-adult.com", "adult"),                  # any subdomain
    ("HTTP://EXAMPLE-ADULT.COM:8080/", "adult"),                # case, port
    ("http://user:pw@example-adult.com/", "adult"),             # userinfo
    ("http://example-adult.com./x", "adult"),                   # trailing dot
    ("example-adult.com/no-scheme", "adult"),
    ("//example-adult.com/protocol-relative", "adult"),
    ("http://x.sub.shared-host.net/", "adult"),
    ("http://10.1.2.3/index.html", "adult"),
    ("https://bücher-xxx.example/", "adult"),                   # IDNA: the list entry is Unicode too
    ("https://xn--bcher-xxx-q9a.example/", "adult"),            # already punycode
    ("https://spaced.example", "adult"),
    ("https://deep.wild.example", "adult"),
    ("https://trailing.example/", "adult"),
    ("http://freehost.example/users/bad", "adult"),             # URL list
    ("http://freehost.example/users/bad/", "adult"),            # trailing slash
    ("https://www.freehost.example/users/bad/gallery/1.html", "adult"),   # www, a page below
    ("http://portal.example/hidden", "adult"),                  # entry has www., the URL has not
    ("http://www2.portal.example/hidden/x#frag", "adult"),
    ("http://pages.example/page.html", "adult"),
    ("http://search.example/q?term=bad", "adult"),
    ("http://casino.example/", "gambling_sites"),
    ("http://www.plain.example/", "extra_block"),
    ("https://mixed.example/path/x", "extra_block"),
]

KEPT = [
    "http://notexample-adult.com/",                 # not a subdomain
    "http://example-adult.com.evil.org/",
    "http://shared-host.net/",                       # parent of a listed subdomain
    "http://other.shared-host.net/",
    "http://10.1.2.30/",
    "http://1.10.1.2.3.example/",
    "http://freehost.example/users/badly",           # not a path below the entry
    "http://freehost.example/users/",
    "http://sub.freehost.example/users/bad",          # URL entries are not subdomain-wide
    "http://pages.example/page.html2",
    "http://search.example/q?term=good",
    "http://good.example-adult.com/",                # allow list wins over block list
    "http://x.good.example-adult.com/page",
    "http://freehost.example/users/bad/ok/1",        # allowed URL below a blocked one
    "http://mixed.example/",
    "https://wild.example.org/",
    "",
    None,
    "not a url at all",
    "http:///nohost",
]


@pytest.mark.parametrize("url, name", BLOCKED)
def test_blocked(lists, url, name):
    assert check(url, lists) == Rejection(f"url.blocked.{name}")


@pytest.mark.parametrize("url", KEPT)
def test_kept(lists, url):
    assert check(url, lists) is None


def test_list_names(lists, tmp_path):
    assert lists.names == ("adult", "gambling_sites", "extra_block")
    assert list_name(write(tmp_path / "Mixed Adult.txt.gz", ["x.example"])) == "mixed_adult"
    assert list_name(write(tmp_path / "README", ["x.example"])) == "readme"


def test_gzipped_plain_file(tmp_path):
    path = tmp_path / "phishing.txt.gz"
    with gzip.open(path, "wt") as f:
        f.write("phish.example\nbank.example/login\n")
    lists = UrlLists.load([str(path)])
    assert check("https://secure.phish.example/", lists) == Rejection("url.blocked.phishing")
    assert check("https://bank.example/login/step2", lists) == Rejection("url.blocked.phishing")
    assert check("https://bank.example/", lists) is None


def test_domains_only_folder(tmp_path):
    folder = tmp_path / "dating"
    write(folder / "domains", ["date.example"])
    assert check("http://m.date.example", UrlLists.load([str(folder)])) == Rejection("url.blocked.dating")


def test_unreadable_lists_are_one_line_value_errors(tmp_path):
    empty_folder = tmp_path / "blacklists"
    empty_folder.mkdir()
    for block, allow, named in (([str(tmp_path / "missing.txt")], [], "missing.txt"),
                                ([], [str(tmp_path / "nope")], "nope"),
                                ([str(empty_folder)], [], "blacklists")):
        with pytest.raises(ValueError, match=named) as err:
            UrlLists.load(block, allow)
        assert "\n" not in str(err.value)
    bad_gz = tmp_path / "bad.txt.gz"
    bad_gz.write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="bad.txt.gz"):
        UrlLists.load([str(bad_gz)])


def test_no_lists_keep_everything():
    lists = UrlLists.load([], [])
    assert check("http://anything.example/", lists) is None


def test_config():
    cfg = UrlFilterConfig(block=["a"], allow=["b"])
    assert cfg.block == ("a",) and cfg.allow == ("b",) and not UrlFilterConfig().enabled
