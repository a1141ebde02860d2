// Command documents is the load harness of the document service. It reports
// seals per second (PAdES B-T with an ECDSA P-256 and an RSA 2048 key, each
// seal with an RFC 3161 timestamp from the local timestamp authority over
// loopback HTTP) and downloads per second of a 1 MB document at the given
// concurrency, through the service's HTTP handler on PostgreSQL (a schema of
// its own, dropped at the end). Downloads go through a share link: the
// public path, which also counts and logs every download in a transaction,
// so it is the heavier of the two download paths.
//
// The IdP is replaced by a minimal discovery and introspection endpoint,
// because neither scenario logs anybody in.
//
//	go run ./bench/documents -duration 5s -concurrency 16
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/documents"
	"github.com/kanton/kundencenter/services/documents/seal"
	"github.com/kanton/kundencenter/services/documents/tsa"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/store/sqldb"
	"github.com/kanton/kundencenter/webkit"
)

func main() {
	duration := flag.Duration("duration", 5*time.Second, "time per scenario")
	conc := flag.Int("concurrency", 16, "concurrent clients per scenario")
	pgURL := flag.String("postgres", env("KC_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL URL")
	size := flag.Int("size", 1<<20, "size of the downloaded document in bytes")
	flag.Parse()
	if err := run(context.Background(), *duration, *conc, *pgURL, *size); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// result is one scenario's outcome.
type result struct {
	name     string
	n        int64
	errs     int64
	duration time.Duration
	lat      []time.Duration
}

func (r result) String() string {
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	pct := func(p float64) time.Duration {
		if len(r.lat) == 0 {
			return 0
		}
		return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))]
	}
	rate := float64(r.n) / r.duration.Seconds()
	return fmt.Sprintf("%-28s %8.1f/s  %7.1f/s/core  p50 %-9v p99 %-9v errors %d", r.name, rate,
		rate/float64(runtime.NumCPU()), pct(0.5).Round(100*time.Microsecond), pct(0.99).Round(100*time.Microsecond), r.errs)
}

// load runs op from conc workers for d.
func load(name string, d time.Duration, conc int, op func() error) result {
	var n, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := op(); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				mine = append(mine, time.Since(t0))
				n.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(os.Stderr, "%s: first error: %v\n", name, e)
	}
	return result{name: name, n: n.Load(), errs: errs.Load(), duration: time.Since(start), lat: lat}
}

// samplePDF is a one-page PDF as the service would seal it.
func samplePDF() []byte {
	p := fpdf.New("P", "mm", "A4", "")
	p.AddPage()
	p.SetFont("Helvetica", "", 12)
	tr := p.UnicodeTranslatorFromDescriptor("")
	p.Cell(0, 10, tr("Wohnsitzbestätigung für Jürg Müller, Zürich"))
	var b bytes.Buffer
	_ = p.Output(&b)
	return b.Bytes()
}

