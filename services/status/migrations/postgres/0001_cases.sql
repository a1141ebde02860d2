-- Cases of the status service, their history as it arrived, the answers to
-- back-office questions, and the eCH-0058 messages already answered.
CREATE TABLE status_cases (
    id                  text PRIMARY KEY,          -- businessProcessId
    reference           text NOT NULL UNIQUE,      -- 2026-000123-4
    service             text NOT NULL,
    client_id           text NOT NULL,             -- the client that created it
    title               text NOT NULL,             -- JSON {de,fr,it,en}
    owner_kind          text NOT NULL,             -- person | organisation; '' once purged
    owner_id            text NOT NULL,             -- sub or organisation ID; '' once purged
    viewable            boolean NOT NULL,
    submitted_by_sub    text NOT NULL,
    submitted_by_name   text NOT NULL,
    submission_id       text NOT NULL,
    expected_completion text NOT NULL,             -- YYYY-MM-DD or ''
    test                boolean NOT NULL,
    status              text NOT NULL,             -- current entry, from the history
    outcome             text NOT NULL,
    deadline            text NOT NULL,
    closed              boolean NOT NULL,
    created_at          timestamptz NOT NULL,
    changed_at          timestamptz NOT NULL,      -- last change, for "newest change first"
    events              bigint NOT NULL,           -- last event seq
    notify_due          timestamptz                -- end of the open notification window
);
-- "Meine Vorgänge": the owner's viewable cases, newest change first (keyset).
CREATE INDEX status_cases_list ON status_cases (owner_kind, owner_id, changed_at DESC, id DESC) WHERE viewable;
CREATE INDEX status_cases_submitter ON status_cases (submitted_by_sub) WHERE submitted_by_sub <> '';

CREATE TABLE status_events (
    case_id     text NOT NULL REFERENCES status_cases (id) ON DELETE CASCADE,
    seq         bigint NOT NULL,
    message_id  text NOT NULL,
    action      text NOT NULL,
    ref         text NOT NULL,
    event_date  timestamptz NOT NULL,
    status      text NOT NULL,
    note        text NOT NULL,                     -- JSON {de,fr,it,en}
    deadline    text NOT NULL,
    outcome     text NOT NULL,
    notify      boolean NOT NULL,
    by_client   text NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (case_id, seq)
);

CREATE TABLE status_messages (
    client_id  text NOT NULL,
    message_id text NOT NULL,
    body_hash  bytea NOT NULL,
    case_id    text NOT NULL,
    code       integer NOT NULL,
    answer     bytea NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, message_id)
);

CREATE TABLE status_counters (
    year bigint PRIMARY KEY,
    last bigint NOT NULL
);

CREATE TABLE status_answers (
    id          text PRIMARY KEY,
    case_id     text NOT NULL REFERENCES status_cases (id) ON DELETE CASCADE,
    request_seq bigint NOT NULL,                   -- the rueckfrage entry answered
    body        text NOT NULL,
    by_sub      text NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX status_answers_case ON status_answers (case_id, created_at);

CREATE TABLE status_files (
    id           text PRIMARY KEY,
    answer_id    text NOT NULL REFERENCES status_answers (id) ON DELETE CASCADE,
    name         text NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    data         bytea NOT NULL
);
CREATE INDEX status_files_answer ON status_files (answer_id);
