-- Documents of "Meine Dokumente". The delivered or sealed bytes live in
-- documents_content and are never updated (a trigger refuses it).
CREATE TABLE documents (
    id                  text PRIMARY KEY,
    client_id           text NOT NULL,
    message_id          text NOT NULL,
    request_hash        text NOT NULL,
    owner_kind          text NOT NULL,
    owner_id            text NOT NULL,
    service             text NOT NULL,
    business_process_id text NOT NULL,
    reference           text NOT NULL,
    title               text NOT NULL,
    kind                text NOT NULL,
    issuer              text NOT NULL,
    size                bigint NOT NULL,
    sha256              text NOT NULL,
    sealed              boolean NOT NULL,
    delivered_at        timestamptz NOT NULL,
    read_at             timestamptz,
    expires_at          timestamptz,
    UNIQUE (client_id, message_id)
);
CREATE INDEX documents_owner ON documents (owner_kind, owner_id, delivered_at);
CREATE INDEX documents_expiry ON documents (expires_at);

CREATE TABLE documents_content (
    document_id text PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    content     bytea NOT NULL
);
CREATE FUNCTION documents_content_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'document content is immutable';
END $$;
CREATE TRIGGER documents_content_no_update BEFORE UPDATE ON documents_content
    FOR EACH ROW EXECUTE FUNCTION documents_content_immutable();

-- Hashes of every document this portal issued; kept after deletion so that
-- a copy can still be recognised (no personal data).
CREATE TABLE documents_issued (
    sha256    text PRIMARY KEY,
    issued_at timestamptz NOT NULL,
    issuer    text NOT NULL
);

CREATE TABLE documents_shares (
    id            text PRIMARY KEY,
    document_id   text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    token_hash    text NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    max_downloads bigint NOT NULL,
    downloads     bigint NOT NULL,
    revoked_at    timestamptz
);
CREATE INDEX documents_shares_document ON documents_shares (document_id);

CREATE TABLE documents_share_log (
    id       bigserial PRIMARY KEY,
    share_id text NOT NULL REFERENCES documents_shares (id) ON DELETE CASCADE,
    at       timestamptz NOT NULL
);
CREATE INDEX documents_share_log_share ON documents_share_log (share_id);
