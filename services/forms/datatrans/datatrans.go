// Package datatrans is a payment.Provider for the Datatrans JSON API v1:
// init a transaction (POST /v1/transactions), send the browser to the
// payment page (/v1/start/{id}), accept the HMAC-signed webhook and query the
// status (GET /v1/transactions/{id}). Fees are captured at once
// (autoSettle). Package datatranstest is a fake Datatrans for tests and for
// local development.
package datatrans

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kanton/kundencenter/services/forms/payment"
)

// Sandbox and production hosts.
const (
	SandboxAPI = "https://api.sandbox.datatrans.com"
	SandboxPay = "https://pay.sandbox.datatrans.com"
	LiveAPI    = "https://api.datatrans.com"
	LivePay    = "https://pay.datatrans.com"
)

// TransactionTTL is how long a transaction id may be used for the payment
// page.
const TransactionTTL = 30 * time.Minute

// Config configures the client.
type Config struct {
	APIURL     string // e.g. SandboxAPI
	PayURL     string // e.g. SandboxPay
	MerchantID string
	Password   string       // the API password of the merchant (Basic auth)
	SignKey    string       // hex HMAC key for webhook signatures ("sign2" key)
	HTTPClient *http.Client // nil = 10 s timeout
	Now        func() time.Time
}

// Client talks to Datatrans. It is safe for concurrent use.
type Client struct {
	cfg  Config
	sign []byte
}

