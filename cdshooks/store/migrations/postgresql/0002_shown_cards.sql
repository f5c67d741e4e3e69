-- The shown-card ledger: one row per card returned (no patient data but the id).
CREATE TABLE shown_card (
    id         BIGSERIAL PRIMARY KEY,
    card_uuid  TEXT NOT NULL,
    topic      TEXT NOT NULL,
    indicator  TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    hook       TEXT NOT NULL,
    service_id TEXT NOT NULL,
    shown_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX shown_card_uuid ON shown_card (card_uuid, hook);
CREATE INDEX shown_card_time ON shown_card (shown_at);
CREATE INDEX feedback_received ON feedback (received_at);
