-- JWT ids already used, until their token expires (a replayed token is refused).
-- expires_at is the token's exp (+ clock skew) in Unix seconds, as the verifier gives it.
CREATE TABLE used_jti (
    key        TEXT PRIMARY KEY,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX used_jti_expiry ON used_jti (expires_at);
