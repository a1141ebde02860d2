package idp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// HasPassword reports whether the account's owner ever chose a password.
// An account opened through an upstream login (RegisterFederated) gets the
// hash of a random secret nobody knows, so that a password login fails
// like any wrong password, and a zero PasswordChangedAt; Reset sets a real
// password and the time. Such an account can log in only through its
// links until then, so its last link cannot be removed.
func (a Account) HasPassword() bool { return !a.PasswordChangedAt.IsZero() }

// FederatedInput is what a person confirms to open an account after a
// first login through an upstream provider: the names and e-mail address
// pre-filled from the provider's claims, possibly edited.
type FederatedInput struct {
	GivenName, FamilyName, Email string
	// EmailVerified is true when the provider vouched for exactly this
	// address (the person did not change it): the account is active at
	// once. Otherwise the usual activation mail confirms the address.
	EmailVerified bool
	Locale        string
	IP            string
	ReturnTo      string // optional: the pending authorize request, carried in the activation link
	// Link is the upstream login to link; AccountID and Sealed are filled in.
	Link ExternalLink
	// LinkPersonal, if set, is sealed into the link (a birth date the
	// provider vouched for).
	LinkPersonal *LinkPersonal
}

// RegisterFederated validates the input and opens an account without a
// password of its own (see Account.HasPassword), linked to the upstream
// login in in.Link. With a verified address the account is active at
// once; otherwise it is pending and the activation mail goes out in the
// same transaction as the account.
//
// If the address already has an account, nothing is created: with a
// verified address the caller gets a ValidationError on "email"
// (err.fed_email_taken: the provider proved the address belongs to this
// person, so saying so reveals nothing to a stranger; the person should
// link the existing account instead), with an unverified one the owner is
// mailed as by Register and the caller gets a zero Account and no error,
// the same answer as for a new pending account (enumeration safety).
//
// ErrConflict if the upstream login was linked meanwhile; the account is
// then removed again, so no account without its link remains.
func (s *Service) RegisterFederated(ctx context.Context, in FederatedInput) (Account, error) {
	in.GivenName = strings.TrimSpace(in.GivenName)
	in.FamilyName = strings.TrimSpace(in.FamilyName)
	email := NormalizeEmail(in.Email)
	v := &ValidationError{}
	for _, f := range []struct{ field, val string }{{"given_name", in.GivenName}, {"family_name", in.FamilyName}} {
		switch {
		case f.val == "":
			v.add(f.field, "err.required")
		case utf8.RuneCountInString(f.val) > maxNameLen || BadText(f.val):
			v.add(f.field, "err.name_too_long")
		}
	}
	switch {
	case email == "":
		v.add("email", "err.required")
	case !ValidEmail(email):
		v.add("email", "err.email_invalid")
	}
	if err := v.orNil(); err != nil {
		return Account{}, err
	}
	if in.Link.Connector == "" || in.Link.Issuer == "" || in.Link.Subject == "" {
		return Account{}, errors.New("register federated: the link lacks connector, issuer or subject")
	}
	if err := s.allow(ctx, []Rule{s.cfg.Limits.RegisterPerIP}, []string{in.IP}); err != nil {
		return Account{}, err
	}
	locale := in.Locale
	if locale == "" {
		locale = "de"
	}
	index := s.EmailIndex(email)
	if existing, err := s.store.GetAccountByEmailIndex(ctx, index); err == nil {
		if in.EmailVerified {
			v.add("email", "err.fed_email_taken")
			return Account{}, v
		}
		return Account{}, s.mailExisting(ctx, existing, locale)
	} else if !errors.Is(err, ErrNotFound) {
		return Account{}, fmt.Errorf("look up e-mail: %w", err)
	}
	// A password nobody knows: a password login fails as for any wrong
	// password (same cost), and a reset link sets a real one.
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return Account{}, err
	}
	hash, err := s.hasher.Hash(ctx, base64.RawURLEncoding.EncodeToString(secret))
	if err != nil {
		return Account{}, fmt.Errorf("hash password: %w", err)
	}
	now := s.Now()
	for attempt := 0; ; attempt++ {
		a := Account{ID: NewID(), KontoID: NewKontoID(), EmailIndex: index, PasswordHash: hash,
			Status: StatusPending, Locale: locale, CreatedAt: now}
		if in.EmailVerified {
			a.Status, a.ActivatedAt = StatusActive, now
		}
		if err := s.seal(&a, Personal{GivenName: in.GivenName, FamilyName: in.FamilyName, Email: email}); err != nil {
			return Account{}, err
		}
		var (
			activation ActionToken
			out        []Outgoing
		)
		if !in.EmailVerified {
			tok, tokHash := newToken()
			link := s.cfg.BaseURL + "/activate?token=" + tok
			if in.ReturnTo != "" {
				link += "&authRequestID=" + url.QueryEscape(in.ReturnTo)
			}
			m, err := s.mail(email, locale, MailActivate, map[string]string{
				"Name": in.GivenName + " " + in.FamilyName, "KontoID": a.KontoID, "Link": link,
				"ValidHours": strconv.Itoa(int(s.cfg.ActivationTTL.Hours())),
			})
			if err != nil {
				return Account{}, err
			}
			activation = ActionToken{Hash: tokHash, Purpose: PurposeActivate, AccountID: a.ID, CreatedAt: now,
				ExpiresAt: now.Add(s.cfg.ActivationTTL)}
			out = append(out, m)
		}
		l := in.Link
		l.AccountID, l.CreatedAt, l.LastUsedAt = a.ID, now, now
		if in.LinkPersonal != nil {
			if err := s.SealLinkPersonal(&l, *in.LinkPersonal); err != nil {
				return Account{}, err
			}
		}
		// The account and its only way in are written together.
		err := s.store.CreateLinkedAccount(ctx, a, activation, l, out...)
		if errors.Is(err, ErrConflict) && attempt < 3 {
			if existing, gerr := s.store.GetAccountByEmailIndex(ctx, index); gerr == nil {
				if in.EmailVerified {
					v.add("email", "err.fed_email_taken")
					return Account{}, v
				}
				return Account{}, s.mailExisting(ctx, existing, locale)
			}
			if _, gerr := s.store.GetLink(ctx, l.Connector, l.Issuer, l.Subject); gerr == nil {
				// A concurrent registration through the same upstream
				// login won: this one has nothing left to create.
				return Account{}, fmt.Errorf("register federated: %w", ErrConflict)
			}
			continue // a Konto-ID or ID collision: new ones
		}
		if err != nil {
			return Account{}, fmt.Errorf("create account: %w", err)
		}
		s.audit(ctx, a.ID, "account.registered", a.ID, "via="+l.Connector)
		s.audit(ctx, a.ID, "link.created", a.ID, "connector="+l.Connector)
		return a, nil
	}
}

