package delegation

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
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
