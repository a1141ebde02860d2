// Package datatranstest is a fake Datatrans (JSON API v1) for tests and for
// `serve`: it registers transactions, shows a small payment page with Pay,
// Cancel and Fail, posts signed webhooks and answers status queries. Fault
// switches reproduce what goes wrong in real life: a late, dropped, doubled,
// early or mis-signed webhook, one 5xx answer and an expired transaction
// (with a fake clock).
package datatranstest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/services/forms/datatrans"
)

// Faults switch on misbehaviour; the zero value is a well-behaved Datatrans.
type Faults struct {
	LateWebhook    bool // hold webhooks until Release
	DropWebhook    bool // never send webhooks
	DoubleWebhook  bool // send every webhook twice
	EarlyWebhook   bool // send an "initialized" webhook before init answers
	BadSignature   bool // sign webhooks with a wrong key
	FailNextAPI    int  // answer the next n API calls with 500
	StaleAfterward bool // after the final webhook, send an older "authorized" one
}

// Server is the fake. Create it with New; it is an http.Handler.
type Server struct {
	MerchantID, Password string
	SignKey              []byte
	// Client posts the webhooks; nil = http.DefaultClient.
	Client *http.Client

	mu      sync.Mutex
	url     string
	now     func() time.Time
	faults  Faults
	txs     map[string]*tx
	refnos  map[string]string
	idem    map[string]idemEntry
	held    []delivery
	sent    []Delivery
	settled map[string]int // transaction id → number of settlements (charges)
}

type tx struct {
	datatrans.Transaction
	amount   int64
	methods  []string
	redirect datatrans.Redirect
	lang     string // of the payment page, from the init request
	webhook  string
	created  time.Time
}

type idemEntry struct {
	hash   [32]byte
	status int
	body   []byte
}

type delivery struct {
	url  string
	body []byte
	bad  bool
}

// Delivery is a webhook the fake posted, with the answer's status.
type Delivery struct {
	TransactionID string
	Status        string // the transaction status in the body
	Answer        int    // HTTP status of the receiver, 0 on a network error
}

// New returns a fake with a random sign key, merchant "1100000000" and
// password "fake-password".
func New() *Server {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &Server{
		MerchantID: "1100000000", Password: "fake-password", SignKey: key,
		now: time.Now, txs: map[string]*tx{}, refnos: map[string]string{}, idem: map[string]idemEntry{},
		settled: map[string]int{},
	}
}

// URL is the base URL the fake is served at, once known (set by
// SetURL); tests compare payment page URLs with it.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// SetURL records where the fake is served.
func (s *Server) SetURL(u string) {
	s.mu.Lock()
	s.url = u
	s.mu.Unlock()
}

// Start serves a new fake on loopback until the test ends and returns it
// with a client configuration that points at it.
func Start(t testing.TB) (*Server, datatrans.Config) {
	s := New()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.SetURL(srv.URL)
	return s, datatrans.Config{APIURL: srv.URL, PayURL: srv.URL, MerchantID: s.MerchantID, Password: s.Password, SignKey: s.SignKeyHex()}
}

// SignKeyHex is the sign key as the client's configuration wants it.
func (s *Server) SignKeyHex() string { return hex.EncodeToString(s.SignKey) }

// SetFaults replaces the fault switches.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// SetNow replaces the clock (for expiry).
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// Release sends the webhooks held by LateWebhook.
func (s *Server) Release() {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	for _, d := range held {
		s.post(d)
	}
}

// Deliveries returns the webhooks posted so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// Charges returns how many times a transaction's money was taken.
func (s *Server) Charges(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settled[id]
}

// Transactions returns the number of registered transactions.
func (s *Server) Transactions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.txs)
}

// Complete finishes the payment page of transaction id as a browser would
// with outcome "success", "cancel" or "fail" and method (e.g. "TWI"); it
// returns the URL the browser is sent back to.
func (s *Server) Complete(id, outcome, method string) (string, error) {
	return s.complete(id, outcome, method)
}

// ServeHTTP routes the fake's endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/transactions", s.api(s.init))
	mux.HandleFunc("GET /v1/transactions/{id}", s.api(s.status))
	mux.HandleFunc("POST /v1/transactions/{id}/settle", s.api(s.settle))
	mux.HandleFunc("POST /v1/transactions/{id}/cancel", s.api(s.cancel))
	mux.HandleFunc("GET /v1/start/{id}", s.page)
	mux.HandleFunc("POST /v1/start/{id}", s.submit)
	mux.ServeHTTP(w, r)
}

