package delegation

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kanton/kundencenter/idp"
)

// MaxInvitationTTL is the longest an invitation may stay open.
const MaxInvitationTTL = 7 * 24 * time.Hour

// Mail templates of the organisation use cases (idp.Mail.Template).
const (
	MailInvitation         = "org_invitation"          // to an existing account: accept under "Organisationen"
	MailInvitationRegister = "org_invitation_register" // to an address without an account: register first
	MailRemoved            = "org_removed"             // to a member an admin removed
)

// Config holds the organisation rules.
type Config struct {
	// BaseURL is the public URL of the IdP, used in e-mailed links.
	BaseURL string
	// InvitationTTL is how long an invitation stays open; 0 means
	// MaxInvitationTTL (7 days), which is also the upper bound.
	InvitationTTL time.Duration
	// Limits are the rate limits; zero values take DefaultLimits.
	Limits Limits
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SealMail checks and seals an e-mail for the outbox (notify.SealMail
	// with the key ring). Required for the use cases that send mail.
	SealMail func(idp.Mail) (idp.Outgoing, error)
	// CodeTTL is how long a representation access code stays valid, and
	// how long the principal then has to confirm; 0 means DefaultCodeTTL
	// (14 days), MaxCodeTTL (30 days) is the upper bound.
	CodeTTL time.Duration
	// RepLimits are the rate limits of representations; zero rules take
	// DefaultRepLimits.
	RepLimits RepLimits
	// Hasher hashes the representation access codes (the IdP's Argon2id
	// hasher). Required for representations.
	Hasher Hasher
	// Counters keep the rate-limit windows (the IdP's ephemeral store).
	// Required for the rate-limited use cases.
	Counters Counters
}

// Limits bound invitations and guesses of invitation tokens.
type Limits struct {
	InvitePerActor idp.Rule // invitations one admin sends
	TokenPerActor  idp.Rule // invitation links one account opens or answers
	TokenPerIP     idp.Rule // invitation links opened or answered from one IP address
}

// DefaultLimits let an admin invite a team in one sitting and make
// guessing a 256-bit token (already hopeless) visibly throttled.
var DefaultLimits = Limits{
	InvitePerActor: idp.Rule{Name: "org_invite", Limit: 50, Window: time.Hour},
	TokenPerActor:  idp.Rule{Name: "org_token_acct", Limit: 20, Window: 15 * time.Minute},
	TokenPerIP:     idp.Rule{Name: "org_token_ip", Limit: 60, Window: 15 * time.Minute},
}

// Service carries out the organisation rules over the store. Accounts and
// their personal data come from the identity provider (Accounts), the
// client catalogue from the same store (Directory), the rate-limit windows
// and the hasher from Config.
type Service struct {
	cfg     Config
	store   Store
	idp     Accounts
	limiter idp.Limiter
	log     *slog.Logger
}

// NewService wires the organisation service.
func NewService(cfg Config, store Store, accounts Accounts, log *slog.Logger) *Service {
	if cfg.InvitationTTL <= 0 || cfg.InvitationTTL > MaxInvitationTTL {
		cfg.InvitationTTL = MaxInvitationTTL
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{cfg: cfg, store: store, idp: accounts,
		limiter: idp.Limiter{Store: cfg.Counters, Prefix: "rl:"}, log: log}
}

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.cfg.Now().UTC() }

// InvitationTTL is how long invitations stay open.
func (s *Service) InvitationTTL() time.Duration { return s.cfg.InvitationTTL }

// OrgInput is the organisation data a person submits.
type OrgInput struct {
	Name, Designation, UID string
	Addresses              []Address // blank rows are dropped
}

// Field limits of OrgInput.
const (
	maxNameLen      = 150
	maxTownLen      = 100
	maxAddresses    = 5
	maxLegacyIDLen  = 100
	eventListLength = 200
)

func verr(fields map[string][]string) error {
	if len(fields) == 0 {
		return nil
	}
	return &idp.ValidationError{Fields: fields}
}

func badText(s string) bool { return idp.BadText(s) }

// validate checks and normalises the input. Field names: name,
// designation, uid, and street_N, postal_code_N, town_N, country_N for
// the N-th submitted address row (0-based).
func (in OrgInput) validate() (Organisation, error) {
	f := map[string][]string{}
	add := func(field, key string) { f[field] = append(f[field], key) }
	o := Organisation{Name: strings.TrimSpace(in.Name), Designation: strings.TrimSpace(in.Designation)}
	switch {
	case o.Name == "":
		add("name", "err.required")
	case utf8.RuneCountInString(o.Name) > maxNameLen || badText(o.Name):
		add("name", "err.org_text_invalid")
	}
	if utf8.RuneCountInString(o.Designation) > maxNameLen || badText(o.Designation) {
		add("designation", "err.org_text_invalid")
	}
	if u := strings.TrimSpace(in.UID); u != "" {
		if c, ok := ParseUID(u); ok {
			o.UID = c
		} else {
			add("uid", "err.uid_invalid")
		}
	}
	for i, a := range in.Addresses {
		a = Address{Street: strings.TrimSpace(a.Street), PostalCode: strings.TrimSpace(a.PostalCode),
			Town: strings.TrimSpace(a.Town), Country: strings.ToUpper(strings.TrimSpace(a.Country))}
		if a.Street == "" && a.PostalCode == "" && a.Town == "" {
			continue // a blank row
		}
		n := strconv.Itoa(i)
		if a.Country == "" {
			a.Country = "CH"
		}
		switch {
		case a.Street == "":
			add("street_"+n, "err.required")
		case utf8.RuneCountInString(a.Street) > maxNameLen || badText(a.Street):
			add("street_"+n, "err.org_text_invalid")
		}
		switch {
		case a.Town == "":
			add("town_"+n, "err.required")
		case utf8.RuneCountInString(a.Town) > maxTownLen || badText(a.Town):
			add("town_"+n, "err.org_text_invalid")
		}
		if len(a.Country) != 2 || a.Country[0] < 'A' || a.Country[0] > 'Z' || a.Country[1] < 'A' || a.Country[1] > 'Z' {
			add("country_"+n, "err.country_invalid")
		}
		switch {
		case a.PostalCode == "":
			add("postal_code_"+n, "err.required")
		case (a.Country == "CH" || a.Country == "LI") && !fourDigits(a.PostalCode):
			add("postal_code_"+n, "err.postal_code_invalid")
		case len(a.PostalCode) > 10 || badText(a.PostalCode):
			add("postal_code_"+n, "err.postal_code_invalid")
		}
		o.Addresses = append(o.Addresses, a)
	}
	switch {
	case len(o.Addresses) == 0 && len(in.Addresses) > 0:
		add("street_0", "err.address_required")
	case len(o.Addresses) == 0:
		add("street_0", "err.address_required")
	case len(o.Addresses) > maxAddresses:
		add("street_0", "err.too_many_addresses")
	}
	return o, verr(f)
}

func fourDigits(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := range 4 {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s[0] != '0'
}

// newToken returns a 256-bit random token (base64url) and its SHA-256 hash.
func newToken() (string, []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	tok := base64.RawURLEncoding.EncodeToString(b)
	return tok, idp.HashToken(tok)
}

func (s *Service) mail(to, locale, template string, data map[string]string) (idp.Outgoing, error) {
	if s.cfg.SealMail == nil {
		return idp.Outgoing{}, errors.New("delegation: Config.SealMail is not set")
	}
	return s.cfg.SealMail(idp.Mail{To: to, Locale: locale, Template: template, Data: data})
}

func (s *Service) allow(ctx context.Context, rules []idp.Rule, keys []string) error {
	ok, err := s.limiter.AllowAll(ctx, rules, keys)
	if err != nil {
		return fmt.Errorf("rate limiter: %w", errors.Join(idp.ErrUnavailable, err))
	}
	if !ok {
		return idp.ErrRateLimited
	}
	return nil
}

// person is what the use cases need of an account.
type person struct {
	acct  idp.Account
	name  string
	email string
}

func (s *Service) person(ctx context.Context, id string) (person, error) {
	a, err := s.idp.Account(ctx, id)
	if err != nil {
		return person{}, fmt.Errorf("load account: %w", err)
	}
	return s.personOf(a)
}

func (s *Service) personOf(a idp.Account) (person, error) {
	p, err := s.idp.Personal(a)
	if err != nil {
		return person{}, err
	}
	return person{acct: a, name: strings.TrimSpace(p.GivenName + " " + p.FamilyName), email: p.Email}, nil
}

// DisplayName returns an account's full name for the pages, or "" for a
// deleted account.
func (s *Service) DisplayName(ctx context.Context, accountID string) string {
	p, err := s.person(ctx, accountID)
	if err != nil {
		return ""
	}
	return p.name
}

// CreateOrg creates an organisation administered by the actor.
func (s *Service) CreateOrg(ctx context.Context, actor string, in OrgInput) (Organisation, error) {
	o, err := in.validate()
	if err != nil {
		return Organisation{}, err
	}
	now := s.Now()
	o.ID, o.CreatedAt, o.UpdatedAt = idp.NewID(), now, now
	st := OrgState{Org: o, Members: []Membership{{OrgID: o.ID, AccountID: actor, Roles: []string{RoleAdmin},
		CreatedAt: now, UpdatedAt: now}}}
	ev := []Event{{OrgID: o.ID, At: now, Actor: actor, Action: EventCreated, Subject: actor, Detail: RoleAdmin}}
	if err := s.store.CreateOrg(ctx, st, ev); err != nil {
		return Organisation{}, fmt.Errorf("create organisation: %w", err)
	}
	return o, nil
}

// requireAdmin returns ErrForbidden unless actor is an admin in st.
func requireAdmin(st OrgState, actor string) error {
	if m, ok := st.Member(actor); !ok || !m.IsAdmin() {
		return ErrForbidden
	}
	return nil
}

// EditOrg changes an organisation's data (admins only).
func (s *Service) EditOrg(ctx context.Context, actor, orgID string, in OrgInput) (Organisation, error) {
	o, err := in.validate()
	if err != nil {
		return Organisation{}, err
	}
	st, err := s.store.UpdateOrg(ctx, orgID, func(st OrgState) (OrgState, []Event, []idp.Outgoing, error) {
		if err := requireAdmin(st, actor); err != nil {
			return st, nil, nil, err
		}
		now := s.Now()
		st.Org.Name, st.Org.Designation, st.Org.Addresses, st.Org.UID = o.Name, o.Designation, o.Addresses, o.UID
		st.Org.UpdatedAt = now
		return st, []Event{{OrgID: orgID, At: now, Actor: actor, Action: EventEdited}}, nil, nil
	})
	if err != nil {
		return Organisation{}, s.orgErr(err)
	}
	return st.Org, nil
}

// orgErr maps an unknown organisation to ErrForbidden, so a guessed ID
// tells nothing.
func (s *Service) orgErr(err error) error {
	if errors.Is(err, idp.ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrForbidden, err)
	}
	return err
}

// View returns an organisation as the actor may see it: members see the
// data and the members; admins also the pending invitations. Non-members
// get ErrForbidden.
func (s *Service) View(ctx context.Context, actor, orgID string) (OrgState, Membership, error) {
	st, err := s.store.GetOrg(ctx, orgID)
	if err != nil {
		return OrgState{}, Membership{}, s.orgErr(err)
	}
	m, ok := st.Member(actor)
	if !ok {
		return OrgState{}, Membership{}, ErrForbidden
	}
	if !m.IsAdmin() {
		st.Invitations = nil
	}
	return st, m, nil
}

// MembersWhoMayUse returns the accounts of the organisation's members to
// whom the service clientID is assigned: those who may act for the
// organisation there and see what it has there. An unknown organisation has
// none.
func (s *Service) MembersWhoMayUse(ctx context.Context, orgID, clientID string) ([]string, error) {
	st, err := s.store.GetOrg(ctx, orgID)
	if errors.Is(err, idp.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load organisation: %w", err)
	}
	var ids []string
	for _, m := range st.Members {
		if m.MayUse(clientID) {
			ids = append(ids, m.AccountID)
		}
	}
	return ids, nil
}

var _ idp.OrgMembers = (*Service)(nil)

// History returns an organisation's history, newest first (admins only).
func (s *Service) History(ctx context.Context, actor, orgID string) ([]Event, error) {
	m, err := s.store.GetMemberOrg(ctx, orgID, actor)
	if err != nil || !m.Membership.IsAdmin() {
		return nil, ErrForbidden
	}
	return s.store.ListEvents(ctx, orgID, eventListLength)
}

// MyOrgs returns the organisations the actor belongs to.
func (s *Service) MyOrgs(ctx context.Context, actor string) ([]MemberOrg, error) {
	return s.store.ListMemberOrgs(ctx, actor)
}

// MyInvitations returns the open invitations addressed to the actor, by
// Konto-ID or by the actor's e-mail address.
func (s *Service) MyInvitations(ctx context.Context, actor string) ([]InvitationWithOrg, error) {
	a, err := s.idp.Account(ctx, actor)
	if err != nil {
		return nil, fmt.Errorf("load account: %w", err)
	}
	return s.store.ListInvitationsFor(ctx, actor, a.EmailIndex, s.Now())
}

// Catalogue returns the services members can be assigned (the registered
// clients), ordered by ID.
func (s *Service) Catalogue(ctx context.Context) ([]idp.Client, error) {
	return s.store.ListClients(ctx)
}

// InviteInput names the invitee, by Konto-ID or by e-mail address.
type InviteInput struct {
	By      string // "konto_id" or "email"
	KontoID string
	Email   string
	Role    string
	IP      string
}

// maskEmail shows the inviter the address they typed without keeping it
// in clear: "anna@example.ch" becomes "a•••@example.ch".
func maskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 {
		return "•••"
	}
	r, _ := utf8.DecodeRuneInString(email)
	return string(r) + "•••" + email[at:]
}

