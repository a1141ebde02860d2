package forms

import "github.com/kanton/kundencenter/keyring/reseal"

// SealedColumns lists the form service's columns sealed with its key ring
// (KC_FORMS_KEYRING), with the associated data of store.seal, for
// `kundencenter admin keyring reseal -service forms` (docs/keyring.md).
func SealedColumns() []reseal.Column {
	col := func(table, col, kind string) reseal.Column {
		return reseal.Simple(table, "id", col, "", func(id string, _ []string) []byte { return []byte("forms-" + kind + ":" + id) })
	}
	return []reseal.Column{
		col("forms_drafts", "answers", "draft"),
		col("forms_submissions", "answers", "submission"),
		col("forms_submissions", "submitted_by_name", "submitter"),
		col("forms_payments", "submitter", "payer"),
		col("forms_attachments", "name", "attachment-name"),
		col("forms_attachments", "data", "attachment"),
	}
}
