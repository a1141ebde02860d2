-- Cases of the status service, their history as it arrived, the answers to
-- back-office questions, and the eCH-0058 messages already answered.
CREATE TABLE status_cases (
    id                  TEXT PRIMARY KEY,          -- businessProcessId
    reference           TEXT NOT NULL UNIQUE,      -- 2026-000123-4
    service             TEXT NOT NULL,
    client_id           TEXT NOT NULL,             -- the client that created it
    title               TEXT NOT NULL,             -- JSON {de,fr,it,en}
    owner_kind          TEXT NOT NULL,             -- person | organisation; '' once purged
    owner_id            TEXT NOT NULL,             -- sub or organisation ID; '' once purged
    viewable            INTEGER NOT NULL,
    submitted_by_sub    TEXT NOT NULL,
    submitted_by_name   TEXT NOT NULL,
    submission_id       TEXT NOT NULL,
    expected_completion TEXT NOT NULL,             -- YYYY-MM-DD or ''
    test                INTEGER NOT NULL,
    status              TEXT NOT NULL,             -- current entry, from the history
    outcome             TEXT NOT NULL,
    deadline            TEXT NOT NULL,
    closed              INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    changed_at          TEXT NOT NULL,      -- last change, for "newest change first"
    events              INTEGER NOT NULL,           -- last event seq
    notify_due          TEXT                -- end of the open notification window
) STRICT;
-- "Meine Vorgänge": the owner's viewable cases, newest change first (keyset).
CREATE INDEX status_cases_list ON status_cases (owner_kind, owner_id, changed_at DESC, id DESC) WHERE viewable;
CREATE INDEX status_cases_submitter ON status_cases (submitted_by_sub) WHERE submitted_by_sub <> '';

CREATE TABLE status_events (
    case_id     TEXT NOT NULL REFERENCES status_cases (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    message_id  TEXT NOT NULL,
    action      TEXT NOT NULL,
    ref         TEXT NOT NULL,
    event_date  TEXT NOT NULL,
    status      TEXT NOT NULL,
    note        TEXT NOT NULL,                     -- JSON {de,fr,it,en}
    deadline    TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    notify      INTEGER NOT NULL,
    by_client   TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
) STRICT;

CREATE TABLE status_messages (
    client_id  TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body_hash  BLOB NOT NULL,
    case_id    TEXT NOT NULL,
    code       INTEGER NOT NULL,
    answer     BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (client_id, message_id)
) STRICT;

CREATE TABLE status_counters (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
) STRICT;

CREATE TABLE status_answers (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES status_cases (id) ON DELETE CASCADE,
    request_seq INTEGER NOT NULL,                   -- the rueckfrage entry answered
    body        TEXT NOT NULL,
    by_sub      TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX status_answers_case ON status_answers (case_id, created_at);

CREATE TABLE status_files (
    id           TEXT PRIMARY KEY,
    answer_id    TEXT NOT NULL REFERENCES status_answers (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    data         BLOB NOT NULL
) STRICT;
CREATE INDEX status_files_answer ON status_files (answer_id);
