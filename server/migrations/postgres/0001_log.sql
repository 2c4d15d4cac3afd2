-- The sigtrail log: its identity, its head, the searchable fields of its
-- entries, and the tiles and entry bundles it serves. See docs/storage.md.

-- The log's identity, written once; the server refuses a store holding another log.
CREATE TABLE log_meta (
    id             SMALLINT PRIMARY KEY CHECK (id = 1),
    origin         TEXT   NOT NULL,
    vkey           TEXT   NOT NULL,
    format_version BIGINT NOT NULL CHECK (format_version >= 0)
);

-- The tree size and its signed checkpoint: the compare-and-swap target of every commit.
CREATE TABLE log_state (
    id         SMALLINT PRIMARY KEY CHECK (id = 1) REFERENCES log_meta (id),
    size       BIGINT NOT NULL CHECK (size >= 0),
    checkpoint BYTEA  NOT NULL
);

-- Signer keys, stored once each: entries refer to them by a 4-byte id.
CREATE TABLE signers (
    id   INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vkey TEXT NOT NULL UNIQUE
);

-- The searchable fields of each entry. The entry's bytes live only in its bundle.
CREATE TABLE entries (
    idx       BIGINT  PRIMARY KEY CHECK (idx >= 0),
    leaf_hash BYTEA   NOT NULL CHECK (octet_length(leaf_hash) = 32),
    signer_id INTEGER NOT NULL REFERENCES signers (id),
    subject   TEXT    NOT NULL,
    name      TEXT    NOT NULL
);
CREATE UNIQUE INDEX entries_leaf_hash ON entries (leaf_hash);
CREATE INDEX entries_signer ON entries (signer_id, idx);
CREATE INDEX entries_subject ON entries (subject, idx);
CREATE INDEX entries_name ON entries (name, idx);

-- The widest version of each hash tile, 32 bytes per hash, 1 to 256 hashes.
CREATE TABLE tiles (
    level SMALLINT NOT NULL CHECK (level >= 0),
    idx   BIGINT   NOT NULL CHECK (idx >= 0),
    data  BYTEA    NOT NULL CHECK (octet_length(data) BETWEEN 32 AND 8192
                                   AND octet_length(data) % 32 = 0),
    PRIMARY KEY (level, idx)
);
-- Hashes do not compress: store tiles out of line without trying.
ALTER TABLE tiles ALTER COLUMN data SET STORAGE EXTERNAL;

-- The widest version of each entry bundle and how many entries it holds.
CREATE TABLE bundles (
    idx   BIGINT   PRIMARY KEY CHECK (idx >= 0),
    width SMALLINT NOT NULL CHECK (width BETWEEN 1 AND 256),
    data  BYTEA    NOT NULL
);
