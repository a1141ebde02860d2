package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/kanton/kundencenter/idp"
)

// Events to relying parties: Security Event Tokens (RFC 8417) pushed over
// HTTP (RFC 8935), and back-channel logout tokens (OpenID Connect
// Back-Channel Logout 1.0). Both are River jobs, signed with the IdP's
// active key when they are sent, retried with River's backoff until the
// client accepts them or MaxAttempts is reached. Delivery is at least
// once: a token carries the same jti on every attempt, so a receiver can
// drop a repeat.

// Event type URIs the tokens carry.
const (
	// BackChannelLogoutEvent is the logout token's only event (OIDC
	// Back-Channel Logout 1.0 §2.4).
	BackChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"
)

// EventMaxAttempts bounds the attempts of a SET or logout-token job; with
// River's default backoff (attempt⁴ seconds) the last one comes about three
// days after the first. An account-purged event whose job ran out is
// queued again by the next dispatch once River has cleaned the job up.
const EventMaxAttempts = 20

// EventArgs is the River job that pushes one Security Event Token.
type EventArgs struct {
	Notice idp.EventNotice `json:"notice"`
}

// Kind names the job for River.
func (EventArgs) Kind() string { return idp.OutgoingEvent }

// LogoutArgs is the River job that sends one back-channel logout token.
type LogoutArgs struct {
	Notice idp.LogoutNotice `json:"notice"`
}

// Kind names the job for River.
func (LogoutArgs) Kind() string { return idp.OutgoingLogout }

// IsEventKind reports whether an Outgoing kind is one EventJob handles.
func IsEventKind(kind string) bool { return kind == idp.OutgoingEvent || kind == idp.OutgoingLogout }

// EventJob turns an Outgoing notice (idp.OutgoingEvent or
// idp.OutgoingLogout) into its River job, for the store adapters'
// transactional insert. An event from a service_events row is unique by
// that row as long as River keeps its job, so repeated dispatches do not
// send it twice.
func EventJob(o idp.Outgoing) (river.JobArgs, *river.InsertOpts, error) {
	switch o.Kind {
	case idp.OutgoingEvent:
		var a EventArgs
		if err := json.Unmarshal(o.Sealed, &a.Notice); err != nil {
			return nil, nil, fmt.Errorf("decode event notice: %w", err)
		}
		opts := &river.InsertOpts{MaxAttempts: EventMaxAttempts}
		if a.Notice.ServiceEventID != 0 {
			opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: rivertype.JobStates()}
		}
		return a, opts, nil
	case idp.OutgoingLogout:
		var a LogoutArgs
		if err := json.Unmarshal(o.Sealed, &a.Notice); err != nil {
			return nil, nil, fmt.Errorf("decode logout notice: %w", err)
		}
		return a, &river.InsertOpts{MaxAttempts: EventMaxAttempts}, nil
	}
	return nil, nil, fmt.Errorf("not an event kind: %q", o.Kind)
}

// Signer signs a JWT with the IdP's active signing key, naming the key in
// the "kid" header and the token type in "typ" (idp/provider.KeyCache).
type Signer interface {
	SignJWT(typ string, claims any) (string, error)
}

// EventStore is what the event workers need from the durable store.
type EventStore interface {
	GetClient(ctx context.Context, id string) (idp.Client, error)
	ListServiceEventsAfter(ctx context.Context, after int64, limit int) ([]idp.ServiceEvent, error)
	MarkServiceEventDelivered(ctx context.Context, id int64, at time.Time) error
	EnqueueOutgoing(ctx context.Context, out ...idp.Outgoing) error
}

// EventsConfig configures the event workers.
type EventsConfig struct {
	Issuer string // the IdP's issuer: "iss" of every token
	Signer Signer
	Store  EventStore
	// Subjects turns an account ID into the subject a client knows
	// (idp.Subjects: pairwise per sector, or the account ID). nil: public
	// subjects only; a token for a pairwise client then fails.
	Subjects ClientSubjects
	// HTTP sends the requests; nil: a client with a 15 s timeout that
	// follows no redirects.
	HTTP *http.Client
	// Backoff, if set, replaces River's retry policy (tests).
	Backoff func(attempt int) time.Duration
	Now     func() time.Time // nil: time.Now
	Log     *slog.Logger
}

