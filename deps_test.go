// Package kundencenter_test holds the module-wide rules that no single
// package can check for itself.
package kundencenter_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/kanton/kundencenter"

// Imports no domain package may pull in, directly or through another
// package: the job queue and the store drivers belong to the wiring
// (cmd/kundencenter) and the store adapters (store/...), so that the rules
// can be built, read and tested without a database.
var (
	river   = []string{"github.com/riverqueue/river"}
	drivers = []string{"github.com/jackc/pgx", "modernc.org/sqlite", "github.com/redis/go-redis", "github.com/mattn/go-sqlite3", "github.com/lib/pq"}
)

// TestDependencyRules checks the dependency closure (`go list -deps`, the
// non-test imports) of the domain packages: no River and no store driver
// in idp, delegation, mfa and connectors, and no net/http in idp/login,
// where a login is decided apart from its web pages; no domain package in
// webkit, and no area of the IdP's pages in another.
func TestDependencyRules(t *testing.T) {
	rules := []struct {
		pkg       string
		forbidden [][]string
	}{
		{"idp", [][]string{river, drivers}},
		{"delegation", [][]string{river, drivers}},
		{"mfa", [][]string{river, drivers}},
		{"mfa/passkey", [][]string{river, drivers}},
		{"connectors", [][]string{river, drivers}},
		{"connectors/oidc", [][]string{river, drivers}},
		{"connectors/swissid", [][]string{river, drivers}},
		{"idp/login", [][]string{river, drivers, {"net/http"}}},
		// The web kit every front shares knows no domain package, and the
		// areas of the IdP's pages know the kit, not each other.
		{"webkit", [][]string{river, drivers, mod("idp", "services", "delegation", "mfa", "connectors", "store", "notify", "templates", "portal")}},
		{"idp/web/kit", [][]string{river, mod("idp/web/signin", "idp/web/account", "idp/web/orgs")}},
		{"idp/web/signin", [][]string{river, mod("idp/web/account", "idp/web/orgs")}},
		{"idp/web/account", [][]string{river, mod("idp/web/signin", "idp/web/orgs")}},
		{"idp/web/orgs", [][]string{river, mod("idp/web/signin", "idp/web/account")}},
	}
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			t.Parallel()
			deps := listDeps(t, r.pkg)
			for _, group := range r.forbidden {
				for _, bad := range group {
					var hits []string
					for _, d := range deps {
						if under(d, bad) {
							hits = append(hits, d)
						}
					}
					if len(hits) > 0 {
						t.Errorf("%s depends on %s (%d package(s), e.g. %s; %s)", r.pkg, bad, len(hits), hits[0], importers(t, r.pkg, bad))
					}
				}
			}
		})
	}
}

// TestDependencyRulesSeeTheWiring makes sure the check above sees what it forbids:
// the wiring does pull in River, the drivers and net/http.
func TestDependencyRulesSeeTheWiring(t *testing.T) {
	t.Parallel()
	deps := strings.Join(listDeps(t, "cmd/kundencenter"), "\n") + "\n"
	for _, want := range []string{"github.com/riverqueue/river\n", "github.com/jackc/pgx/v5\n", "modernc.org/sqlite\n", "github.com/redis/go-redis/v9\n", "net/http\n"} {
		if !strings.Contains(deps, want) {
			t.Errorf("go list -deps ./cmd/kundencenter lacks %s: the rule check would not see it", strings.TrimSpace(want))
		}
	}
}

// listDeps returns the import paths in the non-test dependency closure of
// the module's package pkg (a path relative to the module root).
func listDeps(t *testing.T, pkg string) []string {
	t.Helper()
	out := goList(t, "-deps", "-f", "{{.ImportPath}}", "./"+pkg)
	return strings.Fields(out)
}

// mod returns the module's import paths of the packages rel.
func mod(rel ...string) []string {
	out := make([]string, len(rel))
	for i, r := range rel {
		out[i] = module + "/" + r
	}
	return out
}

// under reports whether the import path p is path or below it.
func under(p, path string) bool { return p == path || strings.HasPrefix(p, path+"/") }

// importers names the module's packages in pkg's closure that import a
// package under dep directly, to tell where a forbidden import comes in.
func importers(t *testing.T, pkg, dep string) string {
	t.Helper()
	out := goList(t, "-deps", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "./"+pkg)
	var via []string
	for _, line := range strings.Split(out, "\n") {
		p, imports, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(p, module) {
			continue
		}
		for _, i := range strings.Fields(imports) {
			if under(i, dep) {
				via = append(via, strings.TrimPrefix(p, module+"/"))
				break
			}
		}
	}
	if len(via) == 0 {
		return "through third-party packages"
	}
	return "imported by " + strings.Join(via, ", ")
}

func goList(t *testing.T, args ...string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	cmd := exec.Command(goBin, append([]string{"list"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return string(out)
}
