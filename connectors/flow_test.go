package connectors_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/connectors"
	"github.com/kanton/kundencenter/connectors/connectortest"
	"github.com/kanton/kundencenter/connectors/swissid"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/store/memory"
)

const redirectURL = "http://localhost:8080/login/swissid/callback"

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

type env struct {
	prov  *connectortest.Provider
	flow  *connectors.Flow
	clock *clock
}

// newEnv starts a SwissID stand-in and a flow over the given ephemeral
// store ("memory" or "redis").
func newEnv(t *testing.T, store string) *env {
	t.Helper()
	prov := connectortest.New(t, connectortest.Options{RedirectURL: redirectURL})
	c := &clock{t: time.Now().UTC()}
	var eph idp.Ephemeral
	switch store {
	case "memory":
		m := memory.New(c.now)
		t.Cleanup(func() { _ = m.Close() })
		eph = m
	case "redis":
		eph = idptest.Redis(t)
	}
	conn, err := swissid.New(prov.Config("swissid"), prov.Client())
	if err != nil {
		t.Fatalf("swissid.New: %v", err)
	}
	reg, err := connectors.NewRegistry(conn)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return &env{prov: prov, flow: &connectors.Flow{Connectors: reg, Ephemeral: eph, Now: c.now}, clock: c}
}

func (e *env) begin(t *testing.T, req connectors.Request) (authURL *url.URL, cookie string) {
	t.Helper()
	u, cookie, err := e.flow.Begin(t.Context(), "swissid", req)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatalf("Begin returned %q: %v", u, err)
	}
	return parsed, cookie
}

func TestFlow(t *testing.T) {
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			t.Run("QoA1", func(t *testing.T) { testQoA1(t, newEnv(t, store)) })
			t.Run("QoA2", func(t *testing.T) { testQoA2(t, newEnv(t, store)) })
			t.Run("StateSingleUse", func(t *testing.T) { testStateSingleUse(t, newEnv(t, store)) })
			t.Run("OtherBrowser", func(t *testing.T) { testOtherBrowser(t, newEnv(t, store)) })
			t.Run("UpstreamErrors", func(t *testing.T) { testUpstreamErrors(t, newEnv(t, store)) })
		})
	}
	t.Run("Expired", func(t *testing.T) { testExpired(t, newEnv(t, "memory")) })
	t.Run("LevelUnsupported", func(t *testing.T) { testLevelUnsupported(t, newEnv(t, "memory")) })
}

