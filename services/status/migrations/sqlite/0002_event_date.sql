-- The eventDate of a case's current entry: a new message dated at or after
-- it needs no replay of the history.
ALTER TABLE status_cases ADD COLUMN event_date TEXT;