var _ payment.Provider = (*Client)(nil)

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	var errs []error
	for name, u := range map[string]string{"APIURL": cfg.APIURL, "PayURL": cfg.PayURL} {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			errs = append(errs, fmt.Errorf("datatrans %s: %q is not an http(s) URL", name, u))
		}
	}
	if cfg.MerchantID == "" || cfg.Password == "" {
		errs = append(errs, errors.New("datatrans: merchant id and password are required"))
	}
	key, err := hex.DecodeString(cfg.SignKey)
	if err != nil || len(key) < 16 {
		errs = append(errs, errors.New("datatrans SignKey: want the hex HMAC key of the merchant (at least 16 bytes)"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.APIURL = strings.TrimSuffix(cfg.APIURL, "/")
	cfg.PayURL = strings.TrimSuffix(cfg.PayURL, "/")
	return &Client{cfg: cfg, sign: key}, nil
}

// InitRequest is the body of POST /v1/transactions.
type InitRequest struct {
	Currency       string   `json:"currency"`
	Refno          string   `json:"refno"`
	Amount         int64    `json:"amount"`
	PaymentMethods []string `json:"paymentMethods,omitempty"`
	Language       string   `json:"language,omitempty"`
	AutoSettle     bool     `json:"autoSettle"`
	Redirect       Redirect `json:"redirect"`
	Webhook        *Webhook `json:"webhook,omitempty"`
}

// Redirect holds the return URLs of the payment page.
type Redirect struct {
	SuccessURL string `json:"successUrl"`
	CancelURL  string `json:"cancelUrl"`
	ErrorURL   string `json:"errorUrl"`
	Method     string `json:"method,omitempty"`
}

// Webhook is where Datatrans posts the transaction after authorization.
type Webhook struct {
	URL string `json:"url"`
}

// Transaction is the answer of the status API and the webhook body.
type Transaction struct {
	TransactionID string `json:"transactionId"`
	Type          string `json:"type"`   // payment, credit, card_check
	Status        string `json:"status"` // initialized … settled, canceled, failed
	Currency      string `json:"currency"`
	Refno         string `json:"refno"`
	PaymentMethod string `json:"paymentMethod,omitempty"`
	Detail        struct {
		Authorize *struct {
			Amount int64 `json:"amount"`
		} `json:"authorize,omitempty"`
		Settle *struct {
			Amount int64 `json:"amount"`
		} `json:"settle,omitempty"`
	} `json:"detail"`
}

// ErrorBody is Datatrans's error answer.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// APIError is a non-2xx answer.
type APIError struct {
	Status int
	Code   string
	Msg    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("datatrans answered %d %s: %s", e.Status, e.Code, e.Msg)
}

// Temporary reports whether retrying may help.
func (e *APIError) Temporary() bool { return e.Status >= 500 || e.Status == http.StatusConflict }

// Init registers a transaction (autoSettle) and returns the payment page.
func (c *Client) Init(ctx context.Context, req payment.InitRequest) (payment.Session, error) {
	body := InitRequest{
		Currency: req.Currency, Refno: req.Ref, Amount: req.Amount, PaymentMethods: req.Methods,
		Language: req.Lang, AutoSettle: true,
		Redirect: Redirect{SuccessURL: req.SuccessURL, CancelURL: req.CancelURL, ErrorURL: req.ErrorURL, Method: "GET"},
	}
	if req.WebhookURL != "" {
		body.Webhook = &Webhook{URL: req.WebhookURL}
	}
	var out struct {
		TransactionID string `json:"transactionId"`
	}
	start := c.cfg.Now()
	if err := c.do(ctx, http.MethodPost, "/v1/transactions", req.IdempotencyKey, body, &out); err != nil {
		return payment.Session{}, fmt.Errorf("datatrans init %s: %w", req.Ref, err)
	}
	if out.TransactionID == "" {
		return payment.Session{}, fmt.Errorf("datatrans init %s: no transactionId", req.Ref)
	}
	return payment.Session{
		PSPID:       out.TransactionID,
		RedirectURL: c.cfg.PayURL + "/v1/start/" + url.PathEscape(out.TransactionID),
		ExpiresAt:   start.Add(TransactionTTL),
	}, nil
}

// Status queries GET /v1/transactions/{id}.
func (c *Client) Status(ctx context.Context, pspID string) (payment.Event, error) {
	var tx Transaction
	if err := c.do(ctx, http.MethodGet, "/v1/transactions/"+url.PathEscape(pspID), "", nil, &tx); err != nil {
		return payment.Event{}, fmt.Errorf("datatrans status %s: %w", pspID, err)
	}
	return tx.Event(), nil
}

// SignatureHeader is the webhook's signature header.
const SignatureHeader = "Datatrans-Signature"

// VerifyWebhook checks "Datatrans-Signature: t=<unix ms>,s0=<hex>" where
// s0 = HMAC-SHA256(key, t + raw body), in constant time over the raw body,
// and decodes the transaction.
func (c *Client) VerifyWebhook(h http.Header, body []byte) (payment.Event, error) {
	if !Verify(c.sign, h.Get(SignatureHeader), body) {
		return payment.Event{}, payment.ErrBadSignature
	}
	var tx Transaction
	if err := json.Unmarshal(body, &tx); err != nil {
		return payment.Event{}, fmt.Errorf("datatrans webhook: %w", err)
	}
	if tx.TransactionID == "" {
		return payment.Event{}, errors.New("datatrans webhook: no transactionId")
	}
	return tx.Event(), nil
}

// Sign returns the signature header value for body at time t.
func Sign(key, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.UnixMilli(), 10)
	return "t=" + ts + ",s0=" + hex.EncodeToString(mac(key, ts, body))
}

// Verify checks a signature header value against body.
func Verify(key []byte, header string, body []byte) bool {
	var ts, s0 string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "s0":
			s0 = v
		}
	}
	got, err := hex.DecodeString(s0)
	if ts == "" || err != nil {
		return false
	}
	return hmac.Equal(got, mac(key, ts, body))
}

func mac(key []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts))
	m.Write(body)
	return m.Sum(nil)
}

// Event maps the transaction to the canonical payment state.
func (tx Transaction) Event() payment.Event {
	e := payment.Event{PSPID: tx.TransactionID, Ref: tx.Refno, Method: tx.PaymentMethod, Status: payment.Pending}
	switch tx.Status {
	case "authorized":
		e.Status = payment.Authorized
	case "settled", "transmitted":
		e.Status = payment.Captured
		if tx.Type == "credit" {
			e.Status = payment.Refunded
		}
	case "canceled":
		e.Status = payment.Canceled
	case "failed":
		e.Status = payment.Failed
	}
	if a := tx.Detail.Settle; a != nil {
		e.Amount = a.Amount
	} else if a := tx.Detail.Authorize; a != nil {
		e.Amount = a.Amount
	}
	return e
}

// do sends an API request with Basic auth and decodes a 2xx JSON answer.
func (c *Client) do(ctx context.Context, method, path, idemKey string, in, out any) error {
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.APIURL+path, rd)
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.cfg.MerchantID, c.cfg.Password)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return &APIError{Status: http.StatusBadGateway, Code: "UNREACHABLE", Msg: err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var eb ErrorBody
		_ = json.Unmarshal(raw, &eb)
		return &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Msg: eb.Error.Message}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
	}
	return nil
}
