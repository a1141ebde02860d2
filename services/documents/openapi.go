package documents

import (
	_ "embed"
	"net/http"
	"strings"
)

//go:embed openapi.json
var openAPISpec string

// openAPI serves the OpenAPI 3.1 description of the delivery API (public),
// with the service's own origin as server and the IdP's token endpoint.
func (s *service) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	spec := strings.NewReplacer("{{BASE}}", s.base+APIBase, "{{ISSUER}}", strings.TrimSuffix(s.cfg.RP.Issuer, "/")).Replace(openAPISpec)
	_, _ = w.Write([]byte(spec))
}