// Unlink removes one of the account's upstream logins and enqueues out
// (the security notice) with it, in one store transaction that also
// checks the rule: ErrNotFound if the account has no such link,
// ErrLastLogin if it is the account's last way to log in (see
// LinkStore.DeleteLink).
func (s *Service) Unlink(ctx context.Context, accountID, connector, issuer, subject string, out ...Outgoing) error {
	if err := s.store.DeleteLink(ctx, accountID, connector, issuer, subject, out...); err != nil {
		return fmt.Errorf("unlink: %w", err)
	}
	s.audit(ctx, accountID, "link.removed", accountID, "connector="+connector)
	return nil
}

// linkPurpose binds a link's sealed data to its account and upstream login.
func linkPurpose(l ExternalLink) string {
	return "link:" + l.Connector + ":" + l.Issuer + ":" + l.Subject
}

// SealLinkPersonal seals p into l.Sealed, bound to l's account and
// upstream login (fill l.AccountID first).
func (s *Service) SealLinkPersonal(l *ExternalLink, p LinkPersonal) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	l.Sealed = s.SealFor(l.AccountID, linkPurpose(*l), raw)
	return nil
}

// OpenLinkPersonal opens what SealLinkPersonal sealed (zero for no data).
func (s *Service) OpenLinkPersonal(l ExternalLink) (LinkPersonal, error) {
	var p LinkPersonal
	if len(l.Sealed) == 0 {
		return p, nil
	}
	raw, err := s.OpenFor(l.AccountID, linkPurpose(l), l.Sealed)
	if err != nil {
		return p, fmt.Errorf("open link data: %w", err)
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, fmt.Errorf("decode link data: %w", err)
	}
	return p, nil
}

// Proofing is what the account's upstream logins vouch for about the
// person: the best identity-proofing level (one of the Proofing*
// constants, "" when no provider said anything) and a birth date that a
// provider verified against an identity document ("" when none did).
// It is kept apart from the authentication level (acr).
type Proofing struct {
	Level     string
	BirthDate string
}

// AccountProofing returns the proofing of an account's links.
func (s *Service) AccountProofing(ctx context.Context, accountID string) (Proofing, error) {
	links, err := s.store.ListLinks(ctx, accountID)
	if err != nil {
		return Proofing{}, fmt.Errorf("list links: %w", err)
	}
	var best Proofing
	for _, l := range links {
		rank := slices.Index(ProofingLevels, l.ProofingLevel)
		if rank < 0 || rank < slices.Index(ProofingLevels, best.Level) {
			continue
		}
		p, err := s.OpenLinkPersonal(l)
		if err != nil {
			return Proofing{}, err
		}
		birth := ""
		if p.BirthDateVerified {
			birth = p.BirthDate
		}
		if rank > slices.Index(ProofingLevels, best.Level) || best.BirthDate == "" {
			best = Proofing{Level: l.ProofingLevel, BirthDate: birth}
		}
	}
	return best, nil
}