// Invite invites someone into the organisation (admins only). By Konto-ID
// the invitee's account gets the mail and the inviter never learns its
// address; by e-mail, an address with an account gets the same mail and
// one without gets a mail inviting to register first. The answer is the
// same whether or not the Konto-ID or address has an account (nil), so an
// inviter cannot probe accounts; an earlier pending invitation for the same
// invitee is revoked.
func (s *Service) Invite(ctx context.Context, actor, orgID string, in InviteInput) error {
	f := map[string][]string{}
	var kontoID, email string
	switch in.By {
	case "konto_id":
		k, ok := idp.ParseKontoID(in.KontoID)
		switch {
		case strings.TrimSpace(in.KontoID) == "":
			f["konto_id"] = []string{"err.required"}
		case !ok:
			f["konto_id"] = []string{"err.konto_id_invalid"}
		}
		kontoID = k
	case "email":
		email = idp.NormalizeEmail(in.Email)
		switch {
		case email == "":
			f["email"] = []string{"err.required"}
		case !idp.ValidEmail(email):
			f["email"] = []string{"err.email_invalid"}
		}
	default:
		f["by"] = []string{"err.invite_by_invalid"}
	}
	if !ValidRole(in.Role) {
		f["role"] = []string{"err.role_invalid"}
	}
	if err := verr(f); err != nil {
		return err
	}
	// Only admins get this far without a cheap ErrForbidden; the limit
	// counts every attempt of the actor.
	if m, err := s.store.GetMemberOrg(ctx, orgID, actor); err != nil || !m.Membership.IsAdmin() {
		return ErrForbidden
	}
	if err := s.allow(ctx, []idp.Rule{s.cfg.Limits.InvitePerActor}, []string{actor}); err != nil {
		return err
	}
	inviter, err := s.person(ctx, actor)
	if err != nil {
		return err
	}
	now := s.Now()
	tok, hash := newToken()
	inv := Invitation{ID: idp.NewID(), OrgID: orgID, Hash: hash, Role: in.Role, InvitedBy: actor,
		Status: InvitationPending, CreatedAt: now, ExpiresAt: now.Add(s.cfg.InvitationTTL)}
	var invitee *person
	if kontoID != "" {
		inv.Label = kontoID
		a, err := s.store.GetAccountByKontoID(ctx, kontoID)
		if errors.Is(err, idp.ErrNotFound) || (err == nil && a.Status != idp.StatusActive) {
			s.log.InfoContext(ctx, "organisation invitation to an unknown or inactive Konto-ID dropped", "org_id", orgID)
			return nil
		}
		if err != nil {
			return fmt.Errorf("look up Konto-ID: %w", err)
		}
		p, err := s.personOf(a)
		if err != nil {
			return err
		}
		invitee = &p
		inv.AccountID = a.ID
	} else {
		inv.Label = maskEmail(email)
		inv.EmailIndex = s.idp.EmailIndex(email)
		a, err := s.store.GetAccountByEmailIndex(ctx, inv.EmailIndex)
		switch {
		case err == nil && a.Status == idp.StatusActive:
			p, err := s.personOf(a)
			if err != nil {
				return err
			}
			invitee = &p
			inv.AccountID = a.ID
		case err == nil, errors.Is(err, idp.ErrNotFound):
			// No (active) account yet: the mail invites to register first.
		default:
			return fmt.Errorf("look up e-mail: %w", err)
		}
	}
	validHours := strconv.Itoa(int(s.cfg.InvitationTTL.Hours()))
	_, err = s.store.UpdateOrg(ctx, orgID, func(st OrgState) (OrgState, []Event, []idp.Outgoing, error) {
		if err := requireAdmin(st, actor); err != nil {
			return st, nil, nil, err
		}
		if invitee != nil {
			if _, ok := st.Member(invitee.acct.ID); ok {
				return st, nil, nil, ErrAlreadyMember
			}
		}
		var events []Event
		for i, old := range st.Invitations {
			if old.Status == InvitationPending && sameInvitee(old, inv) {
				st.Invitations[i].Status, st.Invitations[i].DoneAt = InvitationRevoked, now
				events = append(events, Event{OrgID: orgID, At: now, Actor: actor, Action: EventInvitationRevoked, Subject: old.Label})
			}
		}
		var out idp.Outgoing
		var err error
		data := map[string]string{"OrgName": st.Org.Name, "InviterName": inviter.name, "ValidHours": validHours}
		if invitee != nil {
			data["Name"] = invitee.name
			data["Link"] = s.cfg.BaseURL + "/orgs/invitations?token=" + tok
			out, err = s.mail(invitee.email, invitee.acct.Locale, MailInvitation, data)
		} else {
			data["Link"] = s.cfg.BaseURL + "/register"
			out, err = s.mail(email, inviter.acct.Locale, MailInvitationRegister, data)
		}
		if err != nil {
			return st, nil, nil, err
		}
		st.Invitations = append(st.Invitations, inv)
		events = append(events, Event{OrgID: orgID, At: now, Actor: actor, Action: EventInvited, Subject: inv.Label, Detail: inv.Role})
		return st, events, []idp.Outgoing{out}, nil
	})
	if err != nil {
		return s.orgErr(err)
	}
	return nil
}

