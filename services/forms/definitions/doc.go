// Package definitions embeds the form definitions the service ships with:
// categories.yaml and one file "<id>.v<version>.yaml" per form version
// (see package form for the format). A new version of a form is a new file;
// the old one stays while drafts started on it may exist.
package definitions

import "embed"

// FS holds the definition files.
//
//go:embed *.yaml
var FS embed.FS
