package idp

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Profiles (PRODUCT.md §1): inside one account, any number of profiles
// ("Privat", "Geschäftlich", …) keep private and business matters apart.
// At a login to a service the person picks the profile that service sees;
// the service gets that profile's data in the standard claims and its ID
// as a stable profile subject.
//
// The default ("main") profile is "Meine Daten" itself: its names, postal
// address and e-mail address are read live from the account's personal
// data, so a change under "Meine Daten" reaches every service that sees
// the main profile. Only its display name and contact phone are its own.
// An account that never created a profile has no stored profile at all:
// it has one implicit main profile, whose ID is derived from the account
// ID (DefaultProfileID) so that the profile subject a service sees does
// not change when the profile is stored later. It is stored
// ("materialised") on the first write: renaming it or creating a second
// profile. Nothing needs migrating for existing accounts, and a row that
// merely copied "Meine Daten" (and would silently go stale) never exists.
// Every other profile holds its own sealed data.
//
// An account always keeps at least one profile: the store refuses to
// delete the last one (ErrLastProfile), atomically.

// ClaimProfile is the claim carrying the ID of the profile a service sees
// (stable for that profile; "sub" stays the account).
const ClaimProfile = "urn:kundencenter:profile"

// MaxProfiles is how many profiles an account may have.
const MaxProfiles = 20

// maxProfileNameLen bounds a profile's display name.
const maxProfileNameLen = 50

// Errors of the profile rules.
var (
	// ErrLastProfile means the profile is the account's only one; an
	// account always keeps one.
	ErrLastProfile = errors.New("the last profile cannot be deleted")
	// ErrMainProfile means the profile is the account's main profile,
	// whose person data are "Meine Daten": it cannot be deleted.
	ErrMainProfile = errors.New("the main profile cannot be deleted")
	// ErrProfileLimit means the account has MaxProfiles profiles already.
	ErrProfileLimit = errors.New("too many profiles")
)

