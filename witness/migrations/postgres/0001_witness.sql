-- The witness's state: the latest checkpoint it cosigned per log, and the
-- evidence of every fork it saw. See docs/witness.md.

-- One row per log: the compare-and-swap target of every cosignature. A row
-- only ever moves to a larger tree (or the same head); it is never deleted.
CREATE TABLE cosigned (
    origin     TEXT   PRIMARY KEY,
    tree_size  BIGINT NOT NULL CHECK (tree_size >= 0),
    root_hash  BYTEA  NOT NULL CHECK (length(root_hash) = 32),
    checkpoint TEXT   NOT NULL
);

-- A checkpoint signed by the log that conflicts with a cosigned one, with
-- the request's consistency proof (concatenated 32-byte hashes). The unique
-- key keeps one row per conflicting head and kind.
CREATE TABLE forks (
    id               BIGSERIAL PRIMARY KEY,
    origin           TEXT   NOT NULL,
    kind             TEXT   NOT NULL,
    observed_at      BIGINT NOT NULL CHECK (observed_at >= 0),
    cosigned         TEXT   NOT NULL,
    conflicting      TEXT   NOT NULL,
    conflicting_size BIGINT NOT NULL CHECK (conflicting_size >= 0),
    conflicting_root BYTEA  NOT NULL CHECK (length(conflicting_root) = 32),
    old_size         BIGINT NOT NULL CHECK (old_size >= 0),
    proof            BYTEA  NOT NULL,
    UNIQUE (origin, kind, conflicting_size, conflicting_root)
);
