// Package health serves liveness and readiness: GET /livez answers while
// the process runs, GET /readyz runs the dependency checks a program hands
// it (database, Redis, signing keys loaded) and answers 503 with the names
// of the failed checks, never their error text; /healthz stays an alias of
// /livez for existing probes. It knows no store: each check is a function
// the caller wires in cmd.
package health