func run(ctx context.Context, d time.Duration, conc int, pgURL string, size int) error {
	fmt.Printf("document service bench: %d clients, %v per scenario, %d CPUs, GOMAXPROCS %d\n", conc, d, runtime.NumCPU(), runtime.GOMAXPROCS(0))

	// Seals per second with the local timestamp authority over HTTP.
	pdf := samplePDF()
	for _, kt := range []seal.KeyType{seal.ECDSA, seal.RSA} {
		pki, err := seal.NewTestPKI("Kanton Bench", kt, time.Now())
		if err != nil {
			return err
		}
		ts := httptest.NewServer(&tsa.Authority{Cert: pki.TSACert, Key: pki.TSAKey})
		s := &seal.Sealer{Key: pki.SealKey, Chain: pki.SealChain, Timestamp: tsa.Client(ts.URL, ts.Client())}
		ap := seal.Appearance{Link: "http://localhost:8083/pruefen", Lines: []string{"Kanton Bench"}}
		fmt.Println(load("seal "+string(kt)+" + TSA", d, conc, func() error {
			_, err := s.Seal(ctx, pdf, ap)
			return err
		}))
		ts.Close()
	}

	// Downloads per second of a 1 MB document on PostgreSQL.
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "bench_documents_" + hex.EncodeToString(b[:])
	db, err := sqldb.Open(ctx, pgURL, schema)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer func() {
		_, _ = db.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	}()
	idp := fakeIdP()
	defer idp.Close()
	pki, err := seal.NewTestPKI("Kanton Bench", seal.ECDSA, time.Now())
	if err != nil {
		return err
	}
	auth := &tsa.Authority{Cert: pki.TSACert, Key: pki.TSAKey}
	app := httptest.NewUnstartedServer(nil)
	defer app.Close()
	base := "http://" + app.Listener.Addr().String()
	log := slog.New(slog.DiscardHandler)
	h, err := documents.New(ctx, documents.Config{
		RP: rp.Config{Issuer: idp.URL, ClientID: "documents", ClientSecret: "secret", BaseURL: base,
			CookieKey: []byte("0123456789abcdef0123456789abcdef"), Insecure: true, Logger: log},
		DB: db, Sealer: &seal.Sealer{Key: pki.SealKey, Chain: pki.SealChain, Timestamp: auth.Stamp},
		Verifier: &seal.Verifier{}, Auth: api.NewAuthenticator(api.AuthConfig{Issuer: idp.URL, ClientID: "documents", ClientSecret: "secret"}),
	})
	if err != nil {
		return err
	}
	app.Config.Handler = h
	app.Start()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}, Timeout: 30 * time.Second}

	big := append([]byte("%PDF-1.7\n%"), bytes.Repeat([]byte("x"), size-10)...)
	body, _ := json.Marshal(map[string]any{"messageId": "bench-1", "owner": map[string]string{"kind": "person", "sub": "bench"},
		"service": "bench", "title": map[string]string{"de": "Bench"}, "documentKind": "other", "issuer": "Bench",
		"pdf": base64.StdEncoding.EncodeToString(big)})
	req, _ := http.NewRequest("POST", base+"/api/v1/documents", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer bench")
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	var delivered documents.DeliverResponse
	_ = json.NewDecoder(resp.Body).Decode(&delivered)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("delivery: %d", resp.StatusCode)
	}
	// The share link is made in the store (creating it in the UI needs a login).
	store, err := documents.OpenStore(ctx, db)
	if err != nil {
		return err
	}
	token := "bench-share-token-0123456789abcdefghijklmnop"
	sum := sha256.Sum256([]byte(token))
	now := time.Now()
	if err := store.CreateShare(ctx, documents.Share{ID: "bench", DocumentID: delivered.ID, CreatedAt: now,
		ExpiresAt: now.Add(24 * time.Hour)}, hex.EncodeToString(sum[:])); err != nil {
		return err
	}
	want := sha256.Sum256(big)
	fmt.Println(load(fmt.Sprintf("download %d KB (share link)", size>>10), d, conc, func() error {
		resp, err := hc.Get(base + "/s/" + token + "/download")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		h := sha256.New()
		if _, err := io.Copy(h, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !bytes.Equal(h.Sum(nil), want[:]) {
			return fmt.Errorf("download: %d, bytes differ", resp.StatusCode)
		}
		return nil
	}))
	return nil
}

// fakeIdP answers discovery and introspection (token "bench" has
// documents:write); nobody logs in during the bench.
func fakeIdP() *httptest.Server {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		webkit.WriteJSON(w, 200, map[string]any{"issuer": srv.URL, "authorization_endpoint": srv.URL + "/authorize",
			"token_endpoint": srv.URL + "/oauth/token", "introspection_endpoint": srv.URL + "/oauth/introspect",
			"jwks_uri": srv.URL + "/keys", "end_session_endpoint": srv.URL + "/end_session",
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"ES256"}})
	})
	mux.HandleFunc("POST /oauth/introspect", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("token") != "bench" {
			webkit.WriteJSON(w, 200, map[string]any{"active": false})
			return
		}
		webkit.WriteJSON(w, 200, map[string]any{"active": true, "client_id": "backoffice", "sub": "backoffice",
			"scope": documents.ScopeWrite, "aud": []string{"backoffice", "documents"}, "exp": time.Now().Add(time.Hour).Unix()})
	})
	return srv
}