// sameInvitee reports whether two invitations address the same person.
func sameInvitee(a, b Invitation) bool {
	if a.AccountID != "" && a.AccountID == b.AccountID {
		return true
	}
	return len(a.EmailIndex) > 0 && hmac.Equal(a.EmailIndex, b.EmailIndex)
}

// addressedTo reports whether the invitation is for this account: by
// account, or by the blind index of the account's e-mail address.
func addressedTo(inv Invitation, a idp.Account) bool {
	if inv.AccountID != "" {
		return inv.AccountID == a.ID
	}
	return len(inv.EmailIndex) > 0 && hmac.Equal(inv.EmailIndex, a.EmailIndex)
}

// InvitationByToken returns the open invitation of an e-mailed link if it
// is addressed to the actor. Throttled per account and IP address; every
// failure is ErrInvitationInvalid.
func (s *Service) InvitationByToken(ctx context.Context, actor, token, ip string) (InvitationWithOrg, error) {
	if err := s.allow(ctx, []idp.Rule{s.cfg.Limits.TokenPerActor, s.cfg.Limits.TokenPerIP}, []string{actor, ip}); err != nil {
		return InvitationWithOrg{}, err
	}
	if token == "" || len(token) > 100 {
		return InvitationWithOrg{}, ErrInvitationInvalid
	}
	inv, err := s.store.GetInvitationByHash(ctx, idp.HashToken(token))
	if errors.Is(err, idp.ErrNotFound) {
		return InvitationWithOrg{}, ErrInvitationInvalid
	}
	if err != nil {
		return InvitationWithOrg{}, err
	}
	a, err := s.idp.Account(ctx, actor)
	if err != nil {
		return InvitationWithOrg{}, fmt.Errorf("load account: %w", err)
	}
	if !inv.Open(s.Now()) || !addressedTo(inv, a) {
		return InvitationWithOrg{}, ErrInvitationInvalid
	}
	st, err := s.store.GetOrg(ctx, inv.OrgID)
	if err != nil {
		return InvitationWithOrg{}, err
	}
	return InvitationWithOrg{Invitation: inv, Org: st.Org}, nil
}

