// Package forms is the form service ("Formulare"): a catalogue of the forms
// a person may use (personally, for an organisation or for a represented
// person), grouped and searchable; forms filled page by page with an error
// summary, conditions and answers pre-filled from the login's claims; drafts
// saved on every "Weiter" and kept for a configurable time (reminder before
// deletion); check answers with a change link per row; fees paid inside the
// form through a payment.Provider (Datatrans) and verified by its signed
// webhook or a status query, never by the browser's return; exactly one
// submission per draft; a confirmation page with the reference and a PDF
// receipt. A sent form creates a case at the status service and asks the
// IdP to send a "form-received" e-mail, both by jobs in the same database.
//
// It owns its tables (migrations/, through store/sqldb; answers, names and
// files sealed with the key ring) and its pages (templates/services/forms).
// The form definitions live in package form (format, validation) and
// package definitions (the shipped forms); conditions in package expr. It
// is a relying party of the IdP through package rp and never imports
// package idp; it holds no e-mail addresses.
package forms
