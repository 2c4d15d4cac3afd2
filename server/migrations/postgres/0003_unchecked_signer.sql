-- The entries' reference to their signer is no longer checked by a
-- foreign key. The commit's INSERT takes each signer_id from a join with
-- signers in the same statement that inserts the entry, and nothing
-- deletes a signer, so the key could never fail; checking it cost one
-- trigger and one look-up in signers for every entry appended, about a
-- sixth of PostgreSQL's time under load. See docs/storage.md.
ALTER TABLE entries DROP CONSTRAINT entries_signer_id_fkey;
