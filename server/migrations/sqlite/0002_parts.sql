-- Storage format 2. Tiles and entry bundles are kept as the parts each
-- commit appended, so no commit rewrites stored bytes; bundle parts are
-- compressed by the server. The subject is stored as its 32 bytes. See
-- docs/storage.md.

-- A hash tile is the concatenation of its parts in order of upto, the
-- width each part brings it to.
CREATE TABLE tile_parts (
    level INTEGER NOT NULL CHECK (level >= 0),
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    upto  INTEGER NOT NULL CHECK (upto BETWEEN 1 AND 256),
    data  BLOB    NOT NULL CHECK (length(data) BETWEEN 32 AND 8192 AND length(data) % 32 = 0),
    PRIMARY KEY (level, idx, upto)
) STRICT, WITHOUT ROWID;
INSERT INTO tile_parts (level, idx, upto, data)
    SELECT level, idx, length(data) / 32, data FROM tiles;
DROP TABLE tiles;

-- An entry bundle is the concatenation of its parts in order of upto;
-- codec 0 is the bytes as they are (bundles carried over from format 1),
-- codec 1 one zstd frame.
CREATE TABLE bundle_parts (
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    upto  INTEGER NOT NULL CHECK (upto BETWEEN 1 AND 256),
    codec INTEGER NOT NULL CHECK (codec IN (0, 1)),
    data  BLOB    NOT NULL CHECK (length(data) > 0),
    PRIMARY KEY (idx, upto)
) STRICT;
INSERT INTO bundle_parts (idx, upto, codec, data)
    SELECT idx, width, 0, data FROM bundles;
DROP TABLE bundles;

-- The subject, sha256:<64 hex digits> in format 1, becomes its digest.
-- SQLite cannot change a column's type: the table is copied.
CREATE TABLE entries_v2 (
    idx       INTEGER PRIMARY KEY CHECK (idx >= 0),
    leaf_hash BLOB    NOT NULL UNIQUE CHECK (length(leaf_hash) = 32),
    signer_id INTEGER NOT NULL REFERENCES signers (id),
    subject   BLOB    NOT NULL CHECK (length(subject) = 32),
    name      TEXT    NOT NULL
) STRICT;
INSERT INTO entries_v2 (idx, leaf_hash, signer_id, subject, name)
    SELECT idx, leaf_hash, signer_id, unhex(substr(subject, 8)), name FROM entries;
DROP TABLE entries;
ALTER TABLE entries_v2 RENAME TO entries;
-- idx is the rowid, and every index ends with the rowid, so each index
-- below is ordered by (field, idx) as search needs.
CREATE INDEX entries_signer ON entries (signer_id);
CREATE INDEX entries_subject ON entries (subject);
CREATE INDEX entries_name ON entries (name);
