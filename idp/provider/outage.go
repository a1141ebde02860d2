package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/kanton/kundencenter/idp"
)

// An outage of PostgreSQL or Redis is transient: the token, introspection,
// revocation and userinfo endpoints then answer 503 with the OAuth error
// temporarily_unavailable, never invalid_grant or invalid_client (a
// relying party drops the user's grant on those: a mass logout), and no
// error description carries internal text (dial errors, addresses).

// errTemporarilyUnavailable is the OAuth error of an outage.
const errTemporarilyUnavailable = "temporarily_unavailable"

// retryAfter is the Retry-After of a 503, in seconds.
const retryAfter = "5"

type outageKey struct{}

// withOutageFlag returns a context in which noteOutage records an outage.
func withOutageFlag(ctx context.Context) (context.Context, *atomic.Bool) {
	f := new(atomic.Bool)
	return context.WithValue(ctx, outageKey{}, f), f
}

// noteOutage records in the request's context that err is an outage of a
// backing store (idp.ErrUnavailable), whatever answer the library makes
// of the error; it reports whether it was one.
func noteOutage(ctx context.Context, err error) bool {
	if err == nil || !errors.Is(err, idp.ErrUnavailable) {
		return false
	}
	if f, ok := ctx.Value(outageKey{}).(*atomic.Bool); ok {
		f.Store(true)
	}
	return true
}

// storesDown reports whether PostgreSQL or Redis fails to answer a ping
// now: the check for errors whose cause the library hid.
func (p *Provider) storesDown(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	return p.store.Ping(ctx) != nil || p.eph.Ping(ctx) != nil
}

// finishOutage rewrites a recorded response of a client endpoint: an
// outage noted during the request, or an error answer that may come from
// one while a store is down, becomes 503 temporarily_unavailable; any
// other server error loses its description.
func (p *Provider) finishOutage(r *http.Request, outage bool, rec *recorder) {
	var e struct {
		Error string `json:"error"`
	}
	if rec.status >= 400 {
		_ = json.Unmarshal(rec.body.Bytes(), &e)
	}
	if !outage && rec.status >= 400 {
		switch e.Error {
		case string(oidc.ServerError), string(oidc.InvalidGrant), string(oidc.InvalidClient), string(oidc.AccessDenied), "":
			outage = p.storesDown(r.Context())
		}
	}
	switch {
	case outage:
		p.log.WarnContext(r.Context(), "request failed: a store is unavailable", "path", r.URL.Path, "answer", e.Error)
		rec.status = http.StatusServiceUnavailable
		rec.header = http.Header{"Retry-After": {retryAfter}}
		rec.body.Reset()
		_ = json.NewEncoder(&rec.body).Encode(&oidc.Error{ErrorType: errTemporarilyUnavailable,
			Description: "the service is temporarily unavailable; please try again shortly"})
	case rec.status >= 500:
		rec.header.Del("Content-Length")
		rec.body.Reset()
		_ = json.NewEncoder(&rec.body).Encode(&oidc.Error{ErrorType: oidc.ServerError, Description: "internal error"})
	default:
		return
	}
	rec.header.Set("Content-Type", "application/json")
}
