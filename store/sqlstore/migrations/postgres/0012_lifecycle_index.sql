-- The lifecycle run pages through the accounts by their idle start (last
-- login, else creation) and ID. The first index serves the idle accounts
-- (idle start before the 18-month bound), the partial one those that never
-- logged in (created before the 2-month bound): each batch reads only its
-- candidates instead of scanning the table.

CREATE INDEX accounts_idle_idx ON accounts ((COALESCE(last_login_at, created_at)), id);
CREATE INDEX accounts_never_used_idx ON accounts ((COALESCE(last_login_at, created_at)), id)
    WHERE last_login_at IS NULL;

-- They replace the indexes of 0007, which served the old query (ordered by
-- ID, so every batch read and sorted all candidates) and nothing else.
DROP INDEX accounts_lifecycle_created;
DROP INDEX accounts_lifecycle_login;