// Respond accepts or declines an open invitation addressed to the actor.
// An invitation whose inviter is no longer an admin is void. Every
// failure (unknown, expired, used, revoked, someone else's) is
// ErrInvitationInvalid; ErrAlreadyMember if the actor joined meanwhile.
func (s *Service) Respond(ctx context.Context, actor, invitationID string, accept bool) (Organisation, error) {
	inv, err := s.store.GetInvitation(ctx, invitationID)
	if errors.Is(err, idp.ErrNotFound) {
		return Organisation{}, ErrInvitationInvalid
	}
	if err != nil {
		return Organisation{}, err
	}
	a, err := s.idp.Account(ctx, actor)
	if err != nil {
		return Organisation{}, fmt.Errorf("load account: %w", err)
	}
	st, err := s.store.UpdateOrg(ctx, inv.OrgID, func(st OrgState) (OrgState, []Event, []idp.Outgoing, error) {
		now := s.Now()
		i := slices.IndexFunc(st.Invitations, func(x Invitation) bool { return x.ID == invitationID })
		if i < 0 || !st.Invitations[i].Open(now) || !addressedTo(st.Invitations[i], a) {
			return st, nil, nil, ErrInvitationInvalid
		}
		cur := st.Invitations[i]
		if by, ok := st.Member(cur.InvitedBy); !ok || !by.IsAdmin() {
			return st, nil, nil, ErrInvitationInvalid
		}
		if _, ok := st.Member(actor); ok && accept {
			return st, nil, nil, ErrAlreadyMember
		}
		st.Invitations[i].DoneAt = now
		if !accept {
			st.Invitations[i].Status = InvitationDeclined
			return st, []Event{{OrgID: st.Org.ID, At: now, Actor: actor, Action: EventDeclined, Subject: actor}}, nil, nil
		}
		st.Invitations[i].Status = InvitationAccepted
		st.Members = append(st.Members, Membership{OrgID: st.Org.ID, AccountID: actor, Roles: []string{cur.Role},
			CreatedAt: now, UpdatedAt: now})
		return st, []Event{{OrgID: st.Org.ID, At: now, Actor: actor, Action: EventAccepted, Subject: actor, Detail: cur.Role}}, nil, nil
	})
	if errors.Is(err, idp.ErrNotFound) {
		return Organisation{}, ErrInvitationInvalid
	}
	if err != nil {
		return Organisation{}, err
	}
	return st.Org, nil
}

