// Package page draws the pages of the bundled relying-party services
// (status, forms, documents): the shared layout (greeting, navigation between
// the three services, logout button), language negotiation and rendering into
// a buffer, plus the static assets and the health check.
//
// It owns no login logic (that is package rp) and no service content (each
// service defines the view model of its own pages beside its handler).
package page