func testQoA1(t *testing.T, e *env) {
	authURL, cookie := e.begin(t, connectors.Request{ACR: idp.LevelLow, Locale: "fr",
		LoginHint: "anna.muster@example.ch", AuthRequestID: "ar-1", Purpose: "login"})
	q := authURL.Query()
	want := map[string]string{
		"response_type": "code", "client_id": e.prov.ClientID(), "redirect_uri": redirectURL,
		"acr_values": "qoa1", "ui_locales": "fr", "login_hint": "anna.muster@example.ch",
		"code_challenge_method": "S256", "scope": "openid profile email",
	}
	for k, v := range want {
		if got := q.Get(k); got != v {
			t.Errorf("authorize %s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 43 {
			t.Errorf("authorize %s = %q, want a random value of 256 bits", k, q.Get(k))
		}
	}
	if q.Has("prompt") || q.Has("max_age") {
		t.Errorf("authorize sends prompt/max_age without a step-up: %v", q)
	}
	if authURL.String()[:len(e.prov.Issuer)] != e.prov.Issuer {
		t.Errorf("authorize URL %s is not at the provider", authURL)
	}

	id, st, err := e.flow.Finish(t.Context(), cookie, e.prov.Login(t, authURL.String()))
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if st.AuthRequestID != "ar-1" || st.Purpose != "login" || st.ACR != idp.LevelLow || st.Connector != "swissid" {
		t.Errorf("LoginState = %+v", st)
	}
	// The PKCE verifier sent at the token endpoint matched the challenge.
	sum := sha256.Sum256([]byte(st.Verifier))
	if got := base64.RawURLEncoding.EncodeToString(sum[:]); got != q.Get("code_challenge") {
		t.Errorf("code_challenge %q is not S256 of the stored verifier", q.Get("code_challenge"))
	}
	wantID := connectors.Identity{
		Connector: "swissid", Issuer: e.prov.Issuer, Subject: "swissid-subject-1",
		Email: "anna.muster@example.ch", EmailVerified: true, GivenName: "Anna", FamilyName: "Muster",
		Locale: "de", AuthLevel: idp.LevelLow, AMR: []string{"pwd", idp.AMRFed},
		ProofingLevel: idp.ProofingSelfDeclared,
		Claims:        map[string]string{"acr": "qoa1", "urn:swissid:qor": "qor0"},
	}
	checkIdentity(t, id, wantID)
	if got := e.prov.TokenAuthMethods(); !slices.Equal(got, []string{"client_secret_basic"}) {
		t.Errorf("token endpoint authentication = %v, want client_secret_basic", got)
	}
}

func testQoA2(t *testing.T, e *env) {
	e.prov.SetUser(connectortest.User{Subject: "sub-qor1", Email: "beat@example.ch", GivenName: "Beat",
		FirstName: "Beat Hans", FamilyName: "Keller", Language: "it", QoR: "qor1", DateOfBirth: "1980-02-29"})
	authURL, cookie := e.begin(t, connectors.Request{ACR: idp.LevelSubstantial})
	if got := authURL.Query().Get("acr_values"); got != "qoa2" {
		t.Errorf("acr_values = %q, want qoa2", got)
	}
	id, _, err := e.flow.Finish(t.Context(), cookie, e.prov.Login(t, authURL.String()))
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	checkIdentity(t, id, connectors.Identity{
		Connector: "swissid", Issuer: e.prov.Issuer, Subject: "sub-qor1",
		Email: "beat@example.ch", GivenName: "Beat Hans", FamilyName: "Keller",
		BirthDate: "1980-02-29", BirthDateVerified: true, Locale: "it",
		AuthLevel: idp.LevelSubstantial, AMR: []string{"pwd", "sms", idp.AMRFed},
		ProofingLevel: idp.ProofingVerified,
		Claims:        map[string]string{"acr": "qoa2", "urn:swissid:qor": "qor1"},
	})

	// Step-up: a qoa1 login asked again at qoa2 with prompt=login.
	req := connectors.Request{ACR: idp.LevelLow, AuthRequestID: "ar-2"}.StepUp(idp.LevelSubstantial)
	authURL, _ = e.begin(t, req)
	q := authURL.Query()
	if q.Get("acr_values") != "qoa2" || q.Get("prompt") != "login" {
		t.Errorf("step-up authorize: acr_values=%q prompt=%q, want qoa2 and login", q.Get("acr_values"), q.Get("prompt"))
	}
}

func checkIdentity(t *testing.T, got, want connectors.Identity) {
	t.Helper()
	if got.AuthTime.IsZero() || time.Since(got.AuthTime) > time.Minute || got.AuthTime.Location() != time.UTC {
		t.Errorf("AuthTime = %v, want about now in UTC", got.AuthTime)
	}
	got.AuthTime = time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("identity:\n got %+v\nwant %+v", got, want)
	}
}

func testStateSingleUse(t *testing.T, e *env) {
	authURL, cookie := e.begin(t, connectors.Request{})
	back := e.prov.Login(t, authURL.String())
	if _, _, err := e.flow.Finish(t.Context(), cookie, back); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	// The same callback again (a replay, or the back button).
	id, _, err := e.flow.Finish(t.Context(), cookie, back)
	if !errors.Is(err, connectors.ErrUnknownState) || id.Subject != "" {
		t.Errorf("replayed Finish = %+v, %v; want ErrUnknownState and no identity", id, err)
	}
	for _, c := range []string{"", "never-issued"} {
		if id, _, err := e.flow.Finish(t.Context(), c, back); !errors.Is(err, connectors.ErrUnknownState) || id.Subject != "" {
			t.Errorf("Finish with cookie %q = %+v, %v; want ErrUnknownState", c, id, err)
		}
	}
}

