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
