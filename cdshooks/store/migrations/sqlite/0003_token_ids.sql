-- JWT ids already used, until their token expires (a replayed token is refused).
CREATE TABLE IF NOT EXISTS used_jti (
    key        TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
CREATE INDEX used_jti_expiry ON used_jti (expires_at);
