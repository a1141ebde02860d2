-- The representation a submission was sent under, for the represented person's timeline.
ALTER TABLE forms_submissions ADD COLUMN representation TEXT NOT NULL DEFAULT '';
