"""The SQLite building blocks of the osquery target, checked by running them in SQLite.

Literal quoting, LIKE/GLOB escaping, ASCII-only case folding, the basename/extension
expressions, osquery's regex_match and inet_aton, and the Lucene -> ECMAScript-bytes regex
renderer. Where a Node.js runtime is present, the emitted regular expressions are also run by a
real ECMAScript engine (V8) over the same bytes, as a check of the Python re-implementation of
osquery's ``std::regex`` (ECMAScript grammar) used by the SQLite engine.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess

import pytest

from eqlc import ir
from eqlc.lucene_regex import Untranslatable
from eqlc.result import Refused
from eqlc.targets.osquery import engine, sqltext
from eqlc.targets.osquery.emitter import basename_sql, extension_sql
from eqlc.targets.osquery.predicates import Cidr
from eqlc.targets.osquery.regex import MAX_REGEX_BYTES, SubsetError, check_subset, regex_match, to_osquery_regex


@pytest.fixture(scope="module")
def db():
    conn = engine.connect()
    yield conn
    conn.close()


def one(db, sql, *params):
    return db.execute("SELECT " + sql, params).fetchone()[0]


# ---- literals and patterns ------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["plain", "it's", "''", "a\\b", "line\nbreak", "é€𝄞", "%_*?[]", "'); DROP TABLE processes; --"])
def test_quote_round_trips_in_sqlite(db, value):
    assert one(db, sqltext.quote(value)) == value


def test_quote_refuses_nul():
    with pytest.raises(Refused, match="NUL"):
        sqltext.quote("a\x00b")


@pytest.mark.parametrize(
    "pattern,value,expected",
    [
        ("a*b", "aXYZb", 1),
        ("a*b", "AXb", 0),  # GLOB is case-sensitive
        ("a?b", "aéb", 1),  # ? is one code point
        ("a?b", "ab", 0),
        ("[x]*", "[x]yz", 1),  # [ is literal in EQL patterns
        ("[x]*", "xyz", 0),
        ("50%_", "50%_", 1),  # % and _ are literal for GLOB
        ("50%_", "5000", 0),
        ("C:\\Windows\\*", "C:\\Windows\\x.exe", 1),  # backslash is literal
    ],
)
def test_glob_pattern_is_case_sensitive_whole_value_wildcard(db, pattern, value, expected):
    assert one(db, f"{sqltext.quote(value)} GLOB {sqltext.quote(sqltext.glob_pattern(ir.Pattern(pattern)))}") == expected


@pytest.mark.parametrize(
    "pattern,value,expected",
    [
        ("a*b", "AXYZB", 1),  # ASCII letters fold
        ("É*", "é", 0),  # non-ASCII letters do not (Elasticsearch folds ASCII only)
        ("k", "\u212a", 0),  # KELVIN SIGN is not 'k'
        ("50%", "50%", 1),
        ("50%", "500", 0),  # % is literal
        ("a_c", "abc", 0),  # _ is literal
        ("a\\b*", "A\\Bc", 1),  # backslash is literal, escaped for LIKE
        ("a?c", "aÉc", 1),
    ],
)
def test_like_pattern_folds_ascii_only_and_escapes(db, pattern, value, expected):
    lp = sqltext.like_pattern(ir.Pattern(pattern))
    assert one(db, sqltext.like(sqltext.quote(value), lp)) == expected


# ---- computed fields ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path,name",
    [("/usr/bin/dracut", "dracut"), ("dracut", "dracut"), ("/a/é/ü", "ü"), ("/x/", ""), ("", ""), ("C:\\Windows\\x.exe", "C:\\Windows\\x.exe")],
)
def test_basename_expression(db, path, name):
    assert one(db, basename_sql(sqltext.quote(path))) == name


@pytest.mark.parametrize(
    "name,ext", [("a.sh", "sh"), ("archive.tar.gz", "gz"), ("noext", None), (".bashrc", "bashrc"), ("dot.", None), ("é.ñ", "ñ")]
)
def test_extension_expression(db, name, ext):
    assert one(db, extension_sql(sqltext.quote(name))) == ext


# ---- osquery functions ----------------------------------------------------------------------------
def test_regex_match_follows_osquery(db):
    assert one(db, "regex_match('abc', '^(?:b)$', 0)") is None  # no match -> NULL
    assert one(db, "regex_match(NULL, '^(?:b)$', 0)") is None
    assert one(db, "regex_match('', '^(?:[\\s\\S]*)$', 0)") == ""  # an empty match is '' (IS NOT NULL)
    with pytest.raises(sqlite3.OperationalError):
        db.execute("SELECT regex_match('x', ?, 0)", ("^(?:" + "a" * MAX_REGEX_BYTES + ")$",)).fetchone()


def test_regex_subset_rejects_what_the_emitter_never_writes():
    for bad in ["^a.b$", "^(a)$", "^a*?$", "^\\d$", "abc", "^[a$"]:
        with pytest.raises(SubsetError):
            check_subset(bad.encode())


def test_inet_aton_follows_osquery(db):
    assert one(db, "inet_aton('10.1.2.3')") == (10 << 24) + (1 << 16) + (2 << 8) + 3
    assert one(db, "inet_aton('fe80:0000:0000:0000:0000:0000:0000:0001')") is None
    assert one(db, "inet_aton('10.1.2')") is None


# ---- Lucene regex -> osquery ----------------------------------------------------------------------
REGEX_CASES = [
    # (lucene patterns, case-insensitive, value, Elasticsearch result)
    (["dra.*"], False, "dracut", True),
    (["dra.*"], False, "xdracut", False),  # whole value
    (["ab"], False, "ab\n", False),  # no $-before-newline leniency
    (["a.c"], False, "aéc", True),  # . is one code point (two bytes here)
    (["a..c"], False, "aéc", False),
    ([".{3}"], False, "é12", True),
    ([".{3}"], False, "é1", False),
    (["[^a]x"], False, "éx", True),  # a negated class matches a multi-byte character
    (["é+"], False, "ééé", True),  # the quantifier repeats the whole character
    (["DRA[c]UT"], True, "dracut", True),  # regex~ folds single characters
    (["[A-Z]racut"], True, "dracut", False),  # ...but not ranges (Lucene)
    (["[A-Z]racut"], True, "Dracut", True),
    (["a@"], False, "a\nanything", True),  # @ is any string
    (["#"], False, "", False),
    (["a|b", "c"], False, "c", True),  # a list is an alternation
    (["\\d+\\s\\w"], False, "12 x", True),
    (["\\S+"], False, "aé", True),
    (['"a.b"'], False, "axb", False),  # quoted literal
    (["x{2,3}"], False, "xxxx", False),
    (["[éa]x"], False, "éx", True),
    (["(ab|cd)*e"], False, "abcde", True),
    (["a^b$"], False, "a^b$", True),  # ^ and $ are ordinary characters in Lucene
]


@pytest.mark.parametrize("patterns,ci,value,expected", REGEX_CASES)
def test_osquery_regex_matches_like_lucene(db, patterns, ci, value, expected):
    pattern = to_osquery_regex(patterns, ci)
    assert (one(db, "regex_match(?, ?, 0) IS NOT NULL", value, pattern) == 1) is expected


@pytest.mark.parametrize(
    "pattern",
    ["a&b", "~a", "[à-ÿ]", "[^é]", "[\\D]", "x" * 300],
)
def test_untranslatable_regex_is_refused(pattern):
    with pytest.raises(Untranslatable):
        to_osquery_regex([pattern])


def test_emitted_regex_agrees_with_a_real_ecmascript_engine():
    """V8 runs each emitted pattern over the UTF-8 bytes (one JS char per byte, latin1), as
    std::regex<char> sees them; it must agree with regex_match for every case."""
    cases = []
    for patterns, ci, value, _ in REGEX_CASES:
        cases.append({"p": to_osquery_regex(patterns, ci), "v": value})
    script = (
        "const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const out = cases.map(c => new RegExp(Buffer.from(c.p, 'utf8').toString('latin1'))"
        ".test(Buffer.from(c.v, 'utf8').toString('latin1')));"
        "process.stdout.write(JSON.stringify(out));"
    )
    res = subprocess.run(["node", "-e", script], input=json.dumps(cases), capture_output=True, text=True, timeout=60, check=True)
    v8 = json.loads(res.stdout)
    ours = [regex_match(c["v"], c["p"], 0) is not None for c in cases]
    assert v8 == ours
    assert v8 == [case[3] for case in REGEX_CASES]


# ---- CIDR -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cidrs,addr,expected",
    [
        (["10.0.0.0/8"], "10.255.1.2", True),
        (["10.0.0.0/8"], "11.0.0.1", False),
        (["10.0.0.0/8"], "0000:0000:0000:0000:0000:ffff:0a01:0203", True),  # IPv4-mapped, as osquery writes it
        (["172.16.0.0/12"], "172.31.255.255", True),
        (["172.16.0.0/12"], "172.32.0.0", False),
        (["fe80::/10"], "febf:0000:0000:0000:0000:0000:0000:0001", True),
        (["fe80::/10"], "fec0:0000:0000:0000:0000:0000:0000:0001", False),
        (["1000::/4"], "1.2.3.4", False),  # an IPv6 prefix never matches IPv4 text
        (["::ffff:10.0.0.0/104"], "10.9.9.9", True),
        (["2001:db8::1/128"], "2001:0db8:0000:0000:0000:0000:0000:0001", True),
        (["0.0.0.0/0"], "8.8.8.8", True),
    ],
)
def test_cidr_over_osquery_address_text(db, cidrs, addr, expected):
    pos, neg = Cidr("destination.ip", tuple(cidrs)).render(sqltext.quote(addr), "ip")
    assert one(db, pos) == int(expected)
    assert one(db, neg) == int(not expected)


# Sysmon fields Elastic derives from one EventData text: the SQL and its Python twin agree
# (sysmon_decode.py; the twin is what the fixture adapter reads a row's ECS view with).
HASHES = ["SHA1=AB,MD5=CD,SHA256=EF01,IMPHASH=00", "sha256=Ef", "SHA256=0000", "SHA256=", "MD5=1", "",
          "XSHA256=1,SHA256=2", "SHA256=3,SHA256=4", "SHA256=É9", "SHA2560=1", ",SHA256=5,"]


@pytest.mark.parametrize("text", HASHES)
@pytest.mark.parametrize("algo", ["sha256", "md5", "imphash"])
def test_sysmon_hash_sql_agrees_with_its_twin(db, text, algo):
    from eqlc.targets.osquery import sysmon_decode as D

    assert db.execute(f"SELECT {D.hash_sql('t', algo)} FROM (SELECT ? AS t)", (text,)).fetchone()[0] == D.hash_value(text, algo)


def test_sysmon_hash_reads_sysmons_shape_as_elastic_does():
    from eqlc.targets.osquery import sysmon_decode as D

    assert D.hash_value("SHA1=AB,MD5=CD,SHA256=EF01,IMPHASH=00000000", "sha256") == "ef01"
    assert D.hash_value("SHA1=AB,MD5=CD,SHA256=EF01,IMPHASH=00000000", "imphash") is None  # all zeros: dropped
    assert D.with_hash("SHA1=AB", "sha256", "ef") == "SHA1=AB,SHA256=ef"


@pytest.mark.parametrize("path, hive", [("HKLM\\Software\\x", "HKLM"), ("HKEY_LOCAL_MACHINE\\x", "HKLM"),
                                        ("HKU\\S-1-5\\x", "HKU"), ("HKEY_USERS", "HKU"), ("hklm\\x", None),
                                        ("\\REGISTRY\\MACHINE\\x", None), ("HKCR", "HKCR"), ("", None)])
def test_sysmon_hive_sql_agrees_with_its_twin(db, path, hive):
    from eqlc.targets.osquery import sysmon_decode as D

    assert D.hive(path) == hive
    assert db.execute(f"SELECT {D.hive_sql('t')} FROM (SELECT ? AS t)", (path,)).fetchone()[0] == hive


@pytest.mark.parametrize("keywords", ["0x8020000000000000", "0x8010000000000000", "0x8030000000000000", "0x8000000000000000",
                                      "0x0020000000000000", "0X8020000000000000", "0x20000000000000", "0x2000000000000",
                                      "0x802000000000000g", "8020000000000000", "", "0x"])
def test_windows_outcome_sql_agrees_with_its_twin(db, keywords):
    from eqlc.targets.osquery import sysmon_decode as D

    assert db.execute(f"SELECT {D.outcome_sql('t')} FROM (SELECT ? AS t)", (keywords,)).fetchone()[0] == D.outcome(keywords)


def test_windows_outcome_follows_winlogbeat():
    """winevent.Fields: Audit Failure wins over Audit Success; neither bit: no outcome."""
    from eqlc.targets.osquery import sysmon_decode as D

    assert [D.outcome(k) for k in ("0x8020000000000000", "0x8010000000000000", "0x8030000000000000", "0x8000000000000000")] == [
        "success", "failure", "failure", None]
