-- Per-client scopes: what a client may request with client_credentials
-- (scopes) and the API scopes it serves as a resource server (api_scopes);
-- a token granting one of those names that client in its audience.

ALTER TABLE clients ADD COLUMN scopes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN api_scopes TEXT NOT NULL DEFAULT '[]';
