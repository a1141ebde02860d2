// Package docs embeds the documents the IdP serves itself: the integration
// guide for the canton's service teams (at /integration).
package docs

import _ "embed"

// IntegrationGuide is integrating-services.md, in Markdown.
//
//go:embed integrating-services.md
var IntegrationGuide string
