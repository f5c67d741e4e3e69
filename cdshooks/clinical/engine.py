"""Runs the clinical rules for a hook and puts their Findings in card order.

Rules live in `cdshooks/clinical/rules/` (every module there is imported) and
register themselves with `@rule("order-select", "order-sign", ...)`. A rule is
a pure function `(PatientRecord, Thresholds) -> Iterable[Finding]`.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cdshooks.clinical.findings import INDICATOR_RANK, Finding
from cdshooks.clinical.thresholds import Thresholds
from cdshooks.data.record import PatientRecord
from cdshooks.protocol import HOOKS

log = logging.getLogger(__name__)

RuleFunction = Callable[[PatientRecord, Thresholds], Iterable[Finding]]
PostProcessor = Callable[[list[Finding], PatientRecord, Thresholds], list[Finding]]


@dataclass(frozen=True)
class Rule:
    name: str
    hooks: frozenset[str]
    function: RuleFunction


_RULES: list[Rule] = []
_POSTPROCESSORS: list[PostProcessor] = []
_loaded = False


def rule(*hooks: str) -> Callable[[RuleFunction], RuleFunction]:
    """Register a rule function for the given hooks."""
    unknown = set(hooks) - set(HOOKS)
    if unknown or not hooks:
        raise ValueError(f"rule must name hooks from {HOOKS}, got {hooks}")

    def register(fn: RuleFunction) -> RuleFunction:
        _RULES.append(Rule(f"{fn.__module__}.{fn.__name__}", frozenset(hooks), fn))
        return fn

    return register


def postprocessor(fn: PostProcessor) -> PostProcessor:
    """Register a step that sees all findings of a call (suppression, merging)."""
    _POSTPROCESSORS.append(fn)
    return fn


def load_rules() -> list[Rule]:
    """Import every module in cdshooks.clinical.rules once; return the registry."""
    global _loaded
    if not _loaded:
        package = importlib.import_module("cdshooks.clinical.rules")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            importlib.import_module(f"{package.__name__}.{info.name}")
        _loaded = True
    return list(_RULES)


def evaluate(record: PatientRecord, hook: str, thresholds: Thresholds) -> list[Finding]:
    """All findings for this hook, post-processed, critical first."""
    findings: list[Finding] = []
    for r in load_rules():
        if hook in r.hooks:
            try:
                # All or nothing: a rule that fails half-way leaves no partial cards.
                findings.extend(list(r.function(record, thresholds)))
            except Exception as exc:  # noqa: BLE001 - one rule must not take the others' cards down
                _log_rule_failure(r, exc)
    for step in _POSTPROCESSORS:
        try:
            findings = step(findings, record, thresholds)
        except Exception as exc:  # noqa: BLE001 - unmerged cards beat no cards at all
            log.error(
                "post-processing step %s failed (%s); cards are shown without it",
                step.__name__, failure_site(exc),
            )
    return sorted(findings, key=_rank)


def failure_site(exc: BaseException) -> str:
    """"TypeError at dosing.py:74": what and where, never the message (it may quote patient data)."""
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__} at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"


def _log_rule_failure(r: Rule, exc: Exception) -> None:
    log.error("rule %s failed (%s); its cards are missing from this response", r.name, failure_site(exc))


def _rank(f: Finding) -> int:
    # The indicator may come from the template; the renderer re-sorts by the
    # final indicator, this only keeps rule output stable.
    return INDICATOR_RANK.get(f.indicator or "info", 2)