// api checks Basic auth and the 5xx fault before h.
func (s *Server) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != s.MerchantID || p != s.Password {
			apiError(w, http.StatusUnauthorized, "UNAUTHORIZED", "wrong merchant id or password")
			return
		}
		s.mu.Lock()
		fail := s.faults.FailNextAPI > 0
		if fail {
			s.faults.FailNextAPI--
		}
		s.mu.Unlock()
		if fail {
			apiError(w, http.StatusInternalServerError, "SERVER_ERROR", "fault switch: one 5xx")
			return
		}
		h(w, r)
	}
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	var eb datatrans.ErrorBody
	eb.Error.Code, eb.Error.Message = code, msg
	writeJSON(w, status, eb)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) init(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	key := r.Header.Get("Idempotency-Key")
	sum := sha256.Sum256(raw)
	s.mu.Lock()
	if e, ok := s.idem[key]; ok && key != "" {
		s.mu.Unlock()
		if e.hash != sum {
			apiError(w, http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED", "same Idempotency-Key, other body")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(e.status)
		_, _ = w.Write(e.body)
		return
	}
	s.mu.Unlock()
	var req datatrans.InitRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "INVALID_JSON_PAYLOAD", err.Error())
		return
	}
	var problems []string
	if req.Currency != "CHF" {
		problems = append(problems, "currency")
	}
	if req.Amount <= 0 {
		problems = append(problems, "amount")
	}
	if req.Refno == "" || len(req.Refno) > 40 {
		problems = append(problems, "refno")
	}
	if req.Redirect.SuccessURL == "" || req.Redirect.CancelURL == "" || req.Redirect.ErrorURL == "" {
		problems = append(problems, "redirect")
	}
	if len(problems) > 0 {
		apiError(w, http.StatusBadRequest, "INVALID_PROPERTY", strings.Join(problems, ", "))
		return
	}
	s.mu.Lock()
	if _, dup := s.refnos[req.Refno]; dup {
		s.mu.Unlock()
		apiError(w, http.StatusBadRequest, "DUPLICATE_REFNO", "refno already used")
		return
	}
	id := newID()
	t := &tx{amount: req.Amount, methods: req.PaymentMethods, redirect: req.Redirect, lang: strings.ToLower(req.Language), created: s.now()}
	t.TransactionID, t.Type, t.Status, t.Currency, t.Refno = id, "payment", "initialized", req.Currency, req.Refno
	if req.Webhook != nil {
		t.webhook = req.Webhook.URL
	}
	s.txs[id] = t
	s.refnos[req.Refno] = id
	early := s.faults.EarlyWebhook
	var d []delivery
	if early {
		d = s.webhooksLocked(t)
	}
	body, _ := json.Marshal(map[string]string{"transactionId": id})
	if key != "" {
		s.idem[key] = idemEntry{hash: sum, status: http.StatusCreated, body: body}
	}
	s.mu.Unlock()
	for _, x := range d {
		s.post(x)
	}
	w.Header().Set("Location", "/v1/transactions/"+id)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(body)
}

// lookup returns a copy of a transaction, marking it failed once expired.
func (s *Server) lookup(id string) (datatrans.Transaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.txs[id]
	if !ok {
		return datatrans.Transaction{}, false
	}
	s.expireLocked(t)
	return t.Transaction, true
}

