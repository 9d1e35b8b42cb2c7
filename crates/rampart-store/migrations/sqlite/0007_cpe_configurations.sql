-- NVD configuration structure for each stored cpeMatch, so lookups evaluate a configuration as
-- NVD means it (nodes combined by the configuration's operator, cpeMatch entries by their
-- node's operator, negation honoured) instead of every criterion on its own.
-- The defaults put existing rows in one OR node of an OR configuration: any vulnerable
-- criterion matches, which is what they meant before. A record gets its real structure
-- when a newer version of it (a later `lastModified`) is ingested.
ALTER TABLE cpe_matches ADD COLUMN configuration_operator TEXT NOT NULL DEFAULT 'OR';
ALTER TABLE cpe_matches ADD COLUMN configuration_negate BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE cpe_matches ADD COLUMN node_index INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cpe_matches ADD COLUMN node_operator TEXT NOT NULL DEFAULT 'OR';
ALTER TABLE cpe_matches ADD COLUMN node_negate BOOLEAN NOT NULL DEFAULT FALSE;
