"""The reader's anchor pre-filter answers exactly as the regex it replaces."""

from __future__ import annotations

import random
import re

import pytest

from patternkg.converter.reader import ReadError, _maybe_anchor, parse_document

SPEC = re.compile(r"(?:^|[\s\[{,])[&*][^\s,\[\]{}]", re.MULTILINE)
ALPHABET = "ab &*\n\t,[]{}:-\u00a0\u2028\"'"


@pytest.mark.parametrize("text", ["", "&", "*", "a&b", "x: &a 1", "&a", "[*a]", "{a: *b}", "k: a & b", "k: **bold**",
                                  "x *", "*\n", ",&a", "\u00a0&a", "a\n*b"])
def test_prefilter_cases(text):
    assert _maybe_anchor(text) == bool(SPEC.search(text))


def test_prefilter_matches_the_regex_on_random_text():
    rng = random.Random(20261124)
    for _ in range(20000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12)))
        assert _maybe_anchor(text) == bool(SPEC.search(text)), repr(text)


def test_an_anchor_after_a_prefilter_hit_is_refused():
    with pytest.raises(ReadError) as caught:
        parse_document(b"---\nslug: a\nx: &anchor 1\ny: *anchor\n---\n", "f.md")
    assert caught.value.diagnostic.code == "yaml-anchor"
    assert caught.value.diagnostic.line == 3


def test_crlf_and_lone_cr_become_line_feeds_with_the_same_line_numbers(tmp_path):
    from patternkg.converter.reader import read_document

    path = tmp_path / "crlf.md"
    path.write_bytes(b"---\r\nslug: crlf\r\ntitle: |\r\n  two\r\n  lines\r\n---\r\nBody one.\r\nBody two.\rBody three.\r\n")
    doc = read_document(path)
    assert doc.body == "Body one.\nBody two.\nBody three.\n" and doc.data["title"] == "two\nlines\n"
    assert doc.lines[("title",)] == 3 and doc.body_line == 7 and not doc.warnings


@pytest.mark.parametrize(("raw", "where"), [
    (b'---\nslug: ctl\ntitle: "a\\x1bb"\n---\nclean body\n', ("title", 3)),  # only an escape makes one
    (b"---\nslug: ctl\n---\nclean\nthen U+FFFE \xef\xbf\xbe\n", ("body", 5)),
    (b"---\nslug: ctl\n---\nESC \x1b\n", ("body", 4)),
    (b"---\nslug: ctl\n---\nDEL \x7f and U+FFFD \xef\xbf\xbd stay\n", None),
])
def test_a_lone_control_character_is_found_wherever_it_is(tmp_path, raw, where):
    """The reader skips its search when the file's bytes hold none (see _without_control)."""
    from patternkg.converter.reader import read_document

    path = tmp_path / "ctl.md"
    path.write_bytes(raw)
    doc = read_document(path)
    assert [(w.field, w.line) for w in doc.warnings] == ([where] if where else [])
    assert not any(c in doc.body + doc.data.get("title", "") for c in "\x1b\ufffe")


def test_control_characters_are_removed_with_a_warning_naming_line_and_field(tmp_path):
    from patternkg.converter.reader import ReadError, read_document

    path = tmp_path / "ctl.md"
    path.write_bytes(b'---\nslug: ctl\ntitle: "a\\0b"\n---\nok\nNUL\x00 and DEL\x7f stays\n\xef\xbf\xbf\n')
    doc = read_document(path)
    assert doc.data["title"] == "ab" and doc.body == "ok\nNUL and DEL\x7f stays\n\n"
    assert [(w.code, w.line, w.field) for w in doc.warnings] == [
        ("control-character", 3, "title"), ("control-character", 6, "body"), ("control-character", 7, "body")]
    assert "U+0000" in doc.warnings[1].message and "U+FFFF" in doc.warnings[2].message
    path.write_bytes(b"---\nslug: ctl\nsummary: x\ntitle: a\x1fb\n---\n")
    with pytest.raises(ReadError) as info:
        read_document(path)
    diag = info.value.diagnostic
    assert (diag.code, diag.line, diag.column) == ("yaml-syntax", 4, 9) and "U+001F" in diag.message
