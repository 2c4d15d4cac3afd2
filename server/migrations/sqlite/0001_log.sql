-- The sigtrail log: its identity, its head, the searchable fields of its
-- entries, and the tiles and entry bundles it serves. See docs/storage.md.

-- The log's identity, written once; the server refuses a store holding another log.
CREATE TABLE log_meta (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    origin         TEXT    NOT NULL,
    vkey           TEXT    NOT NULL,
    format_version INTEGER NOT NULL CHECK (format_version >= 0)
) STRICT;

-- The tree size and its signed checkpoint: the compare-and-swap target of every commit.
CREATE TABLE log_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1) REFERENCES log_meta (id),
    size       INTEGER NOT NULL CHECK (size >= 0),
    checkpoint BLOB    NOT NULL
) STRICT;

-- Signer keys, stored once each: entries refer to them by id.
CREATE TABLE signers (
    id   INTEGER PRIMARY KEY,
    vkey TEXT    NOT NULL UNIQUE
) STRICT;

-- The searchable fields of each entry. The entry's bytes live only in its bundle.
-- idx is the rowid, and every index ends with the rowid, so each index below
-- is ordered by (field, idx) as search needs.
CREATE TABLE entries (
    idx       INTEGER PRIMARY KEY CHECK (idx >= 0),
    leaf_hash BLOB    NOT NULL UNIQUE CHECK (length(leaf_hash) = 32),
    signer_id INTEGER NOT NULL REFERENCES signers (id),
    subject   TEXT    NOT NULL,
    name      TEXT    NOT NULL
) STRICT;
CREATE INDEX entries_signer ON entries (signer_id);
CREATE INDEX entries_subject ON entries (subject);
CREATE INDEX entries_name ON entries (name);

-- The widest version of each hash tile, 32 bytes per hash, 1 to 256 hashes.
CREATE TABLE tiles (
    level INTEGER NOT NULL CHECK (level >= 0),
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    data  BLOB    NOT NULL CHECK (length(data) BETWEEN 32 AND 8192 AND length(data) % 32 = 0),
    PRIMARY KEY (level, idx)
) STRICT;

-- The widest version of each entry bundle and how many entries it holds.
CREATE TABLE bundles (
    idx   INTEGER PRIMARY KEY CHECK (idx >= 0),
    width INTEGER NOT NULL CHECK (width BETWEEN 1 AND 256),
    data  BLOB    NOT NULL
) STRICT;
