package documents

import (
	_ "embed"
	"net/http"
	"strings"
)

//go:embed openapi.json
var openAPISpec string

// openAPI serves the OpenAPI 3.1 description of the delivery API (public),
// with the service's own origin as server.
func (s *service) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write([]byte(strings.ReplaceAll(openAPISpec, "{{BASE}}", s.base+APIBase)))
}
