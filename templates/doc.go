// Package templates owns the server-rendered HTML of the Kundencenter: the
// page templates with their shared layout, the message catalogues (German by
// default, French, Italian and English), and the static assets (CSS, icon)
// served under /static/ with content-hashed names.
//
// It is a leaf package: it embeds and parses its files and imports no project
// package. It does not own the view models (each handler package defines one
// struct per page, embedding Page), routing, sessions or CSRF checking; it
// only renders what it is given. Every page is parsed once by Parse, which
// fails on a missing page, on a message key a template uses but a catalogue
// lacks, and on catalogues whose key sets differ.
package templates
