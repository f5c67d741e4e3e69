"""The byte-level depth check agrees with the walk over the parsed value."""

from __future__ import annotations

import json
import random

import orjson
import pytest

from cdshooks.config import Settings
from cdshooks.web import limits
from cdshooks.web.limits import (
    InputLimitExceeded,
    JSONTooDeep,
    check_limits,
    loads_within_depth,
    nesting_depth_exceeds,
    text_nesting_depth_exceeds,
)


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _nested(depth: int):
    value: object = "x"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


@pytest.mark.parametrize(
    "text, depth",
    [
        (b'"scalar"', 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"a": "[[[[[[[[", "b": "]]]"}', 1),  # brackets inside strings do not count
        (b'["\\"[[[", "\\\\", "]]"]', 1),  # escaped quote, escaped backslash before a closing quote
        (b'[{"x": "}\\\\\\"{"}, [[]]]', 3),
        ('["é", {"ü": ["ß"]}]'.encode(), 3),
        (b'[\n  {\n    "a": [ ]\n  }\n]', 3),
    ],
)
def test_text_depth_matches_structure(text, depth):
    assert _depth(orjson.loads(text)) == depth  # the example is what it says
    assert not text_nesting_depth_exceeds(text, depth)
    assert text_nesting_depth_exceeds(text, depth - 1) == (depth > 0)


def test_text_depth_agrees_with_parsed_walk_on_random_documents():
    rng = random.Random(20240607)
    alphabet = ['a', '"', "\\", "[", "]", "{", "}", "\n", "é", " ", "/"]

    def word() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5)))

    def value(level: int):
        r = rng.random()
        if level > 9 or r < 0.3:
            return word() if rng.random() < 0.7 else rng.randint(-5, 5)
        if r < 0.65:
            return [value(level + 1) for _ in range(rng.randint(0, 3))]
        return {word(): value(level + 1) for _ in range(rng.randint(0, 3))}

    for i in range(400):
        v = value(0)
        text = orjson.dumps(v) if i % 2 else json.dumps(v, ensure_ascii=bool(i % 3), indent=i % 4 or None).encode()
        d = _depth(v)
        for limit in {max(0, d - 1), d, d + 1}:
            assert text_nesting_depth_exceeds(text, limit) == nesting_depth_exceeds(v, limit), (text, limit)


def test_check_limits_checks_depth_unless_the_parse_did():
    settings = Settings(max_json_depth=10)
    deep = _nested(11)
    with pytest.raises(InputLimitExceeded):
        check_limits({"context": deep}, settings)
    check_limits({"context": deep}, settings, depth_checked=True)
    shallow = {"context": _nested(8)}
    check_limits(shallow, settings)


@pytest.fixture(params=["text pass", "wrapped parse"], autouse=True)
def depth_method(request, monkeypatch):
    """Every test here runs with both ways `loads_within_depth` checks depth."""
    monkeypatch.setattr(limits, "WRAP_FROM_BYTES", 10**9 if request.param == "text pass" else 0)
    return request.param


def test_parsing_within_a_depth_agrees_with_the_walk_on_random_documents():
    rng = random.Random(11)
    for i in range(300):
        v = _nested(rng.randint(0, 70))
        v = [v, {"s": "[[[{{", "n": [1, 2.5, None, True]}] if i % 2 else v
        text = orjson.dumps(v)
        d = _depth(v)
        for limit in {max(0, d - 1), d, d + 1, 64}:
            if nesting_depth_exceeds(v, limit):
                with pytest.raises(JSONTooDeep):
                    loads_within_depth(text, limit)
            else:
                assert loads_within_depth(text, limit) == v


@pytest.mark.parametrize("text", [b"", b"[1,", b'{"a": 1}}', b"[" * 2000, b"nan"])
def test_malformed_json_raises_as_orjson_does_with_its_own_positions(text):
    with pytest.raises(orjson.JSONDecodeError) as plain:
        orjson.loads(text)
    with pytest.raises(orjson.JSONDecodeError) as ours:
        loads_within_depth(text, 64)
    assert str(ours.value) == str(plain.value)


def test_a_limit_beyond_orjsons_own_falls_back_to_the_text_check():
    assert loads_within_depth(b"[[[]]]", 5000) == [[[]]]


@pytest.mark.parametrize("text", [b"", b"  ", b"1,2", b"1],[2", b"[1", b"1]", b"{}]", b"[[1]],[[2]]"])
def test_text_that_is_valid_only_once_wrapped_is_still_refused(text):
    with pytest.raises(orjson.JSONDecodeError):
        loads_within_depth(text, 64)


def test_mangled_json_is_accepted_exactly_when_orjson_accepts_it():
    rng = random.Random(5)
    pieces = [b"[", b"]", b"{", b"}", b",", b'"', b":", b"1", b" ", b"],[", b"null"]
    for _ in range(3000):
        text = bytearray(orjson.dumps(_nested(rng.randint(0, 6))))
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(text))
            if rng.random() < 0.5 and len(text) > at:
                del text[at]
            else:
                text[at:at] = rng.choice(pieces)
        text = bytes(text)
        try:
            expected = orjson.loads(text)
        except orjson.JSONDecodeError:
            with pytest.raises(orjson.JSONDecodeError):
                loads_within_depth(text, 64)
            continue
        assert loads_within_depth(text, 64) == expected, text
