-- What reading an SBOM tolerated and what it could not resolve (DESIGN §5: nothing vanishes
-- silently). `warnings`: JSON array of {message, line?, column?, pointer?}, e.g. a repeated
-- bom-ref. `unmatched_components`: JSON {count, reasons: [{reason, description, count,
-- examples}]}, the components that name no package the knowledge base can be searched for;
-- NULL for SBOMs uploaded before this column existed.
ALTER TABLE sboms ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
ALTER TABLE sboms ADD COLUMN unmatched_components TEXT;
