-- Drafts, submissions, payments and attachments of the form service.
-- Answers, attachment names and contents are sealed (AES-256-GCM, key ring).
CREATE TABLE forms_drafts (
    id           text PRIMARY KEY,
    owner_kind   text NOT NULL,
    owner_id     text NOT NULL,
    created_by   text NOT NULL,
    form_id      text NOT NULL,
    form_version integer NOT NULL,
    answers      BLOB NOT NULL,
    state        text NOT NULL DEFAULT 'open',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    reminded     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX forms_drafts_owner ON forms_drafts (owner_kind, owner_id, updated_at);
CREATE INDEX forms_drafts_created_by ON forms_drafts (created_by);
CREATE INDEX forms_drafts_expires ON forms_drafts (expires_at) WHERE state = 'open';

CREATE TABLE forms_submissions (
    id                text PRIMARY KEY,
    draft_id          text NOT NULL UNIQUE REFERENCES forms_drafts (id),
    reference         text NOT NULL UNIQUE,
    owner_kind        text NOT NULL,
    owner_id          text NOT NULL,
    submitted_by      text NOT NULL,
    submitted_by_name BLOB NOT NULL,
    form_id           text NOT NULL,
    form_version      integer NOT NULL,
    answers           BLOB NOT NULL,
    lang              text NOT NULL,
    payment_id        text NOT NULL DEFAULT '',
    created_at        TEXT NOT NULL,
    case_id           text NOT NULL DEFAULT '',
    case_reference    text NOT NULL DEFAULT '',
    case_url          text NOT NULL DEFAULT ''
);
CREATE INDEX forms_submissions_owner ON forms_submissions (owner_kind, owner_id, created_at);

CREATE TABLE forms_payments (
    id           text PRIMARY KEY,
    draft_id     text NOT NULL REFERENCES forms_drafts (id) ON DELETE CASCADE,
    psp_id       text NOT NULL DEFAULT '',
    amount       bigint NOT NULL,
    status       text NOT NULL,
    method       text NOT NULL DEFAULT '',
    redirect_url text NOT NULL DEFAULT '',
    submitter    BLOB NOT NULL,
    expires_at   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
-- At most one payment of a draft is pending or paid: never charged twice.
CREATE UNIQUE INDEX forms_payments_live ON forms_payments (draft_id)
    WHERE status IN ('pending', 'authorized', 'captured');
CREATE INDEX forms_payments_psp ON forms_payments (psp_id);

CREATE TABLE forms_attachments (
    id           text PRIMARY KEY,
    draft_id     text NOT NULL REFERENCES forms_drafts (id) ON DELETE CASCADE,
    field        text NOT NULL,
    name         BLOB NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    data         BLOB NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX forms_attachments_draft ON forms_attachments (draft_id);
