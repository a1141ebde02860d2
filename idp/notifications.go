package idp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
)

// MailServiceNotice is the short, general e-mail a service has sent through
// the notification endpoint (Data: Notice, ServiceName, Link, optionally
// Reference). It never carries the content of a case or document.
const MailServiceNotice = "service_notice"

// ScopeActionReceipts lets a service report, with its own
// client-credentials token, what a representative did for the represented
// person (POST /api/representation-actions).
const ScopeActionReceipts = "representation-actions:write"

// ScopeNotify is the scope a client needs to have e-mails sent.
const ScopeNotify = "notifications:send"

// Notice kinds: the texts the IdP has for services' notifications.
var NoticeKinds = []string{"case-created", "case-status-changed", "case-request", "document-delivered",
	"form-received", "draft-expiring"}

// Recipient kinds of a Notice.
const (
	RecipientPerson       = "person"
	RecipientOrganisation = "organisation"
)

// Notice is a service's request to tell a person, or the members of an
// organisation who may use the service, that something happened there.
type Notice struct {
	MessageID     string // the service's idempotency key
	RecipientKind string // RecipientPerson or RecipientOrganisation
	RecipientID   string // the person's subject at the service (subjects.go) or the organisation's ID
	Kind          string // one of NoticeKinds
	Reference     string // e.g. a case's reference number; optional
	Link          string // a page of the service
}

// OrgMembers lists the accounts of an organisation's members who may use
// a service; the delegation broker implements it.
type OrgMembers interface {
	MembersWhoMayUse(ctx context.Context, orgID, clientID string) ([]string, error)
}

// maxNoticesPerHour bounds the notifications of one service.
const maxNoticesPerHour = 20000

// noticeTTL is how long a notice's message ID is remembered.
const noticeTTL = 30 * 24 * time.Hour

// Notify sends the general e-mail of n on behalf of the client c: to the
// person's current address in their language, or to every member of the
// organisation who may use c. A recipient without an active account gets
// nothing, and the caller is not told (the services learn nothing about
// accounts from the answer). The same message ID is sent once; if sending
// fails the ID is released so a retry can succeed.
func (s *Service) Notify(ctx context.Context, c Client, n Notice, members OrgMembers) error {
	if err := checkNotice(c, n); err != nil {
		return err
	}
	// A bound per service and hour: a runaway service cannot flood people.
	if count, err := s.eph.Incr(ctx, "notify-rate:"+c.ID, time.Hour); err != nil {
		return fmt.Errorf("notice rate: %w", errors.Join(ErrUnavailable, err))
	} else if count > maxNoticesPerHour {
		return ErrRateLimited
	}
	key := "notify:" + c.ID + ":" + n.MessageID
	fresh, err := s.eph.SetNX(ctx, key, []byte{1}, noticeTTL)
	if err != nil {
		return fmt.Errorf("notice message id: %w", errors.Join(ErrUnavailable, err))
	}
	if !fresh {
		return nil // already sent
	}
	if err := s.sendNotice(ctx, c, n, members); err != nil {
		_ = s.eph.Delete(context.WithoutCancel(ctx), key)
		return err
	}
	return nil
}

func (s *Service) sendNotice(ctx context.Context, c Client, n Notice, members OrgMembers) error {
	var ids []string
	if n.RecipientKind != RecipientOrganisation {
		// The subject as the service knows it; one it was never given
		// names no one (and the service is not told).
		id, err := s.AccountForSubject(ctx, c, n.RecipientID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("recipient subject: %w", err)
		}
		if err == nil {
			ids = []string{id}
		}
	} else {
		if members == nil {
			return nil
		}
		var err error
		if ids, err = members.MembersWhoMayUse(ctx, n.RecipientID, c.ID); err != nil {
			return fmt.Errorf("members of the organisation: %w", err)
		}
	}
	var out []Outgoing
	for _, id := range ids {
		a, err := s.store.GetAccount(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("recipient account: %w", err)
		}
		if a.Status != StatusActive {
			continue
		}
		p, err := s.Personal(a)
		if err != nil {
			return err
		}
		m, err := s.mail(p.Email, a.Locale, MailServiceNotice, map[string]string{
			"Name": strings.TrimSpace(p.GivenName + " " + p.FamilyName), "Notice": n.Kind,
			"ServiceName": c.Name, "Reference": n.Reference, "Link": n.Link,
		})
		if err != nil {
			return err
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil
	}
	return s.store.EnqueueOutgoing(ctx, out...)
}

// checkNotice validates n as sent by c; the link must lead to one of the
// client's own origins (those of its redirect URIs), so the IdP's mails
// never carry a link a service could point anywhere.
func checkNotice(c Client, n Notice) error {
	ve := &ValidationError{Fields: map[string][]string{}}
	bad := func(field, msg string) { ve.Fields[field] = append(ve.Fields[field], msg) }
	if l := len(n.MessageID); l == 0 || l > 100 || !printable(n.MessageID) {
		bad("messageId", "1 to 100 printable characters")
	}
	switch n.RecipientKind {
	case RecipientPerson, RecipientOrganisation:
		if l := len(n.RecipientID); l == 0 || l > 100 || !printable(n.RecipientID) {
			bad("recipient", "the subject or organisation ID is missing or malformed")
		}
	default:
		bad("recipient/kind", `"person" or "organisation"`)
	}
	if !slices.Contains(NoticeKinds, n.Kind) {
		bad("kind", "one of "+strings.Join(NoticeKinds, ", "))
	}
	if len(n.Reference) > 40 || !printable(n.Reference) {
		bad("reference", "at most 40 printable characters")
	}
	if !linkOfClient(c, n.Link) {
		bad("link", "an absolute URL on an origin of the client's redirect URIs")
	}
	if len(ve.Fields) > 0 {
		return ve
	}
	return nil
}

func printable(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool {
		return !unicode.IsPrint(r) || unicode.Is(unicode.Bidi_Control, r)
	})
}

// linkOfClient reports whether link is an absolute http(s) URL whose origin
// is that of one of c's redirect URIs. The link must be written out
// (percent-encoded, printable ASCII without backslash): a space ends a
// link in a text mail, and browsers read a backslash as a slash where Go
// does not (found by FuzzLinkOfClient).
func linkOfClient(c Client, link string) bool {
	if strings.ContainsFunc(link, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '\\' }) {
		return false
	}
	u, err := url.Parse(link)
	if err != nil || u.User != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || len(link) > 2000 {
		return false
	}
	for _, r := range c.RedirectURIs {
		ru, err := url.Parse(r)
		if err == nil && ru.Scheme == u.Scheme && strings.EqualFold(ru.Host, u.Host) {
			return true
		}
	}
	return false
}
