package health

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Check is one readiness check: Run returns nil when the dependency Name
// ("postgres", "redis", "keys", "database") can serve.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Timeout bounds each check of a readiness probe.
const Timeout = 2 * time.Second

// Report is the JSON body of /readyz.
type Report struct {
	Status string            `json:"status"`           // "ok" or "unavailable"
	Checks map[string]string `json:"checks"`           // check name: "ok" or "failed"
	Failed []string          `json:"failed,omitempty"` // the failed checks, in the order given
}

// Run runs the checks concurrently, each bounded by Timeout, and reports
// their outcome; the failures are logged with their error (the report
// carries only the names).
func Run(ctx context.Context, log *slog.Logger, checks []Check) Report {
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, Timeout)
			defer cancel()
			errs[i] = c.Run(cctx)
		})
	}
	wg.Wait()
	r := Report{Status: "ok", Checks: make(map[string]string, len(checks))}
	for i, c := range checks {
		if errs[i] != nil {
			r.Status = "unavailable"
			r.Checks[c.Name] = "failed"
			r.Failed = append(r.Failed, c.Name)
			if log != nil {
				log.WarnContext(ctx, "readiness check failed", "check", c.Name, "err", errs[i])
			}
			continue
		}
		r.Checks[c.Name] = "ok"
	}
	return r
}

// Live answers 200 "ok": the process runs and serves HTTP.
func Live(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// Ready returns the /readyz handler over checks: 200 with the report when
// every check passes, 503 naming the failed ones otherwise.
func Ready(log *slog.Logger, checks ...Check) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rep := Run(r.Context(), log, checks)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if rep.Status != "ok" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(rep)
	}
}

// Mount registers GET /livez, GET /healthz (its alias) and GET /readyz
// over checks on mux.
func Mount(mux *http.ServeMux, log *slog.Logger, checks ...Check) {
	mux.HandleFunc("GET /livez", Live)
	mux.HandleFunc("GET /healthz", Live)
	mux.Handle("GET /readyz", Ready(log, checks...))
}

// Wrap serves /livez, /healthz and /readyz over checks in front of next,
// which gets every other request.
func Wrap(next http.Handler, log *slog.Logger, checks ...Check) http.Handler {
	mux := http.NewServeMux()
	Mount(mux, log, checks...)
	mux.Handle("/", next)
	return mux
}
