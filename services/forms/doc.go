// Package forms is the form service ("Formulare"): customer-friendly forms,
// pre-filled from the profile, saved as drafts, reviewed, confirmed and paid
// where a fee is due. For now it shows an empty catalogue; form definitions,
// drafts, submissions and payment follow.
//
// It is a relying party of the IdP through package rp and never imports
// package idp.
package forms