func (s *Server) expireLocked(t *tx) {
	if t.Status == "initialized" && s.now().Sub(t.created) > datatrans.TransactionTTL {
		t.Status = "failed"
	}
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	t, ok := s.lookup(r.PathValue("id"))
	if !ok {
		apiError(w, http.StatusNotFound, "TRANSACTION_NOT_FOUND", "no such transaction")
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) settle(w http.ResponseWriter, r *http.Request) {
	s.followUp(w, r.PathValue("id"), "settled", "authorized")
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	s.followUp(w, r.PathValue("id"), "canceled", "authorized", "initialized")
}

// followUp moves a transaction in one of the states from to the state to
// (settle, cancel); settling counts as a charge.
func (s *Server) followUp(w http.ResponseWriter, id, to string, from ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.txs[id]
	switch {
	case !ok:
		apiError(w, http.StatusNotFound, "TRANSACTION_NOT_FOUND", "no such transaction")
	case !slices.Contains(from, t.Status):
		apiError(w, http.StatusBadRequest, "INVALID_TRANSACTION_STATUS", t.Status)
	default:
		t.Status = to
		if to == "settled" {
			s.settled[id]++
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

var methodNames = map[string]string{"TWI": "TWINT", "PFC": "PostFinance Pay", "VIS": "Visa", "ECA": "Mastercard"}

// pageTexts are the payment page's texts in the languages Datatrans
// offers; the language passed in the init request chooses (German if it
// passes none or another).
var pageTexts = map[string]struct{ Title, Heading, Expired, Amount, Methods, Pay, Cancel, Fail string }{
	"de": {"Zahlung – Datatrans (Testumgebung)", "Zahlung (Testumgebung)", "Diese Zahlung ist abgelaufen.", "Betrag",
		"Zahlungsmittel", "Bezahlen", "Abbrechen", "Zahlung fehlschlagen lassen"},
	"fr": {"Paiement – Datatrans (environnement de test)", "Paiement (environnement de test)", "Ce paiement a expiré.", "Montant",
		"Moyen de paiement", "Payer", "Annuler", "Faire échouer le paiement"},
	"it": {"Pagamento – Datatrans (ambiente di test)", "Pagamento (ambiente di test)", "Questo pagamento è scaduto.", "Importo",
		"Mezzo di pagamento", "Pagare", "Annullare", "Far fallire il pagamento"},
	"en": {"Payment – Datatrans (test environment)", "Payment (test environment)", "This payment has expired.", "Amount",
		"Payment method", "Pay", "Cancel", "Let the payment fail"},
}

var pageTmpl = template.Must(template.New("p").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.T.Title}}</title></head>
<body><main>
<h1>{{.T.Heading}}</h1>
{{if .Expired}}<p>{{.T.Expired}}</p>
{{else}}<p>{{.T.Amount}}: CHF {{.Amount}}</p>
<form method="post">
<fieldset><legend>{{.T.Methods}}</legend>
{{range $i, $m := .Methods}}<div><input type="radio" id="m-{{$m.Code}}" name="method" value="{{$m.Code}}"{{if eq $i 0}} checked{{end}}> <label for="m-{{$m.Code}}">{{$m.Name}}</label></div>
{{end}}</fieldset>
<button type="submit" name="outcome" value="success">{{.T.Pay}}</button>
<button type="submit" name="outcome" value="cancel">{{.T.Cancel}}</button>
<button type="submit" name="outcome" value="fail">{{.T.Fail}}</button>
</form>{{end}}
</main></body></html>`))

type method struct{ Code, Name string }

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	t, ok := s.txs[r.PathValue("id")]
	var data struct {
		Lang    string
		T       any
		Amount  string
		Methods []method
		Expired bool
	}
	if ok {
		data.Lang = t.lang
		if _, known := pageTexts[data.Lang]; !known {
			data.Lang = "de"
		}
		data.T = pageTexts[data.Lang]
		s.expireLocked(t)
		data.Expired = t.Status != "initialized"
		data.Amount = fmt.Sprintf("%d.%02d", t.amount/100, t.amount%100)
		codes := t.methods
		if len(codes) == 0 {
			codes = []string{"TWI", "PFC", "VIS", "ECA"}
		}
		for _, c := range codes {
			data.Methods = append(data.Methods, method{c, methodNames[c]})
		}
	}
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTmpl.Execute(w, data)
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	back, err := s.complete(r.PathValue("id"), r.PostFormValue("outcome"), r.PostFormValue("method"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (s *Server) complete(id, outcome, method string) (string, error) {
	s.mu.Lock()
	t, ok := s.txs[id]
	if !ok {
		s.mu.Unlock()
		return "", fmt.Errorf("no transaction %q", id)
	}
	s.expireLocked(t)
	back := t.redirect.ErrorURL
	if t.Status == "initialized" {
		switch outcome {
		case "success":
			t.Status, t.PaymentMethod = "settled", method // autoSettle
			s.settled[id]++
			back = t.redirect.SuccessURL
		case "cancel":
			t.Status = "canceled"
			back = t.redirect.CancelURL
		default:
			t.Status = "failed"
		}
	}
	d := s.webhooksLocked(t)
	if s.faults.StaleAfterward && t.Status == "settled" {
		stale := *t
		stale.Status = "authorized"
		d = append(d, s.webhooksLocked(&stale)...)
	}
	s.mu.Unlock()
	for _, x := range d {
		s.post(x)
	}
	sep := "?"
	if strings.Contains(back, "?") {
		sep = "&"
	}
	return back + sep + "datatransTrxId=" + id, nil
}

// webhooksLocked returns the deliveries of t's current state that are due
// now (held ones are queued for Release).
func (s *Server) webhooksLocked(t *tx) []delivery {
	if t.webhook == "" || s.faults.DropWebhook {
		return nil
	}
	body, _ := json.Marshal(t.Transaction)
	d := delivery{url: t.webhook, body: body, bad: s.faults.BadSignature}
	ds := []delivery{d}
	if s.faults.DoubleWebhook {
		ds = append(ds, d)
	}
	if s.faults.LateWebhook {
		s.held = append(s.held, ds...)
		return nil
	}
	return ds
}

// post sends one webhook, signed (or mis-signed) over the raw body.
func (s *Server) post(d delivery) {
	key := s.SignKey
	if d.bad {
		key = []byte("not-the-merchant-sign-key-000000")
	}
	s.mu.Lock()
	now := s.now()
	s.mu.Unlock()
	var tr datatrans.Transaction
	_ = json.Unmarshal(d.body, &tr)
	rec := Delivery{TransactionID: tr.TransactionID, Status: tr.Status}
	req, err := http.NewRequest(http.MethodPost, d.url, bytes.NewReader(d.body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(datatrans.SignatureHeader, datatrans.Sign(key, d.body, now))
		c := s.Client
		if c == nil {
			c = http.DefaultClient
		}
		if resp, err := c.Do(req); err == nil {
			rec.Answer = resp.StatusCode
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	s.mu.Lock()
	s.sent = append(s.sent, rec)
	s.mu.Unlock()
}

func newID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	n := uint64(0)
	for _, x := range b[:8] {
		n = n<<8 | uint64(x)
	}
	return fmt.Sprintf("%018d", n%1_000_000_000_000_000_000)
}
