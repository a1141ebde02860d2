// Package documents is the document service ("Meine Dokumente"): a personal
// inbox of register extracts, certificates and other documents with an
// electronic seal, to download, keep and pass on. For now it shows an empty
// inbox; delivery API, sealing and sharing follow.
//
// It is a relying party of the IdP through package rp and never imports
// package idp.
package documents
