-- Feedback entries as received (CDS Hooks 2.0 Feedback). IF NOT EXISTS: a file
-- written before schema versions were recorded already has this table.
CREATE TABLE IF NOT EXISTS feedback (
    id                   INTEGER PRIMARY KEY,
    service_id           TEXT NOT NULL,
    card_uuid            TEXT NOT NULL,
    outcome              TEXT NOT NULL,
    accepted_suggestions TEXT NOT NULL,  -- JSON array of suggestion uuids
    override_system      TEXT,
    override_code        TEXT,
    override_display     TEXT,
    override_comment     TEXT,
    outcome_timestamp    TEXT NOT NULL,
    received_at          TEXT NOT NULL,
    entry_json           TEXT NOT NULL   -- the entry as received
);
CREATE INDEX IF NOT EXISTS feedback_card ON feedback (card_uuid);
CREATE INDEX IF NOT EXISTS feedback_identity ON feedback (card_uuid, outcome, outcome_timestamp);