// RevokeInvitation withdraws a pending invitation (admins only).
func (s *Service) RevokeInvitation(ctx context.Context, actor, orgID, invitationID string) error {
	_, err := s.store.UpdateOrg(ctx, orgID, func(st OrgState) (OrgState, []Event, []idp.Outgoing, error) {
		if err := requireAdmin(st, actor); err != nil {
			return st, nil, nil, err
		}
		i := slices.IndexFunc(st.Invitations, func(x Invitation) bool { return x.ID == invitationID })
		if i < 0 {
			return st, nil, nil, ErrInvitationInvalid
		}
		now := s.Now()
		st.Invitations[i].Status, st.Invitations[i].DoneAt = InvitationRevoked, now
		return st, []Event{{OrgID: orgID, At: now, Actor: actor, Action: EventInvitationRevoked, Subject: st.Invitations[i].Label}}, nil, nil
	})
	return s.orgErr(err)
}

// revokeInvitationsBy revokes the pending invitations an account sent,
// when it loses admin rights or leaves.
func revokeInvitationsBy(st *OrgState, accountID, actor string, now time.Time) []Event {
	var ev []Event
	for i, inv := range st.Invitations {
		if inv.InvitedBy == accountID && inv.Status == InvitationPending {
			st.Invitations[i].Status, st.Invitations[i].DoneAt = InvitationRevoked, now
			ev = append(ev, Event{OrgID: st.Org.ID, At: now, Actor: actor, Action: EventInvitationRevoked, Subject: inv.Label})
		}
	}
	return ev
}

