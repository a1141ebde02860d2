package passkey_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/mfa/passkey"
)

func TestConfigValidate(t *testing.T) {
	ok := passkey.Config{RPID: "konto.kanton.example", RPDisplayName: "Kundencenter",
		Origins: []string{"https://konto.kanton.example", "https://login.konto.kanton.example"}, UserHandles: fakeIndexer{}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	tests := []struct {
		name string
		mod  func(c *passkey.Config)
		want string
	}{
		{"no RP ID", func(c *passkey.Config) { c.RPID = "" }, "RP ID"},
		{"RP ID with scheme", func(c *passkey.Config) { c.RPID = "https://konto.kanton.example" }, "RP ID"},
		{"no name", func(c *passkey.Config) { c.RPDisplayName = " " }, "display name"},
		{"no origins", func(c *passkey.Config) { c.Origins = nil }, "origins"},
		{"http origin", func(c *passkey.Config) { c.Origins = []string{"http://konto.kanton.example"} }, "https"},
		{"origin with path", func(c *passkey.Config) { c.Origins = []string{"https://konto.kanton.example/login"} }, "scheme://host"},
		{"origin of another site", func(c *passkey.Config) { c.Origins = []string{"https://evil.example"} }, "not the RP ID"},
		{"suffix trick", func(c *passkey.Config) { c.Origins = []string{"https://xkonto.kanton.example"} }, "not the RP ID"},
		{"UV discouraged", func(c *passkey.Config) { c.UserVerification = "discouraged" }, "user verification"},
		{"timeout too long", func(c *passkey.Config) { c.Timeout = time.Hour }, "timeout"},
		{"timeout too short", func(c *passkey.Config) { c.Timeout = time.Second }, "timeout"},
		{"no user handle key", func(c *passkey.Config) { c.UserHandles = nil }, "user handles"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			c.Origins = append([]string(nil), ok.Origins...)
			tc.mod(&c)
			err := c.Validate()
			if !errors.Is(err, passkey.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want ErrInvalidRequest mentioning %q", err, tc.want)
			}
		})
	}
	// Every problem is reported at once.
	err := passkey.Config{Origins: []string{"ftp://x"}, Timeout: time.Hour}.Validate()
	for _, want := range []string{"RP ID", "display name", "ftp://x", "timeout", "user handles"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate of an empty config does not mention %q: %v", want, err)
		}
	}
	// localhost may use http (development, the browser tests).
	dev := ok
	dev.RPID, dev.Origins = "localhost", []string{"http://localhost:8080"}
	if err := dev.Validate(); err != nil {
		t.Errorf("http://localhost: %v", err)
	}
}

type fakeIndexer struct{}

func (fakeIndexer) Index(domain, value string) []byte { return []byte(domain + value) }

