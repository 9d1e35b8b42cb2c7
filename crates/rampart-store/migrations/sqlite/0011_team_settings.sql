-- Team settings (issue 12 item 24): who may create API keys. Seed 003 lets every member
-- create keys, seed 004 only those who manage the team: `members` (default) or `admins`.
ALTER TABLE teams ADD COLUMN api_key_creation TEXT NOT NULL DEFAULT 'members'
    CHECK (api_key_creation IN ('members', 'admins'));
