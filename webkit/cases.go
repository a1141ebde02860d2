package webkit

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
)

// Case maps an error (errors.Is) to the answer a page gives: the status,
// the message key and, for a form, the field it belongs to. Logged cases
// are logged at Level with the request ID.
type Case struct {
	Err    error
	Status int
	Field  string
	Key    string
	Level  slog.Level
	Logged bool
}

// LogAt marks a case as logged at level l.
func (c Case) LogAt(l slog.Level) Case { c.Level, c.Logged = l, true; return c }

// Match is the one mapping of an error to a page's answer: the first
// case of the lists, in order, that err matches. Anything else is a 500
// with fallbackKey, logged as an error with the request ID (the page
// shows only the ID).
func Match(ctx context.Context, log *slog.Logger, err error, fallbackKey string, lists ...[]Case) Case {
	for _, cases := range lists {
		for _, c := range cases {
			if !errors.Is(err, c.Err) {
				continue
			}
			if c.Logged {
				log.Log(ctx, c.Level, "request refused", "err", err, "request_id", RequestID(ctx))
			}
			return c
		}
	}
	log.ErrorContext(ctx, "request failed", "err", err, "request_id", RequestID(ctx))
	return Case{Err: err, Status: http.StatusInternalServerError, Key: fallbackKey}
}
