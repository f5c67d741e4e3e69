"""One hook call, end to end: gather data -> PatientRecord -> rules -> cards -> the hook's scope ->
suppression -> the shown-card ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cdshooks import cards, ledger, metrics, suppression
from cdshooks.clinical import engine
from cdshooks.clinical.rules import hook_scope
from cdshooks.config import Settings
from cdshooks.data.builder import build_record
from cdshooks.data.gather import gather
from cdshooks.protocol import HookRequest
from cdshooks.services import Service
from cdshooks.store.model import Store


def evaluation_time(settings: Settings) -> datetime:
    """`Settings.now` when set (fixtures, demos), else the current time in UTC."""
    return settings.now or datetime.now(UTC)


def run_hook(
    service: Service, hook_request: HookRequest, settings: Settings, now: datetime, store: Store
) -> dict[str, Any]:
    """The CDS Hooks response body for a validated request (raises DataUnavailable -> 412)."""
    gathered = gather(
        service.prefetch,
        hook_request.context,
        hook_request.prefetch,
        hook_request.fhir_server,
        hook_request.fhir_authorization,
        settings.fetch_policy(),
        service.required_prefetch,
    )
    metrics.count_fhir_fetches(gathered)
    record = build_record(
        gathered,
        patient_id=hook_request.patient_id,
        draft_orders=hook_request.draft_orders,
        selections=hook_request.selections,
        now=now,
    )
    hook = hook_request.hook
    findings = engine.evaluate(record, hook, settings.thresholds)
    scope = hook_scope.scope_of(record, hook)
    rendered = [
        c for c in cards.render_cards(findings, hook_request.patient_id)
        if hook_scope.shows(scope, cards.card_topic(c), c["indicator"])
    ]
    screened = suppression.screen(rendered, hook, now, store, settings.suppression_windows())
    for topic, why in screened.suppressed:
        metrics.count_suppressed(topic, why)
    if screened.store_failed:
        metrics.count_suppression_unchecked()
    if not ledger.record(
        store, screened.shown, hook=hook, patient_id=hook_request.patient_id, service_id=service.id, now=now
    ):
        metrics.count_ledger_failure()
    return {"cards": screened.shown}
