-- Bulk triage points every finding a decision reaches at it (findings.disposition_id), one
-- UPDATE for up to tens of thousands of findings. Two things made each of those updates
-- expensive, and neither was needed:
--
-- * the foreign key to dispositions ran one lookup per updated row, and its index
--   (findings_disposition, which nothing reads by) made every update a new entry in every
--   index of findings. Decisions are append-only and only ever deleted together with their
--   product, whose releases' findings go with them (releases ON DELETE CASCADE), so no
--   finding outlives the decision it points at; readers treat an unknown id as undecided.
-- * with full pages an updated row cannot stay on its page (a HOT update needs free space
--   there), so it is written elsewhere and indexed again. Free space on findings' pages lets
--   the current decision, and re-analysis's last_seen_at / is_new, be updated in place.
--   Pages written from now on keep 30% free; existing pages get it as they are rewritten.
ALTER TABLE findings DROP CONSTRAINT IF EXISTS findings_disposition_id_fkey;
DROP INDEX IF EXISTS findings_disposition;
ALTER TABLE findings SET (fillfactor = 70);
