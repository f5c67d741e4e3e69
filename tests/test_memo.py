"""Memos keyed by request values stay bounded in entries and in characters."""

from __future__ import annotations

from cdshooks.data.elements import codings
from cdshooks.memo import BoundedMemo, bounded_memo, characters


def test_characters_counts_strings_inside_tuples():
    # "abc" + ("de" + None + the tuple) + 5 + the tuple
    assert characters(("abc", ("de", None), 5)) == 3 + (2 + 1 + 1) + 1 + 1


def test_memo_starts_over_at_its_entry_bound():
    memo: BoundedMemo[str, int] = BoundedMemo(max_entries=3)
    for i in range(3):
        memo.remember(f"k{i}", i)
    assert len(memo) == 3
    memo.remember("k3", 3)
    assert memo.entries == {"k3": 3}


def test_memo_starts_over_at_its_character_bound_and_never_keeps_a_huge_key():
    memo: BoundedMemo[str, int] = BoundedMemo(max_entries=100, max_chars=10)
    memo.remember("aaaa", 1)
    memo.remember("bbbb", 2)
    assert len(memo) == 2
    memo.remember("cccc", 3)  # 12 characters would exceed 10
    assert memo.entries == {"cccc": 3}
    assert memo.remember("x" * 11, 4) == 4
    assert "x" * 11 not in memo.entries


def test_bounded_memo_computes_once_and_passes_unhashable_arguments_through():
    calls = []

    @bounded_memo(10)
    def double(x):
        calls.append(x)
        return x * 2

    assert double(2) == 4 and double(2) == 4
    assert calls == [2]
    assert double([1]) == [1, 1] and double([1]) == [1, 1]
    assert calls == [2, [1], [1]]
    assert len(double.memo) == 1


def test_a_huge_display_is_read_but_not_remembered():
    huge = "x" * 3_000_000
    (coding,) = codings({"coding": [{"system": "urn:local", "code": "1", "display": huge}]})
    assert coding.display == huge
    from cdshooks.data import elements

    assert ("urn:local", "1", huge) not in elements._READ_CODINGS.entries