// TestOptions checks what the browser is given: challenge length (ASVS
// 6.7.2: ≥ 64 bits; go-webauthn uses 256), ceremony IDs (≥ 128 bits,
// unique), an opaque user handle, exclusions, and the policies.
func TestOptions(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	a := e.account(t)
	_, cred := e.enrol(t, a)

	reg, err := e.svc.BeginRegistration(ctx, passkey.User{AccountID: a.ID, Name: a.KontoID, DisplayName: "Anna Muster"},
		[]mfa.WebAuthnCredential{cred})
	if err != nil {
		t.Fatal(err)
	}
	var ro struct {
		Challenge string `json:"challenge"`
		RP        struct{ ID, Name string }
		User      struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			DisplayName string `json:"displayName"`
		} `json:"user"`
		Exclude []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"excludeCredentials"`
		Selection struct {
			ResidentKey      string `json:"residentKey"`
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		Attestation string `json:"attestation"`
		Timeout     int    `json:"timeout"`
	}
	if err := json.Unmarshal(reg.Options, &ro); err != nil {
		t.Fatalf("registration options %s: %v", reg.Options, err)
	}
	challenge := mustB64u(t, ro.Challenge)
	if len(challenge) < 8 || len(challenge) != 32 {
		t.Errorf("registration challenge has %d bytes, want 32 (≥ 8 required)", len(challenge))
	}
	handle := mustB64u(t, ro.User.ID)
	if len(handle) != 32 || bytes.Contains(handle, []byte(a.ID)) {
		t.Errorf("user handle %x is not an opaque 32-byte value", handle)
	}
	if !bytes.Equal(handle, e.ring.Index("webauthn-user-handle", a.ID)) {
		t.Error("user handle is not the keyed index of the account ID")
	}
	if ro.RP.ID != testRPID || ro.User.Name != a.KontoID || ro.User.DisplayName != "Anna Muster" {
		t.Errorf("rp %+v, user %q/%q", ro.RP, ro.User.Name, ro.User.DisplayName)
	}
	if len(ro.Exclude) != 1 || !bytes.Equal(mustB64u(t, ro.Exclude[0].ID), cred.ID) || ro.Exclude[0].Type != "public-key" {
		t.Errorf("excludeCredentials = %+v, want the existing credential", ro.Exclude)
	}
	if ro.Selection.ResidentKey != "preferred" || ro.Selection.UserVerification != "preferred" || ro.Attestation != "none" {
		t.Errorf("authenticatorSelection %+v, attestation %q", ro.Selection, ro.Attestation)
	}
	if ro.Timeout != int(passkey.DefaultTimeout.Milliseconds()) || !reg.ExpiresAt.Equal(e.clock.Now().Add(passkey.DefaultTimeout)) {
		t.Errorf("timeout %d ms, expires %v", ro.Timeout, reg.ExpiresAt)
	}

	login, err := e.svc.BeginLogin(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := e.svc.BeginDiscoverableLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type requestOpts struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
		Allow     []struct {
			ID         string   `json:"id"`
			Transports []string `json:"transports"`
		} `json:"allowCredentials"`
		UserVerification string `json:"userVerification"`
	}
	var lo, do requestOpts
	if err := json.Unmarshal(login.Options, &lo); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(disc.Options, &do); err != nil {
		t.Fatal(err)
	}
	if len(lo.Allow) != 1 || !bytes.Equal(mustB64u(t, lo.Allow[0].ID), cred.ID) ||
		strings.Join(lo.Allow[0].Transports, ",") != "usb,nfc" || lo.UserVerification != "preferred" || lo.RPID != testRPID {
		t.Errorf("second-factor options %s", login.Options)
	}
	if len(do.Allow) != 0 || do.UserVerification != "required" {
		t.Errorf("passwordless options %s: want no allowCredentials and UV required", disc.Options)
	}

	seen := map[string]bool{}
	for _, c := range []passkey.Ceremony{reg, login, disc} {
		id, err := base32Decode(c.ID)
		if err != nil || len(c.ID) < 26 {
			t.Errorf("ceremony ID %q is not ≥ 128 bits of base32 (%v)", c.ID, err)
		}
		_ = id
		var o struct {
			Challenge string `json:"challenge"`
		}
		_ = json.Unmarshal(c.Options, &o)
		if seen[c.ID] || seen[o.Challenge] {
			t.Error("ceremony ID or challenge repeated")
		}
		seen[c.ID], seen[o.Challenge] = true, true
		if n := len(mustB64u(t, o.Challenge)); n != 32 {
			t.Errorf("challenge of %d bytes", n)
		}
	}
}

func mustB64u(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64url %q: %v", s, err)
	}
	return b
}

func base32Decode(s string) ([]byte, error) {
	// rand.Text uses the standard base32 alphabet without padding.
	for _, r := range s {
		if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", r) {
			return nil, errors.New("not base32")
		}
	}
	return []byte(s), nil
}

func TestRegisterAndLogin(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	a := e.account(t)
	k, cred := e.enrol(t, a)

	if cred.Name != "Schlüssel" || cred.AccountID != a.ID || !bytes.Equal(cred.ID, k.id) || !cred.UserVerified ||
		cred.AttestationType != "none" || strings.Join(cred.Transports, ",") != "usb,nfc" || !cred.CreatedAt.Equal(e.clock.Now()) {
		t.Errorf("registered credential %+v", cred)
	}
	list, err := e.svc.Credentials(ctx, a.ID)
	if err != nil || len(list) != 1 || !bytes.Equal(list[0].PublicKey, cred.PublicKey) {
		t.Fatalf("Credentials = %v, %v", list, err)
	}

	// Second factor, twice: the counter advances, last use is recorded.
	for i := 1; i <= 2; i++ {
		e.clock.Add(time.Minute)
		c, err := e.svc.BeginLogin(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.svc.FinishLogin(ctx, c.ID, a.ID, k.assert(t, c, answer{}))
		if err != nil {
			t.Fatalf("FinishLogin #%d: %v", i, err)
		}
		if res.AccountID != a.ID || !res.UserVerified || res.Credential.SignCount != uint32(i) ||
			!res.Credential.LastUsedAt.Equal(e.clock.Now()) {
			t.Errorf("login #%d result %+v", i, res)
		}
	}

	// Passwordless.
	c, err := e.svc.BeginDiscoverableLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.FinishDiscoverableLogin(ctx, c.ID, k.assert(t, c, answer{}))
	if err != nil {
		t.Fatalf("FinishDiscoverableLogin: %v", err)
	}
	if res.AccountID != a.ID || res.Credential.SignCount != 3 {
		t.Errorf("passwordless result %+v", res)
	}

	// A second-factor login without UV is fine (policy "preferred") and says so.
	c, _ = e.svc.BeginLogin(ctx, a.ID)
	res, err = e.svc.FinishLogin(ctx, c.ID, a.ID, k.assert(t, c, answer{flags: flagUP}))
	if err != nil || res.UserVerified {
		t.Errorf("second factor without UV: %+v, %v", res, err)
	}

	// Rename and remove.
	got, err := e.svc.Rename(ctx, a.ID, cred.ID, "  Laptop  ")
	if err != nil || got.Name != "Laptop" {
		t.Errorf("Rename = %+v, %v", got, err)
	}
	other := e.account(t)
	if _, err := e.svc.Rename(ctx, other.ID, cred.ID, "mine now"); !errors.Is(err, passkey.ErrUnknownCredential) {
		t.Errorf("Rename of another account's credential: %v", err)
	}
	if err := e.svc.Remove(ctx, other.ID, cred.ID); !errors.Is(err, passkey.ErrUnknownCredential) {
		t.Errorf("Remove of another account's credential: %v", err)
	}
	if err := e.svc.Remove(ctx, a.ID, cred.ID); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := e.svc.BeginLogin(ctx, a.ID); !errors.Is(err, passkey.ErrNoCredentials) {
		t.Errorf("BeginLogin without credentials: %v", err)
	}
	c, _ = e.svc.BeginDiscoverableLogin(ctx)
	if _, err := e.svc.FinishDiscoverableLogin(ctx, c.ID, k.assert(t, c, answer{})); !errors.Is(err, passkey.ErrUnknownCredential) {
		t.Errorf("passwordless login with a removed credential: %v", err)
	}
}

// TestLoginRefused covers the responses that must be refused, each with
// its own error, and checks that none of them changes the credential.
func TestLoginRefused(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	a := e.account(t)
	b := e.account(t)
	k, cred := e.enrol(t, a)
	kb, _ := e.enrol(t, b)
	stranger := newSoftKey(t)
	stranger.handle = e.ring.Index("webauthn-user-handle", a.ID)

	begin := func(t *testing.T) passkey.Ceremony {
		c, err := e.svc.BeginLogin(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	beginDisc := func(t *testing.T) passkey.Ceremony {
		c, err := e.svc.BeginDiscoverableLogin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name string
		run  func(t *testing.T) error
		want error
	}{
		{"wrong origin", func(t *testing.T) error {
			c := begin(t)
			_, err := e.svc.FinishLogin(ctx, c.ID, a.ID, k.assert(t, c, answer{origin: "https://evil.example"}))
			return err
		}, passkey.ErrOrigin},
		{"origin of a subdomain not configured", func(t *testing.T) error {
			c := begin(t)
			_, err := e.svc.FinishLogin(ctx, c.ID, a.ID, k.assert(t, c, answer{origin: "https://x.konto.kanton.example"}))
			return err
		}, passkey.ErrOrigin},
		{"wrong RP ID", func(t *testing.T) error {
			c := begin(t)
			_, err := e.svc.FinishLogin(ctx, c.ID, a.ID, k.assert(t, c, answer{rpID: "evil.example"}))
			return err
		}, passkey.ErrRPID},
		{"passwordless without user verification", func(t *testing.T) error {
			c := beginDisc(t)
			_, err := e.svc.FinishDiscoverableLogin(ctx, c.ID, k.assert(t, c, answer{flags: flagUP}))
			return err
		}, passkey.ErrUserVerification},
		{"another account's credential", func(t *testing.T) error {
			c := begin(t)
			_, err := e.svc.FinishLogin(ctx, c.ID, a.ID, kb.assert(t, c, answer{}))
			return err
		}, passkey.ErrUnknownCredential},
		{"unknown credential", func(t *testing.T) error {
			c := begin(t)
			_, err := e.svc.FinishLogin(ctx, c.ID, a.ID, stranger.assert(t, c, answer{}))
			return err
		}, passkey.ErrUnknownCredential},
		{"passwordless with a foreign user handle", func(t *testing.T) error {
			c := beginDisc(t)
			saved := kb.handle
			kb.handle = e.ring.Index("webauthn-user-handle", a.ID)
			defer func() { kb.handle = saved }()
			_, err := e.svc.FinishDiscoverableLogin(ctx, c.ID, kb.assert(t, c, answer{}))
			return err
		}, passkey.ErrUnknownCredential},
		{"bad signature", func(t *testing.T) error {
			c := begin(t)
			resp := k.assert(t, c, answer{})
			var m map[string]any
			_ = json.Unmarshal(resp, &m)
			m["response"].(map[string]any)["signature"] = b64u(bytes.Repeat([]byte{1}, 70))
			resp, _ = json.Marshal(m)
			_, err := e.svc.FinishLogin(ctx, c.ID, a.ID, resp)
			return err
		}, passkey.ErrVerification},
		{"challenge of another ceremony", func(t *testing.T) error {
			c, other := begin(t), begin(t)
			var o struct {
				Challenge string `json:"challenge"`
			}
			_ = json.Unmarshal(other.Options, &o)
			_, err := e.svc.FinishLogin(ctx, c.ID, a.ID, k.assert(t, c, answer{challenge: o.Challenge}))
			return err
		}, passkey.ErrVerification},
		{"registration response to a login", func(t *testing.T) error {
			c := begin(t)
			_, err := e.svc.FinishLogin(ctx, c.ID, a.ID, k.assert(t, c, answer{typ: "webauthn.create"}))
			return err
		}, passkey.ErrVerification},
		{"garbage", func(t *testing.T) error {
			c := begin(t)
			_, err := e.svc.FinishLogin(ctx, c.ID, a.ID, []byte(`{"id":`))
			return err
		}, passkey.ErrVerification},
		{"empty response (no JavaScript)", func(t *testing.T) error {
			c := begin(t)
			_, err := e.svc.FinishLogin(ctx, c.ID, a.ID, nil)
			return err
		}, passkey.ErrVerification},
		{"replayed ceremony", func(t *testing.T) error {
			c := begin(t)
			resp := k.assert(t, c, answer{})
			if _, err := e.svc.FinishLogin(ctx, c.ID, a.ID, resp); err != nil {
				t.Fatalf("first use: %v", err)
			}
			_, err := e.svc.FinishLogin(ctx, c.ID, a.ID, resp)
			return err
		}, passkey.ErrCeremonyExpired},
		{"replayed assertion in a new ceremony", func(t *testing.T) error {
			c := begin(t)
			resp := k.assert(t, c, answer{})
			if _, err := e.svc.FinishLogin(ctx, c.ID, a.ID, resp); err != nil {
				t.Fatalf("first use: %v", err)
			}
			c2 := begin(t)
			_, err := e.svc.FinishLogin(ctx, c2.ID, a.ID, resp)
			return err
		}, passkey.ErrVerification},
		{"ceremony of another account", func(t *testing.T) error {
			c := begin(t)
			_, err := e.svc.FinishLogin(ctx, c.ID, b.ID, kb.assert(t, c, answer{}))
			return err
		}, passkey.ErrCeremonyExpired},
		{"second-factor ceremony used for passwordless", func(t *testing.T) error {
			c := begin(t)
			_, err := e.svc.FinishDiscoverableLogin(ctx, c.ID, k.assert(t, c, answer{}))
			return err
		}, passkey.ErrCeremonyExpired},
		{"expired ceremony", func(t *testing.T) error {
			c := begin(t)
			e.clock.Add(passkey.DefaultTimeout)
			_, err := e.svc.FinishLogin(ctx, c.ID, a.ID, k.assert(t, c, answer{}))
			return err
		}, passkey.ErrCeremonyExpired},
		{"unknown ceremony", func(t *testing.T) error {
			_, err := e.svc.FinishLogin(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAA", a.ID, []byte(`{}`))
			return err
		}, passkey.ErrCeremonyExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, err := e.store.GetWebAuthnCredential(ctx, cred.ID)
			if err != nil {
				t.Fatal(err)
			}
			err = tc.run(t)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			after, _ := e.store.GetWebAuthnCredential(ctx, cred.ID)
			if strings.HasPrefix(tc.name, "replayed") {
				return // the first, valid use advanced the counter
			}
			if after.SignCount != before.SignCount || !after.LastUsedAt.Equal(before.LastUsedAt) || after.CloneWarning {
				t.Errorf("a refused login changed the credential: %+v -> %+v", before, after)
			}
		})
	}
}

// TestSignCountRegression: a counter that does not increase flags the
// credential and refuses it from then on; authenticators without a counter
// keep working.
func TestSignCountRegression(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	a := e.account(t)
	k, cred := e.enrol(t, a)
	login := func(counter uint32) (passkey.Result, error) {
		c, err := e.svc.BeginLogin(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			Challenge string `json:"challenge"`
		}
		_ = json.Unmarshal(c.Options, &o)
		return e.svc.FinishLogin(ctx, c.ID, a.ID, k.assertRaw(t, o.Challenge, answer{}, counter))
	}
	if _, err := login(5); err != nil {
		t.Fatalf("login with counter 5: %v", err)
	}
	_, err := login(5)
	var ce *passkey.CloneError
	if !errors.As(err, &ce) || !errors.Is(err, passkey.ErrCloneSuspected) || !ce.New || ce.Stored != 5 || ce.Got != 5 ||
		ce.AccountID != a.ID || !bytes.Equal(ce.CredentialID, cred.ID) {
		t.Fatalf("repeated counter: %v (%+v)", err, ce)
	}
	stored, _ := e.store.GetWebAuthnCredential(ctx, cred.ID)
	if !stored.CloneWarning || stored.SignCount != 5 {
		t.Errorf("after the regression the credential is %+v, want flagged with counter 5", stored)
	}
	// Flagged: refused even with a higher counter.
	_, err = login(9)
	if !errors.As(err, &ce) || ce.New {
		t.Errorf("login with a flagged credential: %v (%+v)", err, ce)
	}

	// An authenticator without a counter (always 0) is no clone.
	k2, _ := e.enrol(t, a)
	k2.step = 0
	for range 3 {
		c, _ := e.svc.BeginLogin(ctx, a.ID)
		if _, err := e.svc.FinishLogin(ctx, c.ID, a.ID, k2.assert(t, c, answer{})); err != nil {
			t.Fatalf("login with a zero counter: %v", err)
		}
	}
	// …but a key that had a counter and now sends 0 is.
	k3, _ := e.enrol(t, a)
	c, _ := e.svc.BeginLogin(ctx, a.ID)
	if _, err := e.svc.FinishLogin(ctx, c.ID, a.ID, k3.assert(t, c, answer{})); err != nil {
		t.Fatal(err)
	}
	k3.count, k3.step = 0, 0
	c, _ = e.svc.BeginLogin(ctx, a.ID)
	if _, err := e.svc.FinishLogin(ctx, c.ID, a.ID, k3.assert(t, c, answer{})); !errors.Is(err, passkey.ErrCloneSuspected) {
		t.Errorf("counter back to 0: %v", err)
	}
}

// TestConcurrentLoginsSameCounter: two valid assertions carrying the same
// counter (a cloned key used in parallel) cannot both pass.
func TestConcurrentLoginsSameCounter(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	a := e.account(t)
	k, _ := e.enrol(t, a)
	const n = 6
	resps := make([][]byte, n)
	ids := make([]string, n)
	for i := range n {
		c, err := e.svc.BeginLogin(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			Challenge string `json:"challenge"`
		}
		_ = json.Unmarshal(c.Options, &o)
		ids[i], resps[i] = c.ID, k.assertRaw(t, o.Challenge, answer{}, 7)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = e.svc.FinishLogin(ctx, ids[i], a.ID, resps[i])
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, passkey.ErrCloneSuspected):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d logins with the same counter passed, want exactly 1", ok)
	}
}

func TestRegistrationRefused(t *testing.T) {
	e := newEnv(t, func(c *passkey.Config) { c.UserVerification = passkey.VerificationRequired })
	ctx := t.Context()
	a := e.account(t)
	b := e.account(t)
	user := passkey.User{AccountID: a.ID, Name: a.KontoID}
	begin := func(t *testing.T) passkey.Ceremony {
		c, err := e.svc.BeginRegistration(ctx, user, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	kb, _ := e.enrol(t, b)
	tests := []struct {
		name string
		run  func(t *testing.T) error
		want error
	}{
		{"wrong origin", func(t *testing.T) error {
			c := begin(t)
			_, err := e.svc.FinishRegistration(ctx, c.ID, a.ID, "k", newSoftKey(t).register(t, c, answer{origin: "https://evil.example"}))
			return err
		}, passkey.ErrOrigin},
		{"wrong RP ID", func(t *testing.T) error {
			c := begin(t)
			_, err := e.svc.FinishRegistration(ctx, c.ID, a.ID, "k", newSoftKey(t).register(t, c, answer{rpID: "evil.example"}))
			return err
		}, passkey.ErrRPID},
		{"UV required but missing", func(t *testing.T) error {
			c := begin(t)
			_, err := e.svc.FinishRegistration(ctx, c.ID, a.ID, "k", newSoftKey(t).register(t, c, answer{flags: flagUP}))
			return err
		}, passkey.ErrUserVerification},
		{"login response to a registration", func(t *testing.T) error {
			c := begin(t)
			_, err := e.svc.FinishRegistration(ctx, c.ID, a.ID, "k", newSoftKey(t).register(t, c, answer{typ: "webauthn.get"}))
			return err
		}, passkey.ErrVerification},
		{"credential ID of another account", func(t *testing.T) error {
			c := begin(t)
			k := newSoftKey(t)
			k.id = kb.id
			_, err := e.svc.FinishRegistration(ctx, c.ID, a.ID, "k", k.register(t, c, answer{}))
			return err
		}, passkey.ErrCredentialExists},
		{"ceremony of another account", func(t *testing.T) error {
			c := begin(t)
			_, err := e.svc.FinishRegistration(ctx, c.ID, b.ID, "k", newSoftKey(t).register(t, c, answer{}))
			return err
		}, passkey.ErrCeremonyExpired},
		{"replayed", func(t *testing.T) error {
			c := begin(t)
			resp := newSoftKey(t).register(t, c, answer{})
			if _, err := e.svc.FinishRegistration(ctx, c.ID, a.ID, "k", resp); err != nil {
				t.Fatalf("first use: %v", err)
			}
			_, err := e.svc.FinishRegistration(ctx, c.ID, a.ID, "k", resp)
			return err
		}, passkey.ErrCeremonyExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := e.store.ListWebAuthnCredentials(ctx, a.ID)
			if err := tc.run(t); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			after, _ := e.store.ListWebAuthnCredentials(ctx, a.ID)
			if len(after) != len(before)+boolInt(tc.name == "replayed") {
				t.Errorf("a refused registration stored a credential: %d -> %d", len(before), len(after))
			}
		})
	}

	// An invalid name does not use up the ceremony: the page can ask again.
	c := begin(t)
	k := newSoftKey(t)
	resp := k.register(t, c, answer{})
	if _, err := e.svc.FinishRegistration(ctx, c.ID, a.ID, strings.Repeat("x", 65), resp); !errors.Is(err, passkey.ErrInvalidName) {
		t.Fatalf("long name: %v", err)
	}
	if _, err := e.svc.FinishRegistration(ctx, c.ID, a.ID, "Büro", resp); err != nil {
		t.Fatalf("corrected name: %v", err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"YubiKey", "YubiKey", true},
		{"  Laptop Büro ", "Laptop Büro", true},
		{strings.Repeat("ä", 64), strings.Repeat("ä", 64), true},
		{strings.Repeat("ä", 65), "", false},
		{"", "", false},
		{"   ", "", false},
		{"a\nb", "", false},
		{"a\u0000b", "", false},
		{"\xff", "", false},
	}
	for _, tc := range tests {
		got, err := passkey.ValidateName(tc.in)
		if tc.ok != (err == nil) || got != tc.want || (err != nil && !errors.Is(err, passkey.ErrInvalidName)) {
			t.Errorf("ValidateName(%q) = %q, %v", tc.in, got, err)
		}
	}
}

// TestEphemeralDown: without the ceremony store nothing starts (fail closed).
func TestEphemeralDown(t *testing.T) {
	e := newEnv(t, nil)
	a := e.account(t)
	e.enrol(t, a)
	svc, err := passkey.New(passkey.Config{RPID: testRPID, RPDisplayName: "KC", Origins: []string{testOrigin},
		UserHandles: e.ring}, failingEph{}, e.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := svc.BeginLogin(ctx, a.ID); !errors.Is(err, passkey.ErrUnavailable) {
		t.Errorf("BeginLogin: %v", err)
	}
	if _, err := svc.BeginRegistration(ctx, passkey.User{AccountID: a.ID, Name: "n"}, nil); !errors.Is(err, passkey.ErrUnavailable) {
		t.Errorf("BeginRegistration: %v", err)
	}
	if _, err := svc.FinishLogin(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAA", a.ID, []byte(`{}`)); !errors.Is(err, passkey.ErrUnavailable) {
		t.Errorf("FinishLogin: %v", err)
	}
}

func TestTooManyCredentials(t *testing.T) {
	e := newEnv(t, nil)
	a := e.account(t)
	existing := make([]mfa.WebAuthnCredential, passkey.MaxCredentials)
	if _, err := e.svc.BeginRegistration(t.Context(), passkey.User{AccountID: a.ID, Name: "n"}, existing); !errors.Is(err, passkey.ErrTooManyCredentials) {
		t.Errorf("BeginRegistration with %d credentials: %v", len(existing), err)
	}
}

func TestEncodeID(t *testing.T) {
	id := []byte{0xfb, 0xff, 0x00, 0x10}
	got, err := passkey.DecodeID(passkey.EncodeID(id))
	if err != nil || !bytes.Equal(got, id) {
		t.Errorf("round trip: %x, %v", got, err)
	}
	for _, bad := range []string{"", "a+b/", "====", strings.Repeat("A", 2000)} {
		if _, err := passkey.DecodeID(bad); !errors.Is(err, passkey.ErrUnknownCredential) {
			t.Errorf("DecodeID(%q): %v", bad, err)
		}
	}
}