func (c EventsConfig) withDefaults() EventsConfig {
	if c.HTTP == nil {
		c.HTTP = &http.Client{Timeout: 15 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// AddEventWorkers registers the SET, logout-token and dispatch workers in ws.
func AddEventWorkers(ws *river.Workers, cfg EventsConfig) {
	cfg = cfg.withDefaults()
	river.AddWorker(ws, &EventWorker{cfg: cfg})
	river.AddWorker(ws, &LogoutWorker{cfg: cfg})
	river.AddWorker(ws, &DispatchWorker{cfg: cfg})
}

// ClientSubjects derives the subject a client sees for an account
// (idp.Subjects implements it).
type ClientSubjects interface {
	For(c idp.Client, accountID string) (string, error)
}

// clientSubject returns accountID as the client cl knows it: the one
// place where the tokens for a client get their subjects.
func (c EventsConfig) clientSubject(cl idp.Client, accountID string) (string, error) {
	if c.Subjects == nil {
		if cl.Pairwise() {
			return "", fmt.Errorf("client %q sees pairwise subjects, but no derivation is configured", cl.ID)
		}
		return accountID, nil
	}
	return c.Subjects.For(cl, accountID)
}

// ForClient returns the event notice n as its client cl receives it: the
// event's subject and every account it names (Subjects) as cl knows them.
// Every kind of Security Event Token is built from a notice converted
// here, so a pairwise client never sees an account ID.
func (c EventsConfig) ForClient(cl idp.Client, n idp.EventNotice) (idp.EventNotice, error) {
	sub, err := c.clientSubject(cl, n.Subject)
	if err != nil {
		return n, err
	}
	n.Subject = sub
	if len(n.Subjects) > 0 {
		subs := make(map[string]string, len(n.Subjects))
		for k, v := range n.Subjects {
			if subs[k], err = c.clientSubject(cl, v); err != nil {
				return n, err
			}
		}
		n.Subjects = subs
	}
	return n, nil
}

// subjectID is a subject identifier in the iss_sub format (RFC 9493 §3.2.5).
func (c EventsConfig) subjectID(sub string) map[string]string {
	return map[string]string{"format": "iss_sub", "iss": c.Issuer, "sub": sub}
}

// EventWorker pushes Security Event Tokens (RFC 8935 §2).
type EventWorker struct {
	river.WorkerDefaults[EventArgs]
	cfg EventsConfig
}

var _ river.Worker[EventArgs] = (*EventWorker)(nil)

// NextRetry applies the configured backoff, if any.
func (w *EventWorker) NextRetry(job *river.Job[EventArgs]) time.Time {
	return nextRetry(w.cfg, job.Attempt)
}

// SETClaims returns the claims of the Security Event Token for n (RFC 8417
// §2.2): the event's subject both as the SSF "sub_id" and inside the event
// (RISC 1.0 §2), as an iss_sub subject identifier. n's subjects must be
// the client's already (ForClient).
func (c EventsConfig) SETClaims(n idp.EventNotice, now time.Time) map[string]any {
	payload := map[string]any{"subject": c.subjectID(n.Subject)}
	for k, v := range n.Members {
		payload[k] = v
	}
	for k, v := range n.Subjects {
		payload[k] = c.subjectID(v)
	}
	claims := map[string]any{
		"iss": c.Issuer, "aud": n.ClientID, "iat": now.Unix(), "jti": n.JTI,
		"sub_id": c.subjectID(n.Subject),
		"events": map[string]any{n.Type: payload},
	}
	if !n.At.IsZero() {
		claims["toe"] = n.At.Unix()
	}
	return claims
}

// Work signs and pushes one SET. Any 2xx delivers it: RFC 8935 §2.2
// specifies 202 Accepted, but many receivers answer 200 or 204. 400 with
// an error object (§2.3) means the receiver will never take it: it is
// logged and settled; anything else is retried.
func (w *EventWorker) Work(ctx context.Context, job *river.Job[EventArgs]) error {
	n := job.Args.Notice
	log := w.cfg.Log.With("job_id", job.ID, "attempt", job.Attempt, "client_id", n.ClientID, "event", n.Type, "jti", n.JTI)
	c, err := w.cfg.Store.GetClient(ctx, n.ClientID)
	if errors.Is(err, idp.ErrNotFound) || (err == nil && c.EventsURI == "") {
		log.Info("security event not sent: the client has no events URI")
		return w.settle(ctx, n)
	}
	if err != nil {
		return err
	}
	forClient, err := w.cfg.ForClient(c, n)
	if err != nil {
		return fmt.Errorf("security event subject: %w", err)
	}
	token, err := w.cfg.Signer.SignJWT("secevent+jwt", w.cfg.SETClaims(forClient, w.cfg.Now()))
	if err != nil {
		return fmt.Errorf("sign security event: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.EventsURI, strings.NewReader(token))
	if err != nil {
		return river.JobCancel(fmt.Errorf("events URI: %w", err))
	}
	req.Header.Set("Content-Type", "application/secevent+jwt")
	req.Header.Set("Accept", "application/json")
	status, body, err := send(w.cfg.HTTP, req)
	if err != nil {
		log.Warn("security event not delivered, River will retry", "err", err)
		return err
	}
	switch {
	case status >= 200 && status < 300:
		log.Info("security event delivered", "status", status)
		return w.settle(ctx, n)
	case status == http.StatusBadRequest:
		var e struct {
			Err         string `json:"err"`
			Description string `json:"description"`
		}
		_ = json.Unmarshal(body, &e)
		log.Error("security event rejected by the receiver; not retried", "set_err", e.Err, "description", e.Description)
		if err := w.settle(ctx, n); err != nil {
			return err
		}
		return river.JobCancel(fmt.Errorf("receiver rejected the SET: %s", e.Err))
	}
	log.Warn("security event not delivered, River will retry", "status", status)
	return fmt.Errorf("events URI answered %d", status)
}

// settle marks the service_events row, if any, as done.
func (w *EventWorker) settle(ctx context.Context, n idp.EventNotice) error {
	if n.ServiceEventID == 0 {
		return nil
	}
	err := w.cfg.Store.MarkServiceEventDelivered(ctx, n.ServiceEventID, w.cfg.Now().UTC())
	if errors.Is(err, idp.ErrNotFound) {
		return nil
	}
	return err
}

// LogoutWorker sends back-channel logout tokens (OpenID Connect
// Back-Channel Logout 1.0 §2.5).
type LogoutWorker struct {
	river.WorkerDefaults[LogoutArgs]
	cfg EventsConfig
}

var _ river.Worker[LogoutArgs] = (*LogoutWorker)(nil)

// NextRetry applies the configured backoff, if any.
func (w *LogoutWorker) NextRetry(job *river.Job[LogoutArgs]) time.Time {
	return nextRetry(w.cfg, job.Attempt)
}

// logoutTTL is the lifetime of a logout token: the RP checks it at once.
const logoutTTL = 2 * time.Minute

// LogoutClaims returns the logout token's claims (§2.4): iss, aud, iat,
// exp, jti, the back-channel logout event, sub (the client's subject,
// converted by the worker) and sid; never a nonce.
func (c EventsConfig) LogoutClaims(n idp.LogoutNotice, now time.Time) map[string]any {
	claims := map[string]any{
		"iss": c.Issuer, "aud": n.ClientID, "iat": now.Unix(), "exp": now.Add(logoutTTL).Unix(), "jti": n.JTI,
		"events": map[string]any{BackChannelLogoutEvent: map[string]any{}},
		"sub":    n.Subject,
	}
	if n.SID != "" {
		claims["sid"] = n.SID
	}
	return claims
}

// Work signs and POSTs one logout token (§2.5: form-encoded logout_token;
// 200 or 204 means done, 400 is final, anything else is retried).
func (w *LogoutWorker) Work(ctx context.Context, job *river.Job[LogoutArgs]) error {
	n := job.Args.Notice
	log := w.cfg.Log.With("job_id", job.ID, "attempt", job.Attempt, "client_id", n.ClientID, "jti", n.JTI)
	c, err := w.cfg.Store.GetClient(ctx, n.ClientID)
	if errors.Is(err, idp.ErrNotFound) || (err == nil && c.BackChannelLogoutURI == "") {
		return nil
	}
	if err != nil {
		return err
	}
	if n.Subject, err = w.cfg.clientSubject(c, n.Subject); err != nil {
		return fmt.Errorf("logout token subject: %w", err)
	}
	token, err := w.cfg.Signer.SignJWT("logout+jwt", w.cfg.LogoutClaims(n, w.cfg.Now()))
	if err != nil {
		return fmt.Errorf("sign logout token: %w", err)
	}
	form := url.Values{"logout_token": {token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackChannelLogoutURI, strings.NewReader(form.Encode()))
	if err != nil {
		return river.JobCancel(fmt.Errorf("back-channel logout URI: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, body, err := send(w.cfg.HTTP, req)
	if err != nil {
		log.Warn("logout token not delivered, River will retry", "err", err)
		return err
	}
	switch status {
	case http.StatusOK, http.StatusNoContent:
		log.Info("logout token delivered")
		return nil
	case http.StatusBadRequest:
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &e)
		log.Error("logout token rejected by the client; not retried", "error", e.Error, "description", e.Description)
		return river.JobCancel(fmt.Errorf("client rejected the logout token: %s", e.Error))
	}
	log.Warn("logout token not delivered, River will retry", "status", status)
	return fmt.Errorf("back-channel logout URI answered %d", status)
}

// DispatchArgs is the periodic River job that queues a SET job for every
// undelivered service event (account deletions write those rows in their
// transaction).
type DispatchArgs struct{}

// Kind names the job for River.
func (DispatchArgs) Kind() string { return "service_events_dispatch" }

// DispatchWorker queues the undelivered service events.
type DispatchWorker struct {
	river.WorkerDefaults[DispatchArgs]
	cfg EventsConfig
}

var _ river.Worker[DispatchArgs] = (*DispatchWorker)(nil)

// dispatchBatch is how many undelivered events one dispatch reads per page.
const dispatchBatch = 500

// Work queues a job per undelivered event; jobs that exist already are
// not inserted again (EventJob's unique options).
func (w *DispatchWorker) Work(ctx context.Context, job *river.Job[DispatchArgs]) error {
	_, err := DispatchServiceEvents(ctx, w.cfg.Store)
	return err
}

// DispatchServiceEvents queues a SET job for every undelivered service
// event and returns how many it looked at. It pages through all pending
// events (keyset on the ID, dispatchBatch at a time): events whose jobs are
// still retrying against a failing receiver stay pending, and reading only
// the oldest page would never reach the events behind them.
func DispatchServiceEvents(ctx context.Context, store EventStore) (int, error) {
	var after int64
	total := 0
	for {
		events, err := store.ListServiceEventsAfter(ctx, after, dispatchBatch)
		if err != nil {
			return total, err
		}
		out := make([]idp.Outgoing, 0, len(events))
		for _, e := range events {
			o, err := idp.NewEventOutgoing(idp.EventNotice{JTI: "kc-se-" + strconv.FormatInt(e.ID, 10), ClientID: e.ClientID,
				Type: e.Event, Subject: e.AccountID, At: e.CreatedAt, ServiceEventID: e.ID})
			if err != nil {
				return total, err
			}
			out = append(out, o)
			after = e.ID
		}
		if err := store.EnqueueOutgoing(ctx, out...); err != nil {
			return total, fmt.Errorf("queue service events: %w", err)
		}
		total += len(events)
		if len(events) < dispatchBatch {
			return total, nil
		}
	}
}

// DispatchPeriodicJob runs the dispatch every interval and at start; it is
// unique per interval, so N instances dispatch once.
func DispatchPeriodicJob(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return DispatchArgs{}, &river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByPeriod: interval}}
		}, &river.PeriodicJobOpts{RunOnStart: true})
}

func nextRetry(cfg EventsConfig, attempt int) time.Time {
	if cfg.Backoff == nil {
		return time.Time{} // River's policy
	}
	return time.Now().Add(cfg.Backoff(attempt))
}

// send does the request and reads at most 4 KiB of the answer.
func send(c *http.Client, req *http.Request) (int, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, body, nil
}
