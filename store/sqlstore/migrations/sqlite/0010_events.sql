-- Security Event Tokens (RFC 8417) for relying parties: where a client
-- receives them (push delivery, RFC 8935). Empty: the client gets none.

ALTER TABLE clients ADD COLUMN events_uri TEXT NOT NULL DEFAULT '';
