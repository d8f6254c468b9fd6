"""Tests for pipeline.stages.pii: realistic positives, hard negatives, redaction, counts, the drop rule."""
import collections
import gzip
import json

import pytest

from pipeline.stages import pii
from pipeline.stages.pii import PiiConfig
from pipeline.stages.types import Rejection

CFG = PiiConfig()


def found(text, cfg=CFG):
    return [(m.kind, m.value) for m in pii.find(text, cfg)]


# --- positives: (text, kind, the exact value found) -------------------------------------------------------

POSITIVES = [
    # e-mail
    ("Questions? Write to jane.doe@example.com and we reply within a day.", "email", "jane.doe@example.com"),
    ('<a href="mailto:press@company.co.uk">Press</a>', "email", "press@company.co.uk"),
    ("Subscribe: john.smith+newsletter@gmail.com.", "email", "john.smith+newsletter@gmail.com"),
    ("Kontakt: müller-lüdenscheidt@mail.uni-bonn.de", "email", "müller-lüdenscheidt@mail.uni-bonn.de"),
    ("(contact: a_b-c@dept.cs.example.edu)", "email", "a_b-c@dept.cs.example.edu"),
    ("编辑信箱：bianji@banyuetan.org", "email", "bianji@banyuetan.org"),
    ("Bewerbungen bitte an redaktion (at) wakenews.net", "email", "redaktion (at) wakenews.net"),
    ("write to info[at]example[dot]de today", "email", "info[at]example[dot]de"),
    ("mail buergerservice [at] uba [dot] de", "email", "buergerservice [at] uba [dot] de"),
    # phone: international
    ("Call +1 (555) 123-4567 for support.", "phone", "+1 (555) 123-4567"),
    ("London office: +44 20 7946 0958", "phone", "+44 20 7946 0958"),
    ("Tel. +44 (0)20 7946 0958", "phone", "+44 (0)20 7946 0958"),
    ("tel:+15551234567", "phone", "+15551234567"),
    ("Mobil: +49 (0) 160-8472068", "phone", "+49 (0) 160-8472068"),
    ("Tel.: +49 4964 95816-120", "phone", "+49 4964 95816-120"),
    ("+41.31.322.55.11", "phone", "+41.31.322.55.11"),
    ("tel.: (+48) 22 525 80 00, faks", "phone", "(+48) 22 525 80 00"),
    ("Tel: 0043(0) 316/82 16 36, Fax", "phone", "0043(0) 316/82 16 36"),
    ("Tel 44 (171) 354-5700", "phone", "44 (171) 354-5700"),
    # phone: North American
    ("Call us: 555-123-4567.", "phone", "555-123-4567"),
    ("Switchboard: (305) 751-6692", "phone", "(305) 751-6692"),
    ("Call us: 206.548.5600", "phone", "206.548.5600"),
    ("TTY: 1-800-627-3529", "phone", "1-800-627-3529"),
    # phone: European national formats
    ("Berlin office 030 12345678, Mon-Fri", "phone", "030 12345678"),
    ("Telefon 030/1234567", "phone", "030/1234567"),
    ("please call 0800 316 1323 or write", "phone", "0800 316 1323"),
    ("Appelez le 01 23 45 67 89", "phone", "01 23 45 67 89"),
    ("ou le 01.23.45.67.89", "phone", "01.23.45.67.89"),
    ("Tel: 069 / 920 77 00, Fax", "phone", "069 / 920 77 00"),
    ("Tel: 0731 / 153 87-0", "phone", "0731 / 153 87-0"),
    ("Tel. 0 93 82 / 84 73 99", "phone", "0 93 82 / 84 73 99"),
    ("Tel (0)30 1234567", "phone", "(0)30 1234567"),
    # phone: any 7-15 digit number right after a phone word
    ("Telefon: 017656998944", "phone", "017656998944"),
    ("Teléfono: 22669086", "phone", "22669086"),
    ("期刊订阅电话：400-081-2017", "phone", "400-081-2017"),
    # IP: public (is_global)
    ("Use Google's resolver 8.8.8.8 or", "ip", "8.8.8.8"),
    ("Older versions used the IPs 38.107.191.66 through", "ip", "38.107.191.66"),
    ("Cloudflare: 2606:4700:4700::1111", "ip", "2606:4700:4700::1111"),
    ("connect to [2606:4700::6810:84e5]:443", "ip", "2606:4700::6810:84e5"),
    # IP: private / loopback / link-local / documentation
    ("router at 192.168.1.1 (default)", "ip_private", "192.168.1.1"),
    ("hosts allow = 127.0.0.1", "ip_private", "127.0.0.1"),
    ("bind 10.0.0.5:8080", "ip_private", "10.0.0.5"),
    ("localhost is ::1 in IPv6", "ip_private", "::1"),
    ("example 2001:db8::1 (RFC 3849)", "ip_private", "2001:db8::1"),
    ("ping fe80::1%eth0", "ip_private", "fe80::1%eth0"),
    ("mapped ::ffff:192.168.1.1 here", "ip_private", "::ffff:192.168.1.1"),
    ("address 2001:0db8:85a3:0000:0000:8a2e:0370:7334", "ip_private", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
]


@pytest.mark.parametrize("text,kind,value", POSITIVES)
def test_positive(text, kind, value):
    assert found(text) == [(kind, value)]


def test_match_offsets_point_at_the_value():
    text = "Mail jane@example.org, call 555-123-4567, server 8.8.4.4."
    for m in pii.find(text, CFG):
        assert text[m.start:m.end] == m.value


# --- hard negatives: nothing is found ---------------------------------------------------------------------

HARD_NEGATIVES = [
    # dates, years, times, ranges
    "Published 2021-03-04, updated 03/04/2021 and 04.03.2021.",
    "From 1990-2000 and 2016-2020; pages 100-200; score 101-99.",
    "Opening hours 09:00-17:00, last entry 12:30:45.",
    "10.10.2020 - 12.12.2021 and 1999/2000 2001/2002",
    "Dates 05 10 2020 and ID 2021-03-04-1234",
    "at 10:20:0022.06.2018 10:20 posted",          # timestamps glued together (real page)
    # versions, OIDs, section numbers
    "Requires Python 3.11.7, release v2.10.4 or 1.2.3.",
    "Build 10.0.19041.1234 and chain 1.2.3.4.5 and OID 1.3.6.1.4.1",
    "Upgrade to version 1.2.3.4 now.",
    "Firefox 2.0.0.16 - SeaMonkey 1.1.11 - Flock",  # real page: version list
    # numbers
    "ISBN 978-3-16-148410-0 and ISBN 0-306-40615-2, ISBN-13: 978-0-306-40615-7",
    "Price $1,234,567.89 or € 1 299,00 or 1.234.567,89 €",
    "Population 12 345 678 inhabitants; pi is 3.14159265.",
    "Coordinates 40.7128, -74.0060 and 52.520008 13.404954",
    "Pagination 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 Next",
    "Card 4111 1111 1111 1111 and IBAN: DE89 3704 0044 0532 0130 00",
    "IBAN DE47 7645 0000 0240 0118 33",             # real page: the IBAN's tail looks like a phone
    "Unix time 1617181920123; US patent 7,654,321; Order #123-456-7890",
    "https://example.com/item/5551234567/reviews?id=555-123-4567",
    "doi:10.1000/182 and vol. 12(3), 2019",
    # e-mail look-alikes
    "Retina logo@2x.png, python@2.7, npm lodash@4.17.21 and @babel/core@7.0.0",
    "user@localhost, @handle, name@domain.c and first..last@example.com",
    "Email: [email protected]",                      # Cloudflare's obfuscation leaves nothing
    "Let's meet at home (at) noon",
    # IPv6 look-alikes
    "C++ std::vector, Foo::Bar and dead::beef",
    "MAC 00:1A:2B:3C:4D:5E and ratio 16:9 and 1:1:1",
    "UUID 123e4567-e89b-12d3-a456-426614174000 and md5 d41d8cd98f00b204e9800998ecf8427e",
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negative(text):
    assert found(text) == []


# --- redaction, counts, modes -----------------------------------------------------------------------------

DOC = ("Contact jane.doe@example.com or sales@example.org, phone +44 20 7946 0958.\n"
       "Our DNS is 8.8.8.8; the printer is at 192.168.1.20.")


def test_redact_placeholders_and_counts():
    text, counts = pii.redact(DOC, CFG)
    assert text == ("Contact <EMAIL> or <EMAIL>, phone <PHONE>.\n"
                    "Our DNS is <IP>; the printer is at 192.168.1.20.")
    assert counts == {"email": 2, "phone": 1, "ip": 1, "ip_private": 1}


def test_redact_private_ips_when_asked():
    text, counts = pii.redact(DOC, PiiConfig(redact_private_ips=True))
    assert text.endswith("Our DNS is <IP>; the printer is at <IP>.")
    assert counts == {"email": 2, "phone": 1, "ip": 1, "ip_private": 1}


@pytest.mark.parametrize("cfg", [CFG, PiiConfig(redact_private_ips=True)])
def test_redaction_is_idempotent(cfg):
    once, _ = pii.redact(DOC, cfg)
    twice, counts = pii.redact(once, cfg)
    assert twice == once
    assert counts == ({} if cfg.redact_private_ips else {"ip_private": 1})


def test_count_mode_leaves_text_unchanged():
    result = pii.check(DOC, PiiConfig(mode="count"))
    assert result.text == DOC
    assert result.counts == {"email": 2, "phone": 1, "ip": 1, "ip_private": 1}


def test_disabled_and_kinds():
    assert pii.check(DOC, PiiConfig(enabled=False)) == pii.PiiResult(DOC, {}, None)
    text, counts = pii.redact(DOC, PiiConfig(kinds=("email",)))
    assert counts == {"email": 2} and "+44 20 7946 0958" in text and "8.8.8.8" in text


def test_deterministic():
    assert pii.check(DOC, CFG) == pii.check(DOC, CFG)


# --- the drop rule ----------------------------------------------------------------------------------------

def test_too_many_hits():
    # 4 personal hits (2 e-mails, 1 phone, 1 public IP); the private IP does not count by default.
    assert pii.check(DOC, PiiConfig(max_per_doc=4)).rejection is None
    result = pii.check(DOC, PiiConfig(max_per_doc=3))
    assert result.rejection == Rejection("pii.too_many_hits", 4)
    assert "<EMAIL>" in result.text   # the reject is written redacted too
    assert pii.check(DOC, PiiConfig(max_per_doc=4, redact_private_ips=True)).rejection == \
        Rejection("pii.too_many_hits", 5)
    assert pii.check(DOC, PiiConfig(max_per_doc=3, mode="count")).rejection == Rejection("pii.too_many_hits", 4)
    assert pii.check(DOC, PiiConfig(max_per_doc=None)).rejection is None


@pytest.mark.parametrize("kwargs,key", [({"mode": "mask"}, "pii.mode"), ({"kinds": ("email", "ssn")}, "pii.kinds"),
                                        ({"max_per_doc": -1}, "pii.max_per_doc")])
def test_bad_config_names_the_key(kwargs, key):
    with pytest.raises(ValueError, match=key):
        PiiConfig(**kwargs)


def test_kinds_from_yaml_list():
    assert PiiConfig(kinds=["email", "ip"]).kinds == ("email", "ip")


# --- real pages: nothing crashes, redaction is idempotent; a sample of matches is printed for review ------

@pytest.mark.parametrize("parts", [("web_trafilatura_eval", "documents.jsonl.gz"),
                                   ("web_cc_samples", "records.jsonl.gz")])
def test_real_pages(shared, parts):
    with gzip.open(shared(*parts), "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    samples = collections.defaultdict(list)
    for text in texts:
        result = pii.check(text, CFG)
        assert pii.redact(result.text, CFG)[0] == result.text
        for m in pii.find(text, CFG):
            samples[m.kind].append(f"{m.value!r:36} | {text[max(0, m.start - 30):m.end + 15]!r}")
    print(f"\n{'/'.join(parts)}: {len(texts)} docs, hits {({k: len(v) for k, v in samples.items()})}")
    for kind, lines in samples.items():
        print("\n".join(f"  {kind:10} {line}" for line in lines[::max(1, len(lines) // 8)][:8]))
