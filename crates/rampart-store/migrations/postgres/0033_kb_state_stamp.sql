-- A random stamp beside the knowledge base's version, new at every version bump: `rampart
-- scan`'s index file (scan_index.rs) is valid only for the version *and* stamp it was written
-- from. The version alone repeats across databases (a fresh or restored database counts from
-- the same numbers), so an index left beside a replaced database could pass for current.
ALTER TABLE kb_state ADD COLUMN stamp TEXT NOT NULL DEFAULT '';
UPDATE kb_state SET stamp = md5(random()::text || clock_timestamp()::text);
CREATE FUNCTION kb_state_new_stamp() RETURNS trigger AS $$
BEGIN
    IF NEW.version IS DISTINCT FROM OLD.version THEN
        NEW.stamp := md5(random()::text || clock_timestamp()::text);
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER kb_state_new_stamp BEFORE UPDATE OF version ON kb_state
    FOR EACH ROW EXECUTE FUNCTION kb_state_new_stamp();