// Profile is a profile as stored. Its display name and contact data are
// sealed (ProfileData), bound to the account and the profile ID.
type Profile struct {
	ID        string // random (DefaultProfileID for the main profile), never contains ':'
	AccountID string
	Main      bool   // the default profile, whose person data are "Meine Daten"
	Sealed    []byte // AEAD-sealed JSON of ProfileData
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ProfileData is a profile's own data, stored sealed in Profile.Sealed.
// For the main profile only Name and Phone are used; the rest comes from
// the account's Personal.
type ProfileData struct {
	Name        string `json:"name,omitempty"` // display name, e.g. "Geschäftlich"
	GivenName   string `json:"given_name,omitempty"`
	FamilyName  string `json:"family_name,omitempty"`
	Street      string `json:"street,omitempty"`
	HouseNumber string `json:"house_number,omitempty"`
	PostalCode  string `json:"postal_code,omitempty"`
	Locality    string `json:"locality,omitempty"`
	Country     string `json:"country,omitempty"` // "CH", "LI" or the name of another country
	Email       string `json:"email,omitempty"`   // contact address (not the login address)
	Phone       string `json:"phone,omitempty"`   // contact number, E.164
}

// ProfileChoice is the profile a person last chose for a service.
type ProfileChoice struct {
	AccountID string
	ClientID  string
	ProfileID string
	ChosenAt  time.Time
}

// ProfileStore holds profiles and the choice remembered per service.
type ProfileStore interface {
	// ListProfiles returns the account's stored profiles, oldest first
	// (none for an account that never stored one, or an unknown account).
	ListProfiles(ctx context.Context, accountID string) ([]Profile, error)
	// GetProfile returns the account's profile with this ID; ErrNotFound if
	// there is none (a profile of another account is not found either).
	GetProfile(ctx context.Context, accountID, id string) (Profile, error)
	// CreateProfile stores a new profile unless the account already has
	// limit profiles (ErrProfileLimit), atomically. ErrConflict if the ID is
	// taken; ErrNotFound if the account does not exist.
	CreateProfile(ctx context.Context, p Profile, limit int) error
	// EnsureProfile stores p only if p's account has no profile at all, in
	// one step (the materialisation of the implicit main profile); it
	// reports whether it stored p. Of concurrent calls at most one stores.
	EnsureProfile(ctx context.Context, p Profile) (bool, error)
	// UpdateProfile applies fn to the account's profile inside a
	// transaction and stores the result: Sealed, Main and UpdatedAt may
	// change, the ID, account and creation time cannot. An error from fn
	// aborts with nothing written; ErrNotFound if there is no such profile.
	UpdateProfile(ctx context.Context, accountID, id string, fn func(Profile) (Profile, error)) (Profile, error)
	// DeleteProfile removes the account's profile and the choices that name
	// it, and revokes the refresh tokens that carry it. ErrNotFound if there is none; ErrLastProfile if it is the
	// account's only profile (checked atomically: of two concurrent
	// deletions of an account's last two profiles, one fails).
	DeleteProfile(ctx context.Context, accountID, id string) error
	// PutProfileChoice remembers the profile chosen for a service
	// (replacing an earlier choice). ErrNotFound if the account has no such
	// profile.
	PutProfileChoice(ctx context.Context, c ProfileChoice) error
	// GetProfileChoice returns the choice remembered for the service, or
	// ErrNotFound.
	GetProfileChoice(ctx context.Context, accountID, clientID string) (ProfileChoice, error)
}

// DefaultProfileID is the ID of an account's implicit main profile. It is
// derived from the account ID, so it is the same before and after the
// profile is stored (a service that already knows "sub" learns nothing).
func DefaultProfileID(accountID string) string {
	h := sha256.Sum256([]byte("kundencenter/profile/main\x00" + accountID))
	return "p" + base64.RawURLEncoding.EncodeToString(h[:16])
}

// ProfileView is a profile with its data opened and, for the main
// profile, completed from "Meine Daten". BirthDate is the person's, the
// same for every profile.
type ProfileView struct {
	ID       string
	Main     bool
	Stored   bool // false for the implicit main profile of an account without stored profiles
	Name     string
	Data     ProfileData // Name included; for the main profile with Personal's names, address and e-mail
	Birth    string      // YYYY-MM-DD or ""
	Created  time.Time
	Modified time.Time
}

// ProfileInput is what the profile form submits. Country is "CH", "LI" or
// "other" (then CountryName names it), as in DataInput.
type ProfileInput struct {
	Name                                      string
	GivenName, FamilyName                     string
	Street, HouseNumber, PostalCode, Locality string
	Country, CountryName                      string
	Email, Phone                              string
}

func (s *Service) openProfile(p Profile) (ProfileData, error) {
	var d ProfileData
	if len(p.Sealed) == 0 {
		return d, nil
	}
	raw, err := s.OpenFor(p.AccountID, "profile:"+p.ID, p.Sealed)
	if err != nil {
		return d, fmt.Errorf("open profile %s: %w", p.ID, err)
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, fmt.Errorf("decode profile %s: %w", p.ID, err)
	}
	return d, nil
}

func (s *Service) sealProfile(p *Profile, d ProfileData) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	p.Sealed = s.SealFor(p.AccountID, "profile:"+p.ID, raw)
	return nil
}

// view opens p and completes a main profile from the personal data.
func (s *Service) view(p Profile, pd Personal, stored bool) (ProfileView, error) {
	d, err := s.openProfile(p)
	if err != nil {
		return ProfileView{}, err
	}
	if p.Main {
		d.GivenName, d.FamilyName, d.Email = pd.GivenName, pd.FamilyName, pd.Email
		d.Street, d.HouseNumber, d.PostalCode, d.Locality, d.Country = pd.Street, pd.HouseNumber, pd.PostalCode, pd.Locality, pd.Country
	}
	return ProfileView{ID: p.ID, Main: p.Main, Stored: stored, Name: d.Name, Data: d, Birth: pd.BirthDate,
		Created: p.CreatedAt, Modified: p.UpdatedAt}, nil
}

