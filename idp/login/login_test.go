package login

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestNeedAndAfterFirstFactor(t *testing.T) {
	t.Parallel()
	phone := Factors{Phone: true}
	tests := []struct {
		name      string
		requested Level
		f         Factors
		next      string
		need      Level
		step      Next
	}{
		{"one factor is enough", Low, Factors{}, "", Low, OpenSession},
		{"two-factor login on", Low, Factors{Phone: true, Required: true}, "", Substantial, SecondFactor},
		{"security page re-authenticates", Low, phone, "/security", Substantial, SecondFactor},
		{"deletion re-authenticates", Low, phone, "/account/delete", Substantial, SecondFactor},
		{"data page does not", Low, phone, "/account/data", Low, OpenSession},
		{"re-authentication without a factor", Low, Factors{}, "/security", Low, OpenSession},
		{"service needs two factors, none enrolled", Substantial, Factors{}, "", Substantial, Enrol},
		{"recovery codes alone reach substantial", Substantial, Factors{Recovery: 3}, "", Substantial, SecondFactor},
		{"high needs a passkey", High, phone, "", High, Unmet},
		{"passkey reaches high", High, Factors{Passkeys: 1}, "", High, SecondFactor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rule, _ := Action(tc.next)
			need := Need(tc.requested, tc.f, rule)
			if need != tc.need {
				t.Fatalf("need %d, want %d", need, tc.need)
			}
			if got := AfterFirstFactor(need, tc.f); got != tc.step {
				t.Fatalf("step %d, want %d", got, tc.step)
			}
		})
	}
}

func TestActionsAreTheOnlyLocalTargets(t *testing.T) {
	t.Parallel()
	for _, next := range []string{"", "https://evil.example", "//evil.example", "/security/../x"} {
		if _, ok := Action(next); ok {
			t.Errorf("%q accepted as a local page", next)
		}
	}
}

func TestRuleAllows(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
	sec, _ := Action("/security")
	tests := []struct {
		name string
		age  time.Duration
		have Level
		f    Factors
		want bool
	}{
		{"fresh with the factor", time.Minute, Substantial, Factors{Phone: true}, true},
		{"fresh without the factor", time.Minute, Low, Factors{Phone: true}, false},
		{"fresh, no factor enrolled", time.Minute, Low, Factors{}, true},
		{"stale", FreshFor + time.Second, High, Factors{Passkeys: 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sec.Allows(now, now.Add(-tc.age), tc.have, tc.f); got != tc.want {
				t.Fatalf("Allows = %v, want %v", got, tc.want)
			}
		})
	}
}

// fakes of the flow's contracts.
type fakeRequests struct {
	stored    map[string]Request
	loads     int
	writes    int
	completed map[string]Session
}

func (f *fakeRequests) Load(_ context.Context, id string) (Request, error) {
	f.loads++
	r, ok := f.stored[id]
	if !ok {
		return Request{}, errors.New("not found")
	}
	return r, nil
}

func (f *fakeRequests) Save(_ context.Context, r Request) error {
	f.writes++
	f.stored[r.ID] = r
	return nil
}

func (f *fakeRequests) Complete(_ context.Context, r Request, s Session) (string, error) {
	f.writes++
	f.stored[r.ID] = r
	f.completed[r.ID] = s
	return "/authorize/callback?id=" + r.ID, nil
}

type fakeActing struct{ has bool }

func (f fakeActing) HasActingChoices(context.Context, string, string) (bool, error) {
	return f.has, nil
}

type fakeProfiles struct {
	ids        []string
	remembered string
}

func (f fakeProfiles) ProfileIDs(context.Context, string) ([]string, error) { return f.ids, nil }
func (f fakeProfiles) RememberedProfile(context.Context, string, string) (string, error) {
	return f.remembered, nil
}

type fakeRecorder struct{ used []Acting }

func (f *fakeRecorder) ActingUsed(_ context.Context, _, _ string, a Acting) {
	f.used = append(f.used, a)
}

