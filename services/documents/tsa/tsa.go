// Package tsa is an RFC 3161 time-stamp authority for development and tests
// (served over HTTP as application/timestamp-query → application/timestamp-reply)
// and a client for any RFC 3161 authority, used for the signature time-stamp
// of the document seal.
package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/digitorus/timestamp"
)

// Authority issues time-stamp tokens signed by Key (certificate Cert, with
// the critical timeStamping extended key usage).
type Authority struct {
	Cert   *x509.Certificate
	Key    crypto.Signer
	Chain  []*x509.Certificate // intermediates to include, may be empty
	Policy asn1.ObjectIdentifier
	Now    func() time.Time
}

// pkcs7Mu serialises the parsing of github.com/digitorus/pkcs7, whose BER
// decoder updates a package-level counter (a data race otherwise).
var pkcs7Mu sync.Mutex

func parseResponse(b []byte) (*timestamp.Timestamp, error) {
	pkcs7Mu.Lock()
	defer pkcs7Mu.Unlock()
	return timestamp.ParseResponse(b)
}

// policy is a private test policy OID when none is configured.
var policy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 1}

// Respond answers a DER TimeStampReq with a DER TimeStampResp.
func (a *Authority) Respond(req []byte) ([]byte, error) {
	q, err := timestamp.ParseRequest(req)
	if err != nil {
		return nil, fmt.Errorf("time-stamp request: %w", err)
	}
	if q.HashAlgorithm != crypto.SHA256 && q.HashAlgorithm != crypto.SHA384 && q.HashAlgorithm != crypto.SHA512 {
		return timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.BadAlgorithm)
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	pol := a.Policy
	if pol == nil {
		pol = policy
	}
	t := timestamp.Timestamp{
		HashAlgorithm:     q.HashAlgorithm,
		HashedMessage:     q.HashedMessage,
		Time:              now().UTC().Truncate(time.Second),
		Accuracy:          time.Second,
		SerialNumber:      serial,
		Policy:            pol,
		Nonce:             q.Nonce,
		AddTSACertificate: q.Certificates,
		Certificates:      a.Chain,
	}
	pkcs7Mu.Lock()
	defer pkcs7Mu.Unlock()
	return t.CreateResponseWithOpts(a.Cert, a.Key, crypto.SHA256)
}

// Stamp returns a token for digest directly, without HTTP (in-process use).
func (a *Authority) Stamp(_ context.Context, digest []byte) ([]byte, error) {
	req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest, Certificates: true}).Marshal()
	if err != nil {
		return nil, err
	}
	resp, err := a.Respond(req)
	if err != nil {
		return nil, err
	}
	ts, err := parseResponse(resp)
	if err != nil {
		return nil, err
	}
	return ts.RawToken, nil
}

// ServeHTTP is the RFC 3161 HTTP transport.
func (a *Authority) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/timestamp-query" {
		http.Error(w, "POST application/timestamp-query expected", http.StatusBadRequest)
		return
	}
	req, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	resp, err := a.Respond(req)
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(resp)
}

// Client returns a function that asks the authority at url for a token over
// a SHA-256 digest (with a nonce, certificates included).
func Client(url string, hc *http.Client) func(ctx context.Context, digest []byte) ([]byte, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	return func(ctx context.Context, digest []byte) ([]byte, error) {
		nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
		if err != nil {
			return nil, err
		}
		req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest, Certificates: true, Nonce: nonce}).Marshal()
		if err != nil {
			return nil, err
		}
		hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req))
		if err != nil {
			return nil, err
		}
		hr.Header.Set("Content-Type", "application/timestamp-query")
		resp, err := hc.Do(hr)
		if err != nil {
			return nil, fmt.Errorf("time-stamp authority: %w", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("time-stamp authority: HTTP %d", resp.StatusCode)
		}
		ts, err := parseResponse(body)
		if err != nil {
			return nil, fmt.Errorf("time-stamp authority: %w", err)
		}
		if !bytes.Equal(ts.HashedMessage, digest) {
			return nil, errors.New("time-stamp authority stamped another digest")
		}
		if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 {
			return nil, errors.New("time-stamp authority answered with another nonce")
		}
		return ts.RawToken, nil
	}
}