// removeMember drops accountID from st, refusing to drop the last admin.
func removeMember(st *OrgState, accountID string) (Membership, error) {
	i := slices.IndexFunc(st.Members, func(m Membership) bool { return m.AccountID == accountID })
	if i < 0 {
		return Membership{}, fmt.Errorf("member: %w", idp.ErrNotFound)
	}
	m := st.Members[i]
	if m.IsAdmin() && st.Admins() == 1 {
		return Membership{}, ErrLastAdmin
	}
	st.Members = slices.Delete(st.Members, i, i+1)
	return m, nil
}

// RemoveMember removes a member (admins only) and tells them by e-mail.
// The last admin cannot be removed.
func (s *Service) RemoveMember(ctx context.Context, actor, orgID, memberID string) error {
	if memberID == actor {
		return s.Leave(ctx, actor, orgID)
	}
	removed, err := s.person(ctx, memberID)
	if err != nil {
		return ErrForbidden
	}
	_, err = s.store.UpdateOrg(ctx, orgID, func(st OrgState) (OrgState, []Event, []idp.Outgoing, error) {
		if err := requireAdmin(st, actor); err != nil {
			return st, nil, nil, err
		}
		if _, err := removeMember(&st, memberID); err != nil {
			return st, nil, nil, err
		}
		now := s.Now()
		ev := revokeInvitationsBy(&st, memberID, actor, now)
		ev = append(ev, Event{OrgID: orgID, At: now, Actor: actor, Action: EventRemoved, Subject: memberID})
		out, err := s.mail(removed.email, removed.acct.Locale, MailRemoved, map[string]string{
			"Name": removed.name, "OrgName": st.Org.Name, "LoginLink": s.cfg.BaseURL + "/orgs"})
		if err != nil {
			return st, nil, nil, err
		}
		return st, ev, []idp.Outgoing{out}, nil
	})
	return s.orgErr(err)
}

