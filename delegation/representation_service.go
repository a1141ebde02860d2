package delegation

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kanton/kundencenter/idp"
)

// Representation access-code lifetimes.
const (
	DefaultCodeTTL = 14 * 24 * time.Hour
	MaxCodeTTL     = 30 * 24 * time.Hour // NIST SP 800-63B's bound for codes sent by post
)

// Mail templates of the representation use cases (idp.Mail.Template).
const (
	MailRepCode      = "rep_code"      // the access code, to an address the principal typed
	MailRepAccepted  = "rep_accepted"  // to the principal: someone accepted, please confirm
	MailRepConfirmed = "rep_confirmed" // to the representative: the representation is active
	MailRepRejected  = "rep_rejected"  // to the representative: the principal refused
	MailRepEnded     = "rep_ended"     // to both: the representation ended
)

// RepLimits bound the representation use cases.
type RepLimits struct {
	CreatePerActor idp.Rule // access codes one account creates
	SendPerActor   idp.Rule // access-code mails one account sends
	CodePerActor   idp.Rule // access codes one account enters (right or wrong)
	CodePerIP      idp.Rule // access codes entered from one IP address
}

// DefaultRepLimits: a 60-bit secret behind 10 guesses per account and 30
// per IP address in 15 minutes (and an Argon2id hash per guess) is out of
// reach of guessing; the entering person gets a few typos.
var DefaultRepLimits = RepLimits{
	CreatePerActor: idp.Rule{Name: "rep_create", Limit: 20, Window: 24 * time.Hour},
	SendPerActor:   idp.Rule{Name: "rep_send", Limit: 10, Window: time.Hour},
	CodePerActor:   idp.Rule{Name: "rep_code_acct", Limit: 10, Window: 15 * time.Minute},
	CodePerIP:      idp.Rule{Name: "rep_code_ip", Limit: 30, Window: 15 * time.Minute},
}

func orRule(r, def idp.Rule) idp.Rule {
	if r.Name == "" || r.Limit <= 0 || r.Window <= 0 {
		return def
	}
	return r
}

func (s *Service) repLimits() RepLimits {
	l, d := s.cfg.RepLimits, DefaultRepLimits
	return RepLimits{CreatePerActor: orRule(l.CreatePerActor, d.CreatePerActor), SendPerActor: orRule(l.SendPerActor, d.SendPerActor),
		CodePerActor: orRule(l.CodePerActor, d.CodePerActor), CodePerIP: orRule(l.CodePerIP, d.CodePerIP)}
}

// CodeTTL is how long an access code (and then the confirmation) stays open.
func (s *Service) CodeTTL() time.Duration {
	if t := s.cfg.CodeTTL; t > 0 && t <= MaxCodeTTL {
		return t
	}
	return DefaultCodeTTL
}

// zurich is the time zone of the end dates people choose.
var zurich = func() *time.Location {
	l, err := time.LoadLocation("Europe/Zurich")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return l
}()

// maxRepYears bounds an end date.
const maxRepYears = 10

// RepInput is what the principal submits to create an access code.
type RepInput struct {
	Services   []string // client IDs of the catalogue; at least one
	ValidUntil string   // optional last day "2006-01-02" (the HTML date input)
}

// validate checks the input. Field names: services, valid_until. The
// representation ends at the start of the day after ValidUntil (Zurich).
func (s *Service) validateRep(ctx context.Context, in RepInput) ([]string, time.Time, error) {
	f := map[string][]string{}
	services := slices.Clone(in.Services)
	slices.Sort(services)
	services = slices.Compact(services)
	if len(services) == 0 {
		f["services"] = []string{"err.rep_services_required"}
	}
	for _, id := range services {
		if _, err := s.store.GetClient(ctx, id); errors.Is(err, idp.ErrNotFound) {
			f["services"] = []string{"err.service_unknown"}
			break
		} else if err != nil {
			return nil, time.Time{}, fmt.Errorf("look up client: %w", err)
		}
	}
	var until time.Time
	if d := strings.TrimSpace(in.ValidUntil); d != "" {
		day, err := time.ParseInLocation("2006-01-02", d, zurich)
		now := s.Now().In(zurich)
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, zurich)
		switch {
		case err != nil:
			f["valid_until"] = []string{"err.date_invalid"}
		case day.Before(today):
			f["valid_until"] = []string{"err.rep_date_past"}
		case day.After(today.AddDate(maxRepYears, 0, 0)):
			f["valid_until"] = []string{"err.rep_date_far"}
		default:
			until = day.AddDate(0, 0, 1).UTC()
		}
	}
	return services, until, verr(f)
}

