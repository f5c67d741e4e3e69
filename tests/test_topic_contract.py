"""The topic contract: every card template is emitted by a rule, expected by a fixture and
listed in the README; topic codes are named in clinical/rules/ only; every value set is used."""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path

import pytest

from cdshooks import cards

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "cdshooks" / "clinical" / "rules"
TOPICS = cards.topics()


@cache
def _python_sources(folder: Path) -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.py"))}


@cache
def _strings(text: str) -> frozenset[str]:
    """The string literals of a module, docstrings left out (an example in prose names nothing)."""
    tree = ast.parse(text)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return frozenset(
        node.value for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    )


@cache
def _expected_topics() -> frozenset[str]:
    expected: set[str] = set()
    for path in (ROOT / "fixtures").rglob("scenario.json"):
        expected.update(json.loads(path.read_text(encoding="utf-8")).get("expect", {}).get("topics", []))
    return frozenset(expected)


def _readme_rules_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("\n## Rules\n")
    end = readme.index("\n## ", start + 1)
    return readme[start:end]


def test_there_are_topics():
    assert len(TOPICS) > 30  # a broken package-data mapping would make every check below vacuous


@pytest.mark.parametrize("topic", TOPICS)
def test_every_topic_is_emitted_by_a_rule(topic: str):
    # Named in rules/; that a rule really emits it is checked by the fixtures that expect it.
    sources = _python_sources(RULES)
    assert any(topic in _strings(text) for text in sources.values()), f"no rule in {RULES} names {topic!r}"


@pytest.mark.parametrize("topic", TOPICS)
def test_every_topic_is_expected_by_a_fixture(topic: str):
    assert topic in _expected_topics(), f"no fixture lists {topic!r} in expect.topics"


@pytest.mark.parametrize("topic", TOPICS)
def test_every_topic_is_listed_in_the_readme_rules(topic: str):
    assert f"`{topic}`" in _readme_rules_section(), f"README '## Rules' does not list `{topic}`"


def test_topic_codes_are_named_only_in_the_rules():
    named_elsewhere = [
        f"{path.relative_to(ROOT)}: {topic}"
        for path, text in _python_sources(ROOT / "cdshooks").items()
        if RULES not in path.parents
        for topic in TOPICS
        if topic in _strings(text)
    ]
    assert named_elsewhere == []


def test_every_fixture_topic_has_a_template():
    assert _expected_topics() <= set(TOPICS)


def test_every_value_set_file_is_used():
    folder = ROOT / "cdshooks" / "terminology" / "valuesets"
    code = "\n".join(_python_sources(ROOT / "cdshooks").values())
    files = sorted(folder.glob("*.json"))
    assert files
    # Named by the code, as `load("name")` or its file name; a file's own "name" field does not count.
    unused = [p.stem for p in files if not re.search(rf"""["']{re.escape(p.stem)}(\.json)?["']""", code)]
    assert unused == []
