"""A fact as card text, the way `cdshooks.cards` renders it: for tests of facts that are Phrases, Series or Bullets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdshooks import cards
from cdshooks.clinical.findings import Finding


def rendered(value: Any, topic: str, facts: Mapping[str, Any] | None = None, *, markdown: bool = True) -> str:
    """`value` filled into `topic`'s card (its own phrases, then cards/_phrases.toml)."""
    return cards.fill("{value}", {**(facts or {}), "value": value}, markdown=markdown, where=f"test {topic}",
                      template=cards.template(topic))


def fact(f: Finding, name: str, *, markdown: bool = True) -> str:
    """The finding's fact `name` as its card shows it (Markdown, as in the detail, unless markdown=False)."""
    return rendered(f.facts[name], f.topic, f.facts, markdown=markdown)