// testOtherBrowser: a callback carrying another browser's state (login
// CSRF: the attacker's code in the victim's browser) is refused, and the
// victim's pending login is used up.
func testOtherBrowser(t *testing.T, e *env) {
	attackerURL, _ := e.begin(t, connectors.Request{})
	_, victimCookie := e.begin(t, connectors.Request{AuthRequestID: "victim"})
	attackerBack := e.prov.Login(t, attackerURL.String())

	id, st, err := e.flow.Finish(t.Context(), victimCookie, attackerBack)
	if !errors.Is(err, connectors.ErrStateMismatch) || id.Subject != "" {
		t.Fatalf("Finish with another browser's state = %+v, %v; want ErrStateMismatch and no identity", id, err)
	}
	if st.AuthRequestID != "victim" {
		t.Errorf("LoginState on mismatch = %+v, want the victim's (to send them back)", st)
	}
	// A state-less callback is refused too.
	_, cookie := e.begin(t, connectors.Request{})
	q := url.Values{"code": attackerBack["code"]}
	if _, _, err := e.flow.Finish(t.Context(), cookie, q); !errors.Is(err, connectors.ErrStateMismatch) {
		t.Errorf("Finish without state: %v, want ErrStateMismatch", err)
	}
}

func testExpired(t *testing.T, e *env) {
	authURL, cookie := e.begin(t, connectors.Request{})
	back := e.prov.Login(t, authURL.String())
	e.clock.advance(connectors.DefaultStateTTL + time.Second)
	if id, _, err := e.flow.Finish(t.Context(), cookie, back); !errors.Is(err, connectors.ErrUnknownState) || id.Subject != "" {
		t.Errorf("Finish after the TTL = %+v, %v; want ErrUnknownState", id, err)
	}
}

func testUpstreamErrors(t *testing.T, e *env) {
	for _, tc := range []struct {
		code, desc string
		cancelled  bool
	}{
		{connectors.ErrorAccessDenied, "The user denied consent", true},
		{connectors.ErrorAuthenticationCancelled, "", true},
		{connectors.ErrorInteractionRequired, "", false},
		{connectors.ErrorTemporarilyUnavailable, "maintenance\r\nX-Injected: 1", false},
	} {
		e.prov.SetKnobs(connectortest.Knobs{Error: tc.code, ErrorDescription: tc.desc})
		authURL, cookie := e.begin(t, connectors.Request{})
		id, _, err := e.flow.Finish(t.Context(), cookie, e.prov.Login(t, authURL.String()))
		var ue *connectors.UpstreamError
		if !errors.As(err, &ue) || id.Subject != "" {
			t.Errorf("%s: Finish = %+v, %v; want *UpstreamError and no identity", tc.code, id, err)
			continue
		}
		if ue.Code != tc.code || ue.Cancelled() != tc.cancelled {
			t.Errorf("%s: UpstreamError %+v, Cancelled %v", tc.code, ue, ue.Cancelled())
		}
		for _, r := range ue.Description {
			if r < 0x20 {
				t.Errorf("%s: description keeps control characters: %q", tc.code, ue.Description)
			}
		}
	}
}

func testLevelUnsupported(t *testing.T, e *env) {
	_, _, err := e.flow.Begin(t.Context(), "swissid", connectors.Request{ACR: idp.LevelHigh})
	if !errors.Is(err, connectors.ErrLevelUnsupported) {
		t.Errorf("Begin at high = %v, want ErrLevelUnsupported (SwissID's best is qoa2)", err)
	}
	if _, _, err := e.flow.Begin(t.Context(), "agov", connectors.Request{}); !errors.Is(err, connectors.ErrUnknownConnector) {
		t.Errorf("Begin at an unknown connector = %v, want ErrUnknownConnector", err)
	}
}
