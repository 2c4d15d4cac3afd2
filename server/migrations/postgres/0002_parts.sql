-- Storage format 2. Tiles and entry bundles are kept as the parts each
-- commit appended, so no commit rewrites stored bytes; bundle parts are
-- compressed by the server. The subject is stored as its 32 bytes. The
-- leaf hash and the subject are found through hash indexes, and the
-- commit checks that a leaf hash is new. See docs/storage.md.

-- A hash tile is the concatenation of its parts in order of upto, the
-- width each part brings it to.
CREATE TABLE tile_parts (
    level SMALLINT NOT NULL CHECK (level >= 0),
    idx   BIGINT   NOT NULL CHECK (idx >= 0),
    upto  SMALLINT NOT NULL CHECK (upto BETWEEN 1 AND 256),
    data  BYTEA    NOT NULL CHECK (octet_length(data) BETWEEN 32 AND 8192
                                   AND octet_length(data) % 32 = 0),
    PRIMARY KEY (level, idx, upto)
);
-- Hashes do not compress: store them out of line without trying.
ALTER TABLE tile_parts ALTER COLUMN data SET STORAGE EXTERNAL;
INSERT INTO tile_parts (level, idx, upto, data)
    SELECT level, idx, octet_length(data) / 32, data FROM tiles;
DROP TABLE tiles;

-- An entry bundle is the concatenation of its parts in order of upto;
-- codec 0 is the bytes as they are (bundles carried over from format 1),
-- codec 1 one zstd frame.
CREATE TABLE bundle_parts (
    idx   BIGINT   NOT NULL CHECK (idx >= 0),
    upto  SMALLINT NOT NULL CHECK (upto BETWEEN 1 AND 256),
    codec SMALLINT NOT NULL CHECK (codec IN (0, 1)),
    data  BYTEA    NOT NULL CHECK (octet_length(data) > 0),
    PRIMARY KEY (idx, upto)
);
-- The server compresses the parts: PostgreSQL need not try again.
ALTER TABLE bundle_parts ALTER COLUMN data SET STORAGE EXTERNAL;
INSERT INTO bundle_parts (idx, upto, codec, data)
    SELECT idx, width, 0, data FROM bundles;
DROP TABLE bundles;

-- The subject, sha256:<64 hex digits> in format 1, becomes its digest.
DROP INDEX entries_subject;
ALTER TABLE entries ALTER COLUMN subject TYPE BYTEA
    USING decode(substr(subject, 8), 'hex');
ALTER TABLE entries ADD CONSTRAINT entries_subject_size
    CHECK (octet_length(subject) = 32);
CREATE INDEX entries_subject ON entries USING hash (subject);

-- A hash index holds a 4-byte hash code per entry, not the 32-byte key.
-- It cannot be unique: the commit looks each new leaf hash up instead.
DROP INDEX entries_leaf_hash;
CREATE INDEX entries_leaf_hash ON entries USING hash (leaf_hash);