// Leave ends the actor's own membership. The last admin cannot leave.
func (s *Service) Leave(ctx context.Context, actor, orgID string) error {
	_, err := s.store.UpdateOrg(ctx, orgID, func(st OrgState) (OrgState, []Event, []idp.Outgoing, error) {
		if _, err := removeMember(&st, actor); errors.Is(err, idp.ErrNotFound) {
			return st, nil, nil, ErrForbidden
		} else if err != nil {
			return st, nil, nil, err
		}
		now := s.Now()
		ev := revokeInvitationsBy(&st, actor, actor, now)
		return st, append(ev, Event{OrgID: orgID, At: now, Actor: actor, Action: EventLeft, Subject: actor}), nil, nil
	})
	return s.orgErr(err)
}

// SetRole gives a member a new role (admins only). Demoting the last
// admin is refused (ErrLastAdmin), also when two admins demote each other
// at the same time: the store serialises the changes per organisation.
// A demoted admin's pending invitations are revoked.
func (s *Service) SetRole(ctx context.Context, actor, orgID, memberID, role string) error {
	if !ValidRole(role) {
		return verr(map[string][]string{"role": {"err.role_invalid"}})
	}
	_, err := s.store.UpdateOrg(ctx, orgID, func(st OrgState) (OrgState, []Event, []idp.Outgoing, error) {
		if err := requireAdmin(st, actor); err != nil {
			return st, nil, nil, err
		}
		i := slices.IndexFunc(st.Members, func(m Membership) bool { return m.AccountID == memberID })
		if i < 0 {
			return st, nil, nil, fmt.Errorf("member: %w", idp.ErrNotFound)
		}
		m := st.Members[i]
		if slices.Equal(m.Roles, []string{role}) {
			return st, nil, nil, nil
		}
		if m.IsAdmin() && role != RoleAdmin && st.Admins() == 1 {
			return st, nil, nil, ErrLastAdmin
		}
		now := s.Now()
		st.Members[i].Roles, st.Members[i].UpdatedAt = []string{role}, now
		var ev []Event
		if m.IsAdmin() && role != RoleAdmin {
			ev = revokeInvitationsBy(&st, memberID, actor, now)
		}
		return st, append(ev, Event{OrgID: orgID, At: now, Actor: actor, Action: EventRoleChanged, Subject: memberID, Detail: role}), nil, nil
	})
	return s.orgErr(err)
}