func newFlow(req Request, acting bool, p fakeProfiles) (*Flow, *fakeRequests, *fakeRecorder) {
	rs := &fakeRequests{stored: map[string]Request{req.ID: req}, completed: map[string]Session{}}
	rec := &fakeRecorder{}
	return &Flow{Requests: rs, Acting: fakeActing{acting}, Profiles: p, Recorder: rec}, rs, rec
}

func TestContinue(t *testing.T) {
	t.Parallel()
	s := Session{ID: "s1", AccountID: "a1"}
	tests := []struct {
		name     string
		req      Request
		acting   bool
		profiles fakeProfiles
		step     Step
		profile  string
	}{
		{"nothing to choose", Request{ID: "r"}, false, fakeProfiles{ids: []string{"p1"}}, Done, "p1"},
		{"acting choices", Request{ID: "r"}, true, fakeProfiles{ids: []string{"p1"}}, ChooseActing, ""},
		{"acting already answered", Request{ID: "r", ActingChosen: true}, true, fakeProfiles{ids: []string{"p1"}}, Done, "p1"},
		{"several profiles", Request{ID: "r", ActingChosen: true}, true, fakeProfiles{ids: []string{"p1", "p2"}}, ChooseProfile, ""},
		{"prompt=none asks nothing, takes the remembered profile", Request{ID: "r", PromptNone: true}, true,
			fakeProfiles{ids: []string{"p1", "p2"}, remembered: "p2"}, Done, "p2"},
		{"a remembered profile since deleted", Request{ID: "r", PromptNone: true}, false,
			fakeProfiles{ids: []string{"p1", "p2"}, remembered: "gone"}, Done, "p1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, rs, _ := newFlow(tc.req, tc.acting, tc.profiles)
			res, err := f.Continue(t.Context(), "r", s)
			if err != nil {
				t.Fatal(err)
			}
			if res.Step != tc.step {
				t.Fatalf("step %d, want %d", res.Step, tc.step)
			}
			if rs.loads != 1 {
				t.Errorf("auth request read %d times, want once", rs.loads)
			}
			wantWrites := 0
			if tc.step == Done {
				wantWrites = 1
				if rs.stored["r"].Profile != tc.profile || rs.completed["r"].ID != "s1" {
					t.Errorf("completed with %+v", rs.stored["r"])
				}
			}
			if rs.writes != wantWrites {
				t.Errorf("%d writes, want %d", rs.writes, wantWrites)
			}
		})
	}
}

// TestActingRecordedOnCompletion: choosing whom to act for and then
// leaving at the profile choice records nothing; completing records once.
func TestActingRecordedOnCompletion(t *testing.T) {
	t.Parallel()
	s := Session{ID: "s1", AccountID: "a1"}
	f, rs, rec := newFlow(Request{ID: "r", ClientID: "svc"}, true, fakeProfiles{ids: []string{"p1", "p2"}})
	rep := Acting{Kind: "person", ID: "rep-1"}
	res, err := f.ChooseActing(t.Context(), "r", s, rep)
	if err != nil || res.Step != ChooseProfile {
		t.Fatalf("after the acting choice: %+v %v", res, err)
	}
	if len(rec.used) != 0 {
		t.Fatalf("acting recorded before the login completed: %v", rec.used)
	}
	if got := rs.stored["r"]; !got.ActingChosen || got.Acting != rep {
		t.Fatalf("choice not kept for the next page: %+v", got)
	}
	res, err = f.ChooseProfile(t.Context(), "r", s, "p2")
	if err != nil || res.Step != Done || rs.stored["r"].Profile != "p2" {
		t.Fatalf("after the profile choice: %+v %v", res, err)
	}
	if len(rec.used) != 1 || rec.used[0] != rep {
		t.Fatalf("acting recorded %v, want once %v", rec.used, rep)
	}
}

// TestNoHTTP: the login rules do not depend on net/http (nor on idp,
// which does today).
func TestNoHTTP(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "net/http" || strings.HasPrefix(p, "github.com/kanton/kundencenter/") && p != "github.com/kanton/kundencenter/idp/login" {
			t.Errorf("idp/login depends on %s", p)
		}
	}
}