// implicitMain is the main profile of an account without stored profiles.
func implicitMain(a Account) Profile {
	return Profile{ID: DefaultProfileID(a.ID), AccountID: a.ID, Main: true, CreatedAt: a.CreatedAt, UpdatedAt: a.CreatedAt}
}

// Profiles returns the account's profiles, oldest first; an account that
// never stored one has its implicit main profile. Never empty.
func (s *Service) Profiles(ctx context.Context, accountID string) ([]ProfileView, error) {
	a, err := s.store.GetAccount(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("load account: %w", err)
	}
	return s.profilesOf(ctx, a)
}

func (s *Service) profilesOf(ctx context.Context, a Account) ([]ProfileView, error) {
	pd, err := s.Personal(a)
	if err != nil {
		return nil, err
	}
	ps, err := s.store.ListProfiles(ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("list profiles: %w", err)
	}
	if len(ps) == 0 {
		v, err := s.view(implicitMain(a), pd, false)
		return []ProfileView{v}, err
	}
	out := make([]ProfileView, 0, len(ps))
	for _, p := range ps {
		v, err := s.view(p, pd, true)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// ProfileIDForToken is ProfileForToken without the data: the ID of the
// profile a token names (checked to exist) or, for "", of the account's
// first profile. One store query and no decryption, for the token hot
// paths that need only the profile claim.
func (s *Service) ProfileIDForToken(ctx context.Context, accountID, id string) (string, error) {
	ps, err := s.store.ListProfiles(ctx, accountID)
	if err != nil {
		return "", fmt.Errorf("list profiles: %w", err)
	}
	if len(ps) == 0 {
		if main := DefaultProfileID(accountID); id == "" || id == main {
			return main, nil
		}
		return "", ErrNotFound
	}
	if id == "" {
		return ps[0].ID, nil
	}
	for _, p := range ps {
		if p.ID == id {
			return id, nil
		}
	}
	return "", ErrNotFound
}

// Profile returns one of the account's profiles (the implicit main
// profile too); ErrNotFound if the account has no such profile.
func (s *Service) Profile(ctx context.Context, accountID, id string) (ProfileView, error) {
	ps, err := s.Profiles(ctx, accountID)
	if err != nil {
		return ProfileView{}, err
	}
	for _, p := range ps {
		if p.ID == id {
			return p, nil
		}
	}
	return ProfileView{}, ErrNotFound
}

// ProfileForToken returns the profile a token names, for its claims: the
// profile with this ID, or for an empty ID (tokens of a login that made no
// choice) the account's first profile. ErrNotFound when the named profile
// was deleted since: the service must not see another profile instead.
func (s *Service) ProfileForToken(ctx context.Context, accountID, id string) (ProfileView, error) {
	ps, err := s.Profiles(ctx, accountID)
	if err != nil {
		return ProfileView{}, err
	}
	if id == "" {
		return ps[0], nil
	}
	for _, p := range ps {
		if p.ID == id {
			return p, nil
		}
	}
	return ProfileView{}, ErrNotFound
}

// normalizePhone reads a contact phone number ("+41 31 123 45 67",
// "0041 31 …", "031 123 45 67" as a Swiss number) into E.164; spaces,
// dots, dashes, slashes and parentheses are ignored. Unlike the mobile
// numbers of the second factor, any country and any line type is fine.
func normalizePhone(raw string) (string, bool) {
	s := strings.ReplaceAll(strings.TrimSpace(raw), "(0)", "")
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '\u00a0' || r == '.' || r == '-' || r == '/' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	s = b.String()
	var intl string
	switch {
	case strings.HasPrefix(s, "+"):
		intl = s[1:]
	case strings.HasPrefix(s, "00"):
		intl = s[2:]
	case strings.HasPrefix(s, "0"):
		intl = "41" + s[1:]
	default:
		return "", false
	}
	if strings.HasPrefix(intl, "410") {
		intl = "41" + intl[3:] // "+41 031 …": the trunk 0 written after the country code
	}
	if strings.HasPrefix(intl, "41") && len(intl) != 11 {
		return "", false // Swiss numbers: 9 digits after +41
	}
	if len(intl) < 8 || len(intl) > 15 || intl[0] == '0' {
		return "", false
	}
	return "+" + intl, true
}

// checkProfile validates the input (trimmed in place) for a profile; main
// profiles take only the display name and the phone. Names and the postal
// address are checked exactly as under "Meine Daten" (checkData), with the
// same field names and messages.
func (s *Service) checkProfile(in *ProfileInput, main bool) (ProfileData, error) {
	for _, f := range []*string{&in.Name, &in.Email, &in.Phone} {
		*f = strings.Join(strings.Fields(*f), " ")
	}
	v := &ValidationError{}
	var d ProfileData
	if !main {
		// The birth date and language belong to the account, not to a
		// profile: they are left out of the check.
		p, _, err := s.checkData(&DataInput{GivenName: in.GivenName, FamilyName: in.FamilyName, Street: in.Street,
			HouseNumber: in.HouseNumber, PostalCode: in.PostalCode, Locality: in.Locality, Country: in.Country,
			CountryName: in.CountryName, Locale: Locales[0]})
		var ve *ValidationError
		if errors.As(err, &ve) {
			v.Fields = ve.Fields
		} else if err != nil {
			return d, err
		}
		d = ProfileData{GivenName: p.GivenName, FamilyName: p.FamilyName, Street: p.Street, HouseNumber: p.HouseNumber,
			PostalCode: p.PostalCode, Locality: p.Locality, Country: p.Country}
		in.GivenName, in.FamilyName = p.GivenName, p.FamilyName
		if in.Email != "" {
			d.Email = NormalizeEmail(in.Email)
			if !ValidEmail(d.Email) {
				v.add("contact_email", "err.email_invalid")
			}
		}
	}
	plainText(v, "profile_name", in.Name, true, maxProfileNameLen)
	d.Name = in.Name
	if in.Phone != "" {
		if e164, ok := normalizePhone(in.Phone); ok {
			d.Phone = e164
		} else {
			v.add("contact_phone", "err.contact_phone_invalid")
		}
	}
	return d, v.orNil()
}

// ensureMain stores the implicit main profile of an account without
// stored profiles (idempotent; concurrent calls store it once).
func (s *Service) ensureMain(ctx context.Context, accountID string) error {
	a, err := s.store.GetAccount(ctx, accountID)
	if err != nil {
		return fmt.Errorf("load account: %w", err)
	}
	p := implicitMain(a)
	p.CreatedAt, p.UpdatedAt = s.Now(), s.Now()
	if err := s.sealProfile(&p, ProfileData{}); err != nil {
		return err
	}
	_, err = s.store.EnsureProfile(ctx, p)
	if err != nil && !errors.Is(err, ErrConflict) {
		return fmt.Errorf("store main profile: %w", err)
	}
	return nil
}

// CreateProfile validates and stores a new profile. The implicit main
// profile is stored first, so that "Meine Daten" stays a profile next to
// the new one. The audit log records the profile ID, never its data.
func (s *Service) CreateProfile(ctx context.Context, accountID string, in ProfileInput) (ProfileView, error) {
	d, err := s.checkProfile(&in, false)
	if err != nil {
		return ProfileView{}, err
	}
	if err := s.ensureMain(ctx, accountID); err != nil {
		return ProfileView{}, err
	}
	now := s.Now()
	p := Profile{ID: NewID(), AccountID: accountID, CreatedAt: now, UpdatedAt: now}
	if err := s.sealProfile(&p, d); err != nil {
		return ProfileView{}, err
	}
	if err := s.store.CreateProfile(ctx, p, MaxProfiles); err != nil {
		return ProfileView{}, fmt.Errorf("create profile: %w", err)
	}
	s.audit(ctx, accountID, "profile.created", accountID, "profile="+p.ID)
	return s.Profile(ctx, accountID, p.ID)
}

// UpdateProfile validates and stores a profile's data; for the main
// profile only the display name and phone (the rest is "Meine Daten").
// ErrNotFound if the account has no such profile.
func (s *Service) UpdateProfile(ctx context.Context, accountID, id string, in ProfileInput) (ProfileView, error) {
	cur, err := s.Profile(ctx, accountID, id)
	if err != nil {
		return ProfileView{}, err
	}
	d, err := s.checkProfile(&in, cur.Main)
	if err != nil {
		return ProfileView{}, err
	}
	if !cur.Stored {
		if err := s.ensureMain(ctx, accountID); err != nil {
			return ProfileView{}, err
		}
	}
	var changed []string
	_, err = s.store.UpdateProfile(ctx, accountID, id, func(p Profile) (Profile, error) {
		old, err := s.openProfile(p)
		if err != nil {
			return p, err
		}
		changed = changed[:0]
		for _, f := range []struct {
			name     string
			old, new string
		}{
			{"name", old.Name, d.Name}, {"given_name", old.GivenName, d.GivenName}, {"family_name", old.FamilyName, d.FamilyName},
			{"street", old.Street, d.Street}, {"house_number", old.HouseNumber, d.HouseNumber},
			{"postal_code", old.PostalCode, d.PostalCode}, {"locality", old.Locality, d.Locality},
			{"country", old.Country, d.Country}, {"email", old.Email, d.Email}, {"phone", old.Phone, d.Phone},
		} {
			if f.old != f.new {
				changed = append(changed, f.name)
			}
		}
		if len(changed) == 0 {
			return p, nil
		}
		p.UpdatedAt = s.Now()
		return p, s.sealProfile(&p, d)
	})
	if err != nil {
		return ProfileView{}, fmt.Errorf("update profile: %w", err)
	}
	if len(changed) > 0 {
		s.audit(ctx, accountID, "profile.changed", accountID, "profile="+id+" fields="+strings.Join(changed, ","))
	}
	return s.Profile(ctx, accountID, id)
}

// DeleteProfile deletes one of the account's profiles and the choices
// remembered for it; ErrLastProfile for the only one (the implicit main
// profile of an account without stored profiles included), ErrMainProfile
// for the main profile, ErrNotFound for a profile the account does not
// have.
func (s *Service) DeleteProfile(ctx context.Context, accountID, id string) error {
	cur, err := s.Profile(ctx, accountID, id)
	if err != nil {
		return err
	}
	if !cur.Stored {
		return ErrLastProfile
	}
	if cur.Main {
		return ErrMainProfile
	}
	if err := s.store.DeleteProfile(ctx, accountID, id); err != nil {
		return fmt.Errorf("delete profile: %w", err)
	}
	s.audit(ctx, accountID, "profile.deleted", accountID, "profile="+id)
	return nil
}

// RememberedProfile returns the ID of the profile last chosen for the
// service, if it still exists ("" otherwise).
func (s *Service) RememberedProfile(ctx context.Context, accountID, clientID string) (string, error) {
	c, err := s.store.GetProfileChoice(ctx, accountID, clientID)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("load profile choice: %w", err)
	}
	return c.ProfileID, nil
}

// ChooseProfile checks that the profile is the account's and remembers it
// for the service (the next login there pre-selects it).
func (s *Service) ChooseProfile(ctx context.Context, accountID, clientID, id string) (ProfileView, error) {
	p, err := s.Profile(ctx, accountID, id)
	if err != nil {
		return ProfileView{}, err
	}
	if p.Stored {
		err := s.store.PutProfileChoice(ctx, ProfileChoice{AccountID: accountID, ClientID: clientID, ProfileID: id, ChosenAt: s.Now()})
		if err != nil {
			return ProfileView{}, fmt.Errorf("remember profile choice: %w", err)
		}
	}
	return p, nil
}
