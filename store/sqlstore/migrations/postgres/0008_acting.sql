-- Whom a refresh-token grant acts for (an organisation or a represented
-- person); empty for the person themself.

ALTER TABLE refresh_tokens ADD COLUMN acting_kind text NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN acting_id text NOT NULL DEFAULT '';
