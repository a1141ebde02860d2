// Package form holds the declarative, versioned form definitions of the form
// service: what a form asks (pages, fields, conditions, prefill sources,
// texts in de/fr/it/en), what it costs, which authentication level it needs,
// who may use it and what a submission creates. Load reads and validates
// every definition at start, so a broken one stops the service with file,
// line and reason; Definition.Validate checks the answers of a page.
//
// It owns no storage and no HTTP; conditions are parsed by package expr.
package form