// CreateRepresentation creates an access code for the principal (the
// actor) and returns the representation and the code, formatted for
// display. The code is shown this once; only its hash is kept.
func (s *Service) CreateRepresentation(ctx context.Context, actor string, in RepInput) (Representation, string, error) {
	services, until, err := s.validateRep(ctx, in)
	if err != nil {
		return Representation{}, "", err
	}
	if err := s.allow(ctx, []idp.Rule{s.repLimits().CreatePerActor}, []string{actor}); err != nil {
		return Representation{}, "", err
	}
	selector, secret := randomCode(codeSelectorLen), randomCode(codeSecretLen)
	hash, err := s.cfg.Hasher.Hash(ctx, secret)
	if err != nil {
		return Representation{}, "", fmt.Errorf("hash access code: %w", err)
	}
	now := s.Now()
	r := Representation{ID: idp.NewID(), PrincipalID: actor, Status: RepCreated, Services: services, ValidUntil: until,
		CodeSelector: selector, CodeHash: hash, PendingUntil: now.Add(s.CodeTTL()), CreatedAt: now, UpdatedAt: now}
	ev := []RepEvent{{RepresentationID: r.ID, At: now, Actor: actor, Action: RepEventCreated, Detail: strings.Join(services, " ")}}
	if err := s.store.CreateRepresentation(ctx, r, ev); err != nil {
		return Representation{}, "", fmt.Errorf("create representation: %w", err)
	}
	return r, FormatCode(selector + secret), nil
}

// EndRepresentation ends a representation for good: the principal or the
// representative (the actor) may, in any open state (an unused code is
// withdrawn). Both parties are told by e-mail once there are two.
func (s *Service) EndRepresentation(ctx context.Context, actor, id string) error {
	r, err := s.store.GetRepresentation(ctx, id)
	if err != nil && !errors.Is(err, idp.ErrNotFound) {
		return err
	}
	if err != nil || (r.PrincipalID != actor && r.RepresentativeID != actor) {
		return ErrForbidden
	}
	var parties []person
	for _, pid := range []string{r.PrincipalID, r.RepresentativeID} {
		if pid == "" {
			continue
		}
		p, err := s.person(ctx, pid)
		if err != nil {
			return err
		}
		parties = append(parties, p)
	}
	_, err = s.store.UpdateRepresentation(ctx, id, func(cur Representation) (Representation, []RepEvent, []idp.Outgoing, error) {
		if !cur.Open() || cur.RepresentativeID != r.RepresentativeID {
			return cur, nil, nil, ErrRepState
		}
		now := s.Now()
		cur.Status, cur.EndedAt, cur.EndedBy, cur.UpdatedAt = RepRevoked, now, actor, now
		cur.CodeSelector, cur.CodeHash = "", ""
		var out []idp.Outgoing
		if len(parties) == 2 {
			for i, p := range parties {
				o, err := s.endedMail(p, parties[1-i])
				if err != nil {
					return cur, nil, nil, err
				}
				out = append(out, o)
			}
		}
		// The services it covered hear of it in the same transaction (a
		// Security Event Token each, pushed by notify's event worker).
		if cur.RepresentativeID != "" {
			sets, err := endedEvents(cur, now)
			if err != nil {
				return cur, nil, nil, err
			}
			out = append(out, sets...)
		}
		return cur, []RepEvent{{RepresentationID: id, At: now, Actor: actor, Action: RepEventEnded}}, out, nil
	})
	return err
}

