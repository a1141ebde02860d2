package delegation_test

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
)

// repParties are a principal P, a representative R and a stranger S.
type repParties struct {
	p, r, s idp.Account
}

func (e *env) parties(t *testing.T) repParties {
	t.Helper()
	return repParties{
		p: e.account(t, "Paula", "paula@example.ch", "fr"),
		r: e.account(t, "Ruedi", "ruedi@example.ch", "de"),
		s: e.account(t, "Sandro", "sandro@example.ch", "it"),
	}
}

const repIP = "198.51.100.7"

var regexpCode = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`)

// create makes an access code of P for the forms service.
func (e *env) create(t *testing.T, principal string, in delegation.RepInput) (delegation.Representation, string) {
	t.Helper()
	if in.Services == nil {
		in.Services = []string{"forms"}
	}
	r, code, err := e.svc.CreateRepresentation(t.Context(), principal, in)
	must(t, "CreateRepresentation", err)
	return r, code
}

func (e *env) state(t *testing.T, id string) delegation.RepStatus {
	t.Helper()
	r, err := e.st.GetRepresentation(t.Context(), id)
	must(t, "GetRepresentation", err)
	return r.State(e.clock())
}

// TestRepresentationHandshake walks the handshake through every path:
// only create → accept (R) → confirm (P) gives an active representation.
func TestRepresentationHandshake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		run     func(t *testing.T, e *env, pr repParties) string // returns the representation ID
		want    delegation.RepStatus
		allowed bool // MayRepresent(R, P, forms) at the end
	}{
		{"created", func(t *testing.T, e *env, pr repParties) string {
			r, _ := e.create(t, pr.p.ID, delegation.RepInput{})
			return r.ID
		}, delegation.RepCreated, false},
		{"accepted, not yet confirmed", func(t *testing.T, e *env, pr repParties) string {
			r, code := e.create(t, pr.p.ID, delegation.RepInput{})
			_, err := e.svc.Accept(t.Context(), pr.r.ID, code, repIP)
			must(t, "Accept", err)
			return r.ID
		}, delegation.RepAccepted, false},
		{"confirmed", func(t *testing.T, e *env, pr repParties) string {
			r, code := e.create(t, pr.p.ID, delegation.RepInput{})
			_, err := e.svc.Accept(t.Context(), pr.r.ID, code, repIP)
			must(t, "Accept", err)
			_, err = e.svc.Confirm(t.Context(), pr.p.ID, r.ID)
			must(t, "Confirm", err)
			return r.ID
		}, delegation.RepConfirmed, true},
		{"code typed in lower case with spaces", func(t *testing.T, e *env, pr repParties) string {
			r, code := e.create(t, pr.p.ID, delegation.RepInput{})
			_, err := e.svc.Accept(t.Context(), pr.r.ID, " "+strings.ToLower(strings.ReplaceAll(code, "-", " "))+" ", repIP)
			must(t, "Accept", err)
			_, err = e.svc.Confirm(t.Context(), pr.p.ID, r.ID)
			must(t, "Confirm", err)
			return r.ID
		}, delegation.RepConfirmed, true},
		{"rejected", func(t *testing.T, e *env, pr repParties) string {
			r, code := e.create(t, pr.p.ID, delegation.RepInput{})
			_, err := e.svc.Accept(t.Context(), pr.r.ID, code, repIP)
			must(t, "Accept", err)
			_, err = e.svc.Reject(t.Context(), pr.p.ID, r.ID)
			must(t, "Reject", err)
			_, err = e.svc.Confirm(t.Context(), pr.p.ID, r.ID)
			wantErr(t, "Confirm after Reject", err, delegation.ErrRepState)
			return r.ID
		}, delegation.RepRejected, false},
		{"code expired before acceptance", func(t *testing.T, e *env, pr repParties) string {
			r, code := e.create(t, pr.p.ID, delegation.RepInput{})
			e.advance(delegation.DefaultCodeTTL)
			_, err := e.svc.Accept(t.Context(), pr.r.ID, code, repIP)
			wantErr(t, "Accept expired code", err, delegation.ErrCodeInvalid)
			return r.ID
		}, delegation.RepExpired, false},
		{"confirmation too late", func(t *testing.T, e *env, pr repParties) string {
			r, code := e.create(t, pr.p.ID, delegation.RepInput{})
			e.advance(delegation.DefaultCodeTTL - time.Hour) // accepted just in time …
			_, err := e.svc.Accept(t.Context(), pr.r.ID, code, repIP)
			must(t, "Accept", err)
			e.advance(delegation.DefaultCodeTTL) // … but P never confirmed
			_, err = e.svc.Confirm(t.Context(), pr.p.ID, r.ID)
			wantErr(t, "Confirm too late", err, delegation.ErrRepState)
			return r.ID
		}, delegation.RepExpired, false},
		{"end date passed", func(t *testing.T, e *env, pr repParties) string {
			r, code := e.create(t, pr.p.ID, delegation.RepInput{ValidUntil: e.clock().AddDate(0, 0, 30).Format("2006-01-02")})
			_, err := e.svc.Accept(t.Context(), pr.r.ID, code, repIP)
			must(t, "Accept", err)
			_, err = e.svc.Confirm(t.Context(), pr.p.ID, r.ID)
			must(t, "Confirm", err)
			if d, _ := e.svc.MayRepresent(t.Context(), pr.r.ID, pr.p.ID, "forms"); !d.Allowed {
				t.Fatal("not allowed before the end date")
			}
			e.advance(32 * 24 * time.Hour)
			return r.ID
		}, delegation.RepExpired, false},
		{"ended by the principal", func(t *testing.T, e *env, pr repParties) string {
			r, code := e.create(t, pr.p.ID, delegation.RepInput{})
			_, err := e.svc.Accept(t.Context(), pr.r.ID, code, repIP)
			must(t, "Accept", err)
			_, err = e.svc.Confirm(t.Context(), pr.p.ID, r.ID)
			must(t, "Confirm", err)
			must(t, "End", e.svc.EndRepresentation(t.Context(), pr.p.ID, r.ID))
			wantErr(t, "End twice", e.svc.EndRepresentation(t.Context(), pr.p.ID, r.ID), delegation.ErrRepState)
			return r.ID
		}, delegation.RepRevoked, false},
		{"ended by the representative", func(t *testing.T, e *env, pr repParties) string {
			r, code := e.create(t, pr.p.ID, delegation.RepInput{})
			_, err := e.svc.Accept(t.Context(), pr.r.ID, code, repIP)
			must(t, "Accept", err)
			_, err = e.svc.Confirm(t.Context(), pr.p.ID, r.ID)
			must(t, "Confirm", err)
			wantErr(t, "End by a stranger", e.svc.EndRepresentation(t.Context(), pr.s.ID, r.ID), delegation.ErrForbidden)
			must(t, "End", e.svc.EndRepresentation(t.Context(), pr.r.ID, r.ID))
			return r.ID
		}, delegation.RepRevoked, false},
		{"code withdrawn before use", func(t *testing.T, e *env, pr repParties) string {
			r, code := e.create(t, pr.p.ID, delegation.RepInput{})
			must(t, "End", e.svc.EndRepresentation(t.Context(), pr.p.ID, r.ID))
			_, err := e.svc.Accept(t.Context(), pr.r.ID, code, repIP)
			wantErr(t, "Accept withdrawn code", err, delegation.ErrCodeInvalid)
			return r.ID
		}, delegation.RepRevoked, false},
		{"principal cannot accept own code", func(t *testing.T, e *env, pr repParties) string {
			r, code := e.create(t, pr.p.ID, delegation.RepInput{})
			_, err := e.svc.Accept(t.Context(), pr.p.ID, code, repIP)
			wantErr(t, "Accept own code", err, delegation.ErrOwnCode)
			_, err = e.svc.PreviewCode(t.Context(), pr.p.ID, code, repIP)
			wantErr(t, "PreviewCode own code", err, delegation.ErrOwnCode)
			return r.ID
		}, delegation.RepCreated, false},
		{"confirm before anyone accepted", func(t *testing.T, e *env, pr repParties) string {
			r, _ := e.create(t, pr.p.ID, delegation.RepInput{})
			_, err := e.svc.Confirm(t.Context(), pr.p.ID, r.ID)
			wantErr(t, "Confirm unaccepted", err, delegation.ErrRepState)
			return r.ID
		}, delegation.RepCreated, false},
		{"only the principal confirms", func(t *testing.T, e *env, pr repParties) string {
			r, code := e.create(t, pr.p.ID, delegation.RepInput{})
			_, err := e.svc.Accept(t.Context(), pr.r.ID, code, repIP)
			must(t, "Accept", err)
			_, err = e.svc.Confirm(t.Context(), pr.r.ID, r.ID)
			wantErr(t, "Confirm by the representative", err, delegation.ErrForbidden)
			_, err = e.svc.Confirm(t.Context(), pr.s.ID, r.ID)
			wantErr(t, "Confirm by a stranger", err, delegation.ErrForbidden)
			_, err = e.svc.Reject(t.Context(), pr.s.ID, r.ID)
			wantErr(t, "Reject by a stranger", err, delegation.ErrForbidden)
			return r.ID
		}, delegation.RepAccepted, false},
		{"code used once", func(t *testing.T, e *env, pr repParties) string {
			r, code := e.create(t, pr.p.ID, delegation.RepInput{})
			_, err := e.svc.Accept(t.Context(), pr.r.ID, code, repIP)
			must(t, "Accept", err)
			_, err = e.svc.Accept(t.Context(), pr.s.ID, code, repIP)
			wantErr(t, "Accept a used code", err, delegation.ErrCodeInvalid)
			_, err = e.svc.PreviewCode(t.Context(), pr.s.ID, code, repIP)
			wantErr(t, "PreviewCode a used code", err, delegation.ErrCodeInvalid)
			return r.ID
		}, delegation.RepAccepted, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, openSQLite(t))
			pr := e.parties(t)
			id := tc.run(t, e, pr)
			if got := e.state(t, id); got != tc.want {
				t.Errorf("state %q, want %q", got, tc.want)
			}
			d, err := e.svc.MayRepresent(t.Context(), pr.r.ID, pr.p.ID, "forms")
			must(t, "MayRepresent", err)
			if d.Allowed != tc.allowed {
				t.Errorf("MayRepresent = %+v, want allowed %v", d, tc.allowed)
			}
			if d.Allowed && (d.RepresentationID != id || d.Principal != (delegation.PersonRef{AccountID: pr.p.ID, Name: "Paula Muster"})) {
				t.Errorf("decision %+v", d)
			}
			choices, err := e.svc.RepChoices(t.Context(), pr.r.ID, "forms")
			must(t, "RepChoices", err)
			if (len(choices) == 1) != tc.allowed || len(choices) > 1 {
				t.Errorf("RepChoices = %+v, want one choice: %v", choices, tc.allowed)
			}
		})
	}
}

// TestRepresentationMails: the code goes to the typed address in P's
// language naming P; acceptance, confirmation and the end are announced.
func TestRepresentationMails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ctx := t.Context()
	pr := e.parties(t)
	r, code := e.create(t, pr.p.ID, delegation.RepInput{Services: []string{"forms", "documents"}})
	if !regexpCode.MatchString(code) {
		t.Fatalf("code %q is not four groups of four Crockford characters", code)
	}

	var ve *idp.ValidationError
	if err := e.svc.SendCode(ctx, pr.p.ID, r.ID, code, "not-an-address"); !errors.As(err, &ve) || ve.Fields["email"] == nil {
		t.Fatalf("SendCode to a bad address: %v", err)
	}
	wrong := code[:5] + "0000-0000-0000"
	if wrong == code {
		wrong = code[:5] + "1111-1111-1111"
	}
	wantErr(t, "SendCode with a wrong code", e.svc.SendCode(ctx, pr.p.ID, r.ID, wrong, "vertretung@example.org"), delegation.ErrCodeInvalid)
	wantErr(t, "SendCode by someone else", e.svc.SendCode(ctx, pr.r.ID, r.ID, code, "vertretung@example.org"), delegation.ErrCodeInvalid)
	must(t, "SendCode", e.svc.SendCode(ctx, pr.p.ID, r.ID, code, "Vertretung@Example.org"))
	m, ok := e.lastMail("vertretung@example.org", delegation.MailRepCode)
	if !ok {
		t.Fatal("no access-code mail")
	}
	if m.Locale != "fr" || m.Data["PartyName"] != "Paula Muster" || m.Data["Code"] != code || m.Data["ValidDays"] != "14" ||
		m.Data["Link"] != "https://konto.example.ch/representations/enter" {
		t.Errorf("access-code mail %+v", m)
	}

	_, err := e.svc.Accept(ctx, pr.r.ID, code, repIP)
	must(t, "Accept", err)
	if m, ok := e.lastMail("paula@example.ch", delegation.MailRepAccepted); !ok || m.Data["PartyName"] != "Ruedi Muster" ||
		m.Locale != "fr" || m.Data["Link"] != "https://konto.example.ch/representations/"+r.ID {
		t.Errorf("acceptance mail to P: %+v, %v", m, ok)
	}
	wantErr(t, "SendCode after use", e.svc.SendCode(ctx, pr.p.ID, r.ID, code, "vertretung@example.org"), delegation.ErrCodeInvalid)
	_, err = e.svc.Confirm(ctx, pr.p.ID, r.ID)
	must(t, "Confirm", err)
	if m, ok := e.lastMail("ruedi@example.ch", delegation.MailRepConfirmed); !ok || m.Data["PartyName"] != "Paula Muster" || m.Locale != "de" {
		t.Errorf("confirmation mail to R: %+v, %v", m, ok)
	}
	must(t, "End", e.svc.EndRepresentation(ctx, pr.r.ID, r.ID))
	for to, other := range map[string]string{"paula@example.ch": "Ruedi Muster", "ruedi@example.ch": "Paula Muster"} {
		if m, ok := e.lastMail(to, delegation.MailRepEnded); !ok || m.Data["PartyName"] != other {
			t.Errorf("end mail to %s: %+v, %v", to, m, ok)
		}
	}
}

// TestRepresentationCodeThrottle: guesses are limited per account and per
// IP address, and within the window even the right code is refused.
func TestRepresentationCodeThrottle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ctx := t.Context()
	pr := e.parties(t)
	r, code := e.create(t, pr.p.ID, delegation.RepInput{})
	limit := int(delegation.DefaultRepLimits.CodePerActor.Limit)
	guesses := []string{"", "nonsense", "ZZZZ-ZZZZ-ZZZZ-ZZZZ", code[:5] + "0000-0000-0000", strings.Repeat("A", 500)}
	for i := range limit {
		_, err := e.svc.PreviewCode(ctx, pr.r.ID, guesses[i%len(guesses)], repIP)
		wantErr(t, "wrong code", err, delegation.ErrCodeInvalid)
	}
	_, err := e.svc.Accept(ctx, pr.r.ID, code, repIP)
	wantErr(t, "right code after the limit", err, idp.ErrRateLimited)
	if got := e.state(t, r.ID); got != delegation.RepCreated {
		t.Fatalf("a throttled attempt changed the state to %q", got)
	}
	// Another account from the same address still has its own budget, but
	// the address's budget runs out too.
	ipLimit := int(delegation.DefaultRepLimits.CodePerIP.Limit)
	for i := limit; i < ipLimit; i++ {
		_, err := e.svc.PreviewCode(ctx, pr.s.ID, "ZZZZ-ZZZZ-ZZZZ-ZZZZ", repIP)
		if err != nil && !errors.Is(err, delegation.ErrCodeInvalid) && !errors.Is(err, idp.ErrRateLimited) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	fresh := e.account(t, "Tina", "tina@example.ch", "de")
	_, err = e.svc.PreviewCode(ctx, fresh.ID, code, repIP)
	wantErr(t, "fresh account from a throttled address", err, idp.ErrRateLimited)
	// After the window the right code works.
	e.advance(delegation.DefaultRepLimits.CodePerActor.Window + time.Second)
	prev, err := e.svc.PreviewCode(ctx, pr.r.ID, code, repIP)
	must(t, "PreviewCode after the window", err)
	if prev.PrincipalName != "Paula Muster" || !reflect.DeepEqual(prev.Representation.Services, []string{"forms"}) {
		t.Errorf("preview %+v", prev)
	}
	_, err = e.svc.Accept(ctx, pr.r.ID, code, repIP)
	must(t, "Accept after the window", err)
}

// TestRepresentationValidation checks the fields of the create form.
func TestRepresentationValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	pr := e.parties(t)
	today := e.clock().In(time.FixedZone("CEST", 2*3600)).Format("2006-01-02")
	tests := []struct {
		name  string
		in    delegation.RepInput
		field string
		key   string
	}{
		{"no service", delegation.RepInput{Services: []string{}}, "services", "err.rep_services_required"},
		{"unknown service", delegation.RepInput{Services: []string{"forms", "nope"}}, "services", "err.service_unknown"},
		{"bad date", delegation.RepInput{Services: []string{"forms"}, ValidUntil: "31.12.2030"}, "valid_until", "err.date_invalid"},
		{"past date", delegation.RepInput{Services: []string{"forms"}, ValidUntil: "2020-01-01"}, "valid_until", "err.rep_date_past"},
		{"too far", delegation.RepInput{Services: []string{"forms"}, ValidUntil: "2099-01-01"}, "valid_until", "err.rep_date_far"},
		{"today is fine", delegation.RepInput{Services: []string{"forms"}, ValidUntil: today}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := e.svc.CreateRepresentation(t.Context(), pr.p.ID, tc.in)
			if tc.field == "" {
				must(t, "CreateRepresentation", err)
				return
			}
			var ve *idp.ValidationError
			if !errors.As(err, &ve) || !reflect.DeepEqual(ve.Fields[tc.field], []string{tc.key}) {
				t.Fatalf("got %v, want %s on %s", err, tc.key, tc.field)
			}
		})
	}
}

// TestMayRepresent is the decision table over services, parties and
// principals.
func TestMayRepresent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ctx := t.Context()
	pr := e.parties(t)
	other := e.account(t, "Olga", "olga@example.ch", "de")
	activate := func(principal, rep string, services ...string) string {
		r, code := e.create(t, principal, delegation.RepInput{Services: services})
		_, err := e.svc.Accept(ctx, rep, code, repIP)
		must(t, "Accept", err)
		_, err = e.svc.Confirm(ctx, principal, r.ID)
		must(t, "Confirm", err)
		return r.ID
	}
	both := activate(pr.p.ID, pr.r.ID, "forms", "documents")
	olga := activate(other.ID, pr.r.ID, "documents")
	_, code := e.create(t, pr.s.ID, delegation.RepInput{})
	_, err := e.svc.Accept(ctx, pr.r.ID, code, repIP)
	must(t, "Accept", err)

	tests := []struct {
		name                string
		rep, principal, svc string
		want                string // representation ID or "" for refused
	}{
		{"covered service", pr.r.ID, pr.p.ID, "forms", both},
		{"second covered service", pr.r.ID, pr.p.ID, "documents", both},
		{"uncovered service", pr.r.ID, other.ID, "forms", ""},
		{"other principal, covered", pr.r.ID, other.ID, "documents", olga},
		{"unknown service", pr.r.ID, pr.p.ID, "status", ""},
		{"reversed roles", pr.p.ID, pr.r.ID, "forms", ""},
		{"stranger", pr.s.ID, pr.p.ID, "forms", ""},
		{"accepted but not confirmed", pr.r.ID, pr.s.ID, "forms", ""},
		{"oneself", pr.r.ID, pr.r.ID, "forms", ""},
		{"empty client", pr.r.ID, pr.p.ID, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.svc.MayRepresent(ctx, tc.rep, tc.principal, tc.svc)
			must(t, "MayRepresent", err)
			if d.Allowed != (tc.want != "") || d.RepresentationID != tc.want {
				t.Errorf("MayRepresent = %+v, want %q", d, tc.want)
			}
		})
	}
	choices, err := e.svc.RepChoices(ctx, pr.r.ID, "documents")
	must(t, "RepChoices", err)
	if len(choices) != 2 || choices[0].Principal.Name != "Olga Muster" || choices[1].Principal.Name != "Paula Muster" {
		t.Errorf("choices for documents: %+v", choices)
	}
	if c, _ := e.svc.RepChoices(ctx, pr.r.ID, "status"); len(c) != 0 {
		t.Errorf("an uncovered service gets choices: %+v", c)
	}

	// Narrowing takes a service away at once; adding one is refused.
	var ve *idp.ValidationError
	if err := e.svc.NarrowServices(ctx, pr.p.ID, both, []string{"forms", "status"}); !errors.As(err, &ve) {
		t.Errorf("widening: %v", err)
	}
	if err := e.svc.NarrowServices(ctx, pr.p.ID, both, nil); !errors.As(err, &ve) {
		t.Errorf("narrowing to nothing: %v", err)
	}
	wantErr(t, "narrowing by the representative", e.svc.NarrowServices(ctx, pr.r.ID, both, []string{"forms"}), delegation.ErrForbidden)
	must(t, "NarrowServices", e.svc.NarrowServices(ctx, pr.p.ID, both, []string{"forms"}))
	if d, _ := e.svc.MayRepresent(ctx, pr.r.ID, pr.p.ID, "documents"); d.Allowed {
		t.Error("a removed service is still allowed")
	}
	if d, _ := e.svc.MayRepresent(ctx, pr.r.ID, pr.p.ID, "forms"); !d.Allowed {
		t.Error("the kept service is refused")
	}

	// Deleting the principal's account ends the representation.
	must(t, "DeleteAccount", e.st.DeleteAccount(ctx, other.ID))
	if d, _ := e.svc.MayRepresent(ctx, pr.r.ID, other.ID, "documents"); d.Allowed {
		t.Error("allowed for a deleted principal")
	}
	if e.state(t, olga) != delegation.RepRevoked {
		t.Error("the deleted principal's representation is not revoked")
	}
}

// TestRepresentationTimeline records uses and reported actions for P.
func TestRepresentationTimeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ctx := t.Context()
	pr := e.parties(t)
	r, code := e.create(t, pr.p.ID, delegation.RepInput{Services: []string{"forms", "documents"}})
	wantErr(t, "RecordUse before confirmation", e.svc.RecordUse(ctx, r.ID, "forms"), delegation.ErrRepState)
	_, err := e.svc.Accept(ctx, pr.r.ID, code, repIP)
	must(t, "Accept", err)
	_, err = e.svc.Confirm(ctx, pr.p.ID, r.ID)
	must(t, "Confirm", err)
	must(t, "RecordUse", e.svc.RecordUse(ctx, r.ID, "forms"))
	wantErr(t, "RecordUse uncovered", e.svc.RecordUse(ctx, r.ID, "status"), delegation.ErrRepState)
	var ve *idp.ValidationError
	if err := e.svc.RecordAction(ctx, r.ID, "forms", "<script>"); !errors.As(err, &ve) {
		t.Errorf("RecordAction with markup: %v", err)
	}
	must(t, "RecordAction", e.svc.RecordAction(ctx, r.ID, "forms", "Gesuch Parkkarte eingereicht"))
	must(t, "NarrowServices", e.svc.NarrowServices(ctx, pr.p.ID, r.ID, []string{"forms"}))
	must(t, "End", e.svc.EndRepresentation(ctx, pr.p.ID, r.ID))
	wantErr(t, "RecordUse after the end", e.svc.RecordUse(ctx, r.ID, "forms"), delegation.ErrRepState)
	must(t, "RecordAction after the end", e.svc.RecordAction(ctx, r.ID, "forms", "Quittung nachgereicht"))

	_, err = e.svc.Timeline(ctx, pr.r.ID, r.ID)
	wantErr(t, "Timeline for the representative", err, delegation.ErrForbidden)
	ev, err := e.svc.Timeline(ctx, pr.p.ID, r.ID)
	must(t, "Timeline", err)
	var got []string
	for _, x := range ev {
		got = append(got, x.Action+":"+x.ClientID+":"+x.Detail)
	}
	want := []string{"action:forms:Quittung nachgereicht", "ended::", "services_changed::forms", "action:forms:Gesuch Parkkarte eingereicht",
		"used:forms:", "confirmed::", "accepted::", "created::documents forms"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("timeline\n got  %q\n want %q", got, want)
	}
	for _, x := range ev {
		if strings.Contains(x.Detail, code) || strings.Contains(x.Detail, "@") {
			t.Errorf("an event carries a code or an address: %+v", x)
		}
	}
}

// TestConcurrentAccept lets two representatives accept one code at once,
// on both backends: exactly one wins.
func TestConcurrentAccept(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(*testing.T) store{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t))
			pr := e.parties(t)
			for round := range 3 {
				r, code := e.create(t, pr.p.ID, delegation.RepInput{})
				var wg sync.WaitGroup
				start := make(chan struct{})
				errs := make([]error, 2)
				for i, who := range []string{pr.r.ID, pr.s.ID} {
					wg.Go(func() {
						<-start
						_, errs[i] = e.svc.Accept(t.Context(), who, code, "203.0.113.50")
					})
				}
				close(start)
				wg.Wait()
				won := 0
				for _, err := range errs {
					switch {
					case err == nil:
						won++
					case !errors.Is(err, delegation.ErrCodeInvalid):
						t.Fatalf("round %d: %v", round, err)
					}
				}
				got, err := e.st.GetRepresentation(t.Context(), r.ID)
				must(t, "GetRepresentation", err)
				if won != 1 || got.Status != delegation.RepAccepted || got.RepresentativeID == "" {
					t.Fatalf("round %d: %d won, stored %+v", round, won, got)
				}
			}
		})
	}
}

// TestActionTexts: an action reported in several languages is kept sealed
// as one event; ActionText picks the page's language, else the default.
func TestActionTexts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ctx := t.Context()
	pr := e.parties(t)
	r, code := e.create(t, pr.p.ID, delegation.RepInput{Services: []string{"forms"}})
	_, err := e.svc.Accept(ctx, pr.r.ID, code, repIP)
	must(t, "Accept", err)
	_, err = e.svc.Confirm(ctx, pr.p.ID, r.ID)
	must(t, "Confirm", err)
	var ve *idp.ValidationError
	for _, texts := range []map[string]string{{"rm": "Dumonda"}, {"fr": "<i>x</i>"}, {"en": strings.Repeat("x", 201)}} {
		if err := e.svc.RecordActionTexts(ctx, r.ID, "forms", "Gesuch", texts); !errors.As(err, &ve) {
			t.Errorf("RecordActionTexts(%v): %v", texts, err)
		}
	}
	must(t, "RecordActionTexts", e.svc.RecordActionTexts(ctx, r.ID, "forms", "Gesuch gesendet", map[string]string{"fr": "Demande envoyée", "en": "Application sent"}))
	ev, err := e.svc.Timeline(ctx, pr.p.ID, r.ID)
	must(t, "Timeline", err)
	if ev[0].Action != delegation.RepEventAction {
		t.Fatalf("newest event %+v", ev[0])
	}
	for lang, want := range map[string]string{"fr": "Demande envoyée", "en": "Application sent", "it": "Gesuch gesendet", "de": "Gesuch gesendet"} {
		if got := delegation.ActionText(ev[0].Detail, lang); got != want {
			t.Errorf("ActionText(%s) = %q, want %q", lang, got, want)
		}
	}
	if got := delegation.ActionText("Quittung nachgereicht", "fr"); got != "Quittung nachgereicht" {
		t.Errorf("a plain action text: %q", got)
	}
}
