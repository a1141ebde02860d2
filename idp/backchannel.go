package idp

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// Kinds of Outgoing beside e-mail: notices for relying parties. Their
// payload is plain JSON (EventNotice, LogoutNotice) that names accounts only
// by their opaque IDs; the notify package turns them into River jobs that
// sign and push the tokens.
const (
	OutgoingEvent  = "security_event"     // a Security Event Token (RFC 8417) for one client
	OutgoingLogout = "backchannel_logout" // a logout token (OIDC Back-Channel Logout 1.0) for one client
)

// EventRepresentationEnded is the event type pushed to the services a
// representation covered when it ends (no standard type exists; the
// namespace is the one of the authentication levels).
const EventRepresentationEnded = "urn:kanton:kundencenter:secevent:representation-ended"

// EventNotice is a Security Event Token waiting to be pushed to one client
// (RFC 8935). The token is signed when it is sent.
type EventNotice struct {
	JTI      string    `json:"jti"`       // unique per event, stable across retries (RFC 8417 §2.2)
	ClientID string    `json:"client_id"` // the audience
	Type     string    `json:"type"`      // event type URI, e.g. EventAccountPurged
	Subject  string    `json:"sub"`       // the account the event is about
	At       time.Time `json:"toe"`       // when it happened
	// ServiceEventID is the durable service_events row the event comes
	// from (account deletion), marked delivered once the client accepted;
	// 0 for events that live only in the job queue.
	ServiceEventID int64 `json:"service_event_id,omitempty"`
	// Members are further members of the event payload (e.g.
	// "representation_id"); Subjects are members that name accounts and
	// are written as subject identifiers (RFC 9493 iss_sub).
	Members  map[string]string `json:"members,omitempty"`
	Subjects map[string]string `json:"subjects,omitempty"`
}

// LogoutNotice is a back-channel logout token waiting to be sent to one
// client for one ended session.
type LogoutNotice struct {
	JTI      string `json:"jti"`
	ClientID string `json:"client_id"`
	Subject  string `json:"sub"`
	SID      string `json:"sid"` // SessionSID of the ended session
}

// NewEventOutgoing wraps an event notice for EnqueueOutgoing or a store
// method that takes Outgoing messages.
func NewEventOutgoing(n EventNotice) (Outgoing, error) {
	raw, err := json.Marshal(n)
	if err != nil {
		return Outgoing{}, fmt.Errorf("encode event notice: %w", err)
	}
	return Outgoing{Kind: OutgoingEvent, Sealed: raw}, nil
}

// SessionSID is the session identifier relying parties see in the ID
// token's and the logout token's "sid" claim (OIDC Back-Channel Logout 1.0
// §2.1). It is derived from the SSO session ID, which is the bearer value
// of the session cookie and must never leave the IdP.
func SessionSID(sessionID string) string {
	h := sha256.Sum256([]byte("kundencenter sid\x00" + sessionID))
	return base64.RawURLEncoding.EncodeToString(h[:16])
}

func sessionClientsKey(sessionID string) string { return "sessclients:" + sessionID }

// NoteSessionClient records that a session logged in to a client, so that
// the client receives a back-channel logout token when the session ends.
// A failure is logged: it must not stop a login.
func (s *Service) NoteSessionClient(ctx context.Context, sessionID, clientID string) {
	if sessionID == "" || clientID == "" {
		return
	}
	if err := s.eph.SAdd(ctx, sessionClientsKey(sessionID), clientID, s.cfg.SessionMax); err != nil {
		s.log.ErrorContext(ctx, "record session client", "client_id", clientID, "err", err)
	}
}

// backChannelLogout queues a logout token for every client that the ended
// sessions logged in to and that registered a back-channel logout URI. The
// sessions are gone already; a failure is logged and costs the clients
// their notice, never the logout.
func (s *Service) backChannelLogout(ctx context.Context, accountID string, sessionIDs []string) {
	clients := make([][]string, 0, len(sessionIDs))
	keys := make([]string, 0, len(sessionIDs))
	for _, id := range sessionIDs {
		cs, err := s.eph.SMembers(ctx, sessionClientsKey(id))
		if err != nil {
			s.log.ErrorContext(ctx, "back-channel logout: session clients", "err", err)
			cs = nil
		}
		clients = append(clients, cs)
		keys = append(keys, sessionClientsKey(id))
	}
	if len(keys) > 0 {
		_ = s.eph.Delete(ctx, keys...)
	}
	s.notifyLogout(ctx, accountID, sessionIDs, clients)
}

// notifyLogout queues the logout tokens of ended sessions whose clients
// (clients[i] for sessionIDs[i]) were already taken from the ephemeral
// store.
func (s *Service) notifyLogout(ctx context.Context, accountID string, sessionIDs []string, clients [][]string) {
	var out []Outgoing
	for i, id := range sessionIDs {
		for _, cid := range clients[i] {
			c, err := s.store.GetClient(ctx, cid)
			if err != nil || c.BackChannelLogoutURI == "" {
				continue
			}
			raw, err := json.Marshal(LogoutNotice{JTI: NewID(), ClientID: cid, Subject: accountID, SID: SessionSID(id)})
			if err != nil {
				continue
			}
			out = append(out, Outgoing{Kind: OutgoingLogout, Sealed: raw})
		}
	}
	if len(out) == 0 {
		return
	}
	if err := s.store.EnqueueOutgoing(ctx, out...); err != nil {
		s.log.ErrorContext(ctx, "back-channel logout: enqueue", "tokens", len(out), "err", err)
	}
}
