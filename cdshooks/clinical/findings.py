"""What a rule concludes, before it becomes a CDS Hooks card.

Rules return Findings; `cdshooks.cards` renders them with the templates in
`cards/`. A Finding carries facts (the values, dates and codes the rule used),
never card wording: where a rule chooses between sentences it names one with a
`Phrase` (its text is in the card's `[phrases]` table), and where it has several
values it hands them over as `Bullets`, a `Table` or a `Series`; `cdshooks.cards`
decides how they look (Markdown in a detail, plain text in a summary).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Indicator = Literal["info", "warning", "critical"]
ActionType = Literal["create", "update", "delete"]

INDICATOR_RANK: Mapping[str, int] = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Phrase:
    """A sentence named by `key` in the card's `[phrases]` (else in cards/_phrases.toml).

    Its placeholders are filled from `facts`, then from the finding's facts.
    """

    key: str
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Bullets:
    """A list of values (strings or Phrases), one bullet each; empty, it renders as nothing."""

    items: tuple[Any, ...]


@dataclass(frozen=True)
class Table:
    """Rows of values under the header row named `key` in the card's `[tables]`; empty, nothing."""

    key: str
    rows: tuple[tuple[Any, ...], ...]


SeriesJoin = Literal["and", "or", "semicolon", "space", "comma"]


@dataclass(frozen=True)
class Series:
    """Values in one line: "a, b and c" (and), "a or b" (or), "a; b" (semicolon), "a b" (space), "a, b" (comma)."""

    items: tuple[Any, ...]
    join: SeriesJoin = "and"


@dataclass(frozen=True)
class Action:
    """One FHIR change in a suggestion; `resource` is a complete R4 resource (JSON).

    `cdshooks.cards` validates the resource (the one place that does). A resource
    copied from what the EHR sent may not be valid R4: `fallback` is a smaller copy
    used when `resource` is not valid, and an `optional` action whose resource (and
    fallback) is not valid leaves its suggestion out instead of failing the card,
    whose text carries the advice.
    """

    type: ActionType
    description: str | Phrase
    resource: Mapping[str, Any] | None = None
    resource_id: str | None = None  # for delete: "MedicationRequest/123"
    fallback: Mapping[str, Any] | None = None
    optional: bool = False


@dataclass(frozen=True)
class Suggestion:
    """A suggestion; `key` names its label template in the topic's card file."""

    key: str
    actions: tuple[Action, ...]
    is_recommended: bool = False
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """A rule's conclusion.

    topic:    the rule's topic code (clinical-rules.md), = the card file name.
    variant:  which template of the topic file to use ("default", "severe", ...).
    facts:    placeholder values for the templates (values, dates, drug names).
    order_id: the draft order (MedicationRequest id) the finding is about, if any;
              used to suppress `dose-guidance` and to merge dose suggestions.
    indicator: overrides the template's indicator when set.
    """

    topic: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    variant: str = "default"
    suggestions: tuple[Suggestion, ...] = ()
    order_id: str | None = None
    indicator: Indicator | None = None


@dataclass(frozen=True)
class SummaryOf:
    """Another finding's card summary, as a line of this card (the safety summary's standing risks)."""

    finding: Finding
