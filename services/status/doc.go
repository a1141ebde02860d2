// Package status is the status service ("Meine Vorgänge"): it shows the
// logged-in person the cases their requests and orders created and the
// history of each. For now it shows an empty list; cases, the back-office
// API and the status e-mails follow.
//
// It is a relying party of the IdP through package rp and never imports
// package idp.
package status