// SetServices sets which services of the catalogue a member may use for
// the organisation (admins only); unknown client IDs are a validation
// error on field "services".
func (s *Service) SetServices(ctx context.Context, actor, orgID, memberID string, clientIDs []string) error {
	want := slices.Clone(clientIDs)
	slices.Sort(want)
	want = slices.Compact(want)
	for _, id := range want {
		if _, err := s.store.GetClient(ctx, id); errors.Is(err, idp.ErrNotFound) {
			return verr(map[string][]string{"services": {"err.service_unknown"}})
		} else if err != nil {
			return fmt.Errorf("look up client: %w", err)
		}
	}
	_, err := s.store.UpdateOrg(ctx, orgID, func(st OrgState) (OrgState, []Event, []idp.Outgoing, error) {
		if err := requireAdmin(st, actor); err != nil {
			return st, nil, nil, err
		}
		i := slices.IndexFunc(st.Members, func(m Membership) bool { return m.AccountID == memberID })
		if i < 0 {
			return st, nil, nil, fmt.Errorf("member: %w", idp.ErrNotFound)
		}
		now := s.Now()
		var ev []Event
		for _, id := range want {
			if !slices.Contains(st.Members[i].Services, id) {
				ev = append(ev, Event{OrgID: orgID, At: now, Actor: actor, Action: EventServiceAssigned, Subject: memberID, Detail: id})
			}
		}
		for _, id := range st.Members[i].Services {
			if !slices.Contains(want, id) {
				ev = append(ev, Event{OrgID: orgID, At: now, Actor: actor, Action: EventServiceUnassigned, Subject: memberID, Detail: id})
			}
		}
		if len(ev) == 0 {
			return st, nil, nil, nil
		}
		st.Members[i].Services, st.Members[i].UpdatedAt = want, now
		return st, ev, nil, nil
	})
	return s.orgErr(err)
}
