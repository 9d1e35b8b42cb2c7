-- A random stamp beside the knowledge base's version, new at every version bump: `rampart
-- scan`'s index file (scan_index.rs) is valid only for the version *and* stamp it was written
-- from. The version alone repeats across databases (a fresh or restored database counts from
-- the same numbers), so an index left beside a replaced rampart.db could pass for current.
ALTER TABLE kb_state ADD COLUMN stamp TEXT NOT NULL DEFAULT '';
UPDATE kb_state SET stamp = lower(hex(randomblob(16)));
CREATE TRIGGER kb_state_new_stamp AFTER UPDATE OF version ON kb_state
BEGIN
    UPDATE kb_state SET stamp = lower(hex(randomblob(16))) WHERE id = NEW.id;
END;