// endedMail tells p that the representation with other ended, in p's language.
func (s *Service) endedMail(p, other person) (idp.Outgoing, error) {
	return s.mail(p.email, p.acct.Locale, MailRepEnded, map[string]string{"Name": p.name,
		"PartyName": other.name, "Link": s.cfg.BaseURL + "/representations"})
}

// endedEvents are the representation-ended Security Event Tokens for the
// services r covers, one each, naming the principal as subject.
func endedEvents(r Representation, at time.Time) ([]idp.Outgoing, error) {
	var out []idp.Outgoing
	for _, client := range r.Services {
		o, err := idp.NewEventOutgoing(idp.EventNotice{JTI: idp.NewID(), ClientID: client,
			Type: idp.EventRepresentationEnded, Subject: r.PrincipalID, At: at,
			Members:  map[string]string{"representation_id": r.ID},
			Subjects: map[string]string{"representative": r.RepresentativeID}})
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// NarrowServices lets the principal take services away from an open
// representation; adding needs a new code. Field "services": none left, or
// one that was not granted.
func (s *Service) NarrowServices(ctx context.Context, actor, id string, clientIDs []string) error {
	want := slices.Clone(clientIDs)
	slices.Sort(want)
	want = slices.Compact(want)
	if len(want) == 0 {
		return verr(map[string][]string{"services": {"err.rep_services_required"}})
	}
	_, err := s.store.UpdateRepresentation(ctx, id, func(cur Representation) (Representation, []RepEvent, []idp.Outgoing, error) {
		if cur.PrincipalID != actor {
			return cur, nil, nil, ErrForbidden
		}
		if !cur.Open() {
			return cur, nil, nil, ErrRepState
		}
		for _, c := range want {
			if !cur.Covers(c) {
				return cur, nil, nil, verr(map[string][]string{"services": {"err.rep_services_narrow"}})
			}
		}
		if slices.Equal(want, cur.Services) {
			return cur, nil, nil, nil
		}
		now := s.Now()
		cur.Services, cur.UpdatedAt = want, now
		return cur, []RepEvent{{RepresentationID: id, At: now, Actor: actor, Action: RepEventServicesChanged,
			Detail: strings.Join(want, " ")}}, nil, nil
	})
	if errors.Is(err, idp.ErrNotFound) {
		return ErrForbidden
	}
	return err
}

// RecordUse appends "used at clientID" to the principal's timeline; the
// login step calls it after MayRepresent allowed the choice. ErrRepState
// if the representation is not active or does not cover the service.
func (s *Service) RecordUse(ctx context.Context, representationID, clientID string) error {
	r, err := s.store.GetRepresentation(ctx, representationID)
	if err != nil {
		return fmt.Errorf("record use: %w", err)
	}
	if !r.Active(s.Now()) || !r.Covers(clientID) {
		return ErrRepState
	}
	return s.store.AppendRepEvents(ctx, RepEvent{RepresentationID: r.ID, At: s.Now(), Actor: r.RepresentativeID,
		Action: RepEventUsed, ClientID: clientID})
}

// maxActionLen bounds a reported action's text.
const maxActionLen = 200

// RecordAction appends an action a service reports it carried out for the
// principal (the action-receipt API): a short plain text, at most 200
// characters, field "action" otherwise. The representation must cover the
// service and have been active at some time (a receipt may arrive after
// the end); ErrRepState otherwise.
func (s *Service) RecordAction(ctx context.Context, representationID, clientID, action string) error {
	action = strings.TrimSpace(action)
	if !validAction(action) {
		return verr(map[string][]string{"action": {"err.rep_action_invalid"}})
	}
	return s.recordAction(ctx, representationID, clientID, action)
}

// validAction reports whether a trimmed action text is 1 to maxActionLen
// characters of plain text (no control characters, no markup).
func validAction(action string) bool {
	return action != "" && utf8.RuneCountInString(action) <= maxActionLen && utf8.ValidString(action) &&
		!strings.ContainsFunc(action, func(r rune) bool { return unicode.IsControl(r) || r == '<' || r == '>' })
}

// recordAction appends a checked action text (plain or, from
// RecordActionTexts, its languages encoded) to the timeline.
func (s *Service) recordAction(ctx context.Context, representationID, clientID, text string) error {
	r, err := s.store.GetRepresentation(ctx, representationID)
	if err != nil {
		return fmt.Errorf("record action: %w", err)
	}
	if r.ConfirmedAt.IsZero() || !r.Covers(clientID) {
		return ErrRepState
	}
	// The text comes from a service and may name the person or the matter:
	// it is stored sealed for the principal like other personal data.
	return s.store.AppendRepEvents(ctx, RepEvent{RepresentationID: r.ID, At: s.Now(), Actor: r.RepresentativeID,
		Action: RepEventAction, ClientID: clientID, Detail: sealedPrefix + base64.RawURLEncoding.EncodeToString(
			s.idp.SealFor(r.PrincipalID, sealAction, []byte(text)))})
}

// Sealing of action texts in the timeline.
const (
	sealedPrefix = "sealed:"
	sealAction   = "rep.action"
)

// openDetail opens a sealed action text; "" when it cannot be opened (the
// key is gone, or the principal's account with it).
func (s *Service) openDetail(principalID, detail string) string {
	enc, ok := strings.CutPrefix(detail, sealedPrefix)
	if !ok {
		return detail
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return ""
	}
	plain, err := s.idp.OpenFor(principalID, sealAction, raw)
	if err != nil {
		return ""
	}
	return string(plain)
}

// RepView is a representation as one of its parties sees it.
type RepView struct {
	Representation Representation
	State          RepStatus // effective state now
	AsPrincipal    bool      // the viewer is the principal
	// The other party: the principal's name for the representative; the
	// representative's name and Konto-ID for the principal once accepted
	// ("" for a deleted account or before acceptance).
	OtherName, OtherKontoID string
}

func (s *Service) repView(ctx context.Context, actor string, r Representation) RepView {
	v := RepView{Representation: r, State: r.State(s.Now()), AsPrincipal: r.PrincipalID == actor}
	other := r.PrincipalID
	if v.AsPrincipal {
		other = r.RepresentativeID
	}
	if other != "" {
		if p, err := s.person(ctx, other); err == nil {
			v.OtherName = p.name
			if v.AsPrincipal {
				v.OtherKontoID = p.acct.KontoID
			}
		}
	}
	return v
}

// MyRepresentations lists the representations the actor is a party of,
// newest first.
func (s *Service) MyRepresentations(ctx context.Context, actor string) ([]RepView, error) {
	list, err := s.store.ListRepresentations(ctx, actor)
	if err != nil {
		return nil, fmt.Errorf("list representations: %w", err)
	}
	out := make([]RepView, 0, len(list))
	for _, r := range list {
		out = append(out, s.repView(ctx, actor, r))
	}
	return out, nil
}

// RepresentationFor returns one representation as the actor (a party)
// sees it; ErrForbidden for anyone else and for an unknown ID.
func (s *Service) RepresentationFor(ctx context.Context, actor, id string) (RepView, error) {
	r, err := s.store.GetRepresentation(ctx, id)
	if errors.Is(err, idp.ErrNotFound) || (err == nil && r.PrincipalID != actor && r.RepresentativeID != actor) {
		return RepView{}, ErrForbidden
	}
	if err != nil {
		return RepView{}, err
	}
	return s.repView(ctx, actor, r), nil
}

// Timeline returns the principal's view of what happened in their name,
// newest first; ErrForbidden for anyone but the principal.
func (s *Service) Timeline(ctx context.Context, actor, id string) ([]RepEvent, error) {
	r, err := s.store.GetRepresentation(ctx, id)
	if err != nil && !errors.Is(err, idp.ErrNotFound) {
		return nil, err
	}
	if err != nil || r.PrincipalID != actor {
		return nil, ErrForbidden
	}
	events, err := s.store.ListRepEvents(ctx, id, eventListLength)
	if err != nil {
		return nil, err
	}
	for i := range events {
		if events[i].Action == RepEventAction {
			events[i].Detail = s.openDetail(r.PrincipalID, events[i].Detail)
		}
	}
	return events, nil
}
