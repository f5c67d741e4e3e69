-- Feedback entries as received (CDS Hooks 2.0 Feedback). The UNIQUE index makes
-- a repeated (card, outcome, outcomeTimestamp) a no-op (INSERT ... ON CONFLICT
-- DO NOTHING) even when two instances receive the same retry at once.
CREATE TABLE feedback (
    id                   BIGSERIAL PRIMARY KEY,
    service_id           TEXT NOT NULL,
    card_uuid            TEXT NOT NULL,
    outcome              TEXT NOT NULL,
    accepted_suggestions JSONB NOT NULL,  -- array of suggestion uuids
    override_system      TEXT,
    override_code        TEXT,
    override_display     TEXT,
    override_comment     TEXT,
    outcome_timestamp    TIMESTAMPTZ NOT NULL,
    received_at          TIMESTAMPTZ NOT NULL,
    entry_json           JSONB NOT NULL   -- the entry as received
);
CREATE INDEX feedback_card ON feedback (card_uuid);
CREATE UNIQUE INDEX feedback_identity ON feedback (card_uuid, outcome, outcome_timestamp);
