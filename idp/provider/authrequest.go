package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/login"
)

// AuthRequest is a pending authorization request (OIDC Core 1.0 §3.1.2.1)
// as stored in the ephemeral store until the code is redeemed.
type AuthRequest struct {
	// codeHash is the hash of the code being redeemed (set only on the
	// request AuthRequestByCode returns): the tokens issued are recorded
	// with the redemption.
	codeHash []byte
	// sub is the account's subject as the client sees it (subjects.go),
	// set only on the request AuthRequestByCode returns: the tokens are
	// issued for it.
	sub string

	ID                  string    `json:"id"`
	CreatedAt           time.Time `json:"created"`
	ClientID            string    `json:"client_id"`
	RedirectURI         string    `json:"redirect_uri"`
	State               string    `json:"state,omitempty"`
	Nonce               string    `json:"nonce,omitempty"`
	Scopes              []string  `json:"scopes"`
	ResponseType        string    `json:"response_type"`
	ResponseMode        string    `json:"response_mode,omitempty"`
	CodeChallenge       string    `json:"code_challenge"`
	CodeChallengeMethod string    `json:"code_challenge_method"`
	Prompt              []string  `json:"prompt,omitempty"`
	MaxAge              *uint     `json:"max_age,omitempty"`
	LoginHint           string    `json:"login_hint,omitempty"`
	UILocales           []string  `json:"ui_locales,omitempty"`
	ACRValues           []string  `json:"acr_values,omitempty"`
	HintSubject         string    `json:"hint_sub,omitempty"`     // the account of a verified id_token_hint (mapped back from the client's subject)
	RequiredACR         string    `json:"required_acr,omitempty"` // the client's minimum level

	// Set when the login UI (or SSO) completes the request.
	Completed bool      `json:"done,omitempty"`
	Subject   string    `json:"sub,omitempty"` // the account ID (GetSubject: the client's subject for it)
	AuthTime  time.Time `json:"auth_time,omitzero"`
	AMR       []string  `json:"amr,omitempty"`
	ACR       string    `json:"acr,omitempty"`
	SessionID string    `json:"sid,omitempty"` // binds the callback to the browser that logged in
	// Acting is whom the login acts for at this client, chosen on the
	// login's "Für wen handeln Sie?" page (zero: the person themself).
	Acting idp.Acting `json:"acting,omitzero"`
	// ActingChosen is set once the person answered that page.
	ActingChosen bool `json:"acting_chosen,omitempty"`
	// Profile is the profile the client sees, chosen on the login's
	// profile page or the account's only one ("" = the first).
	Profile string `json:"profile,omitempty"`
}

var _ op.AuthRequest = (*AuthRequest)(nil)

// GetID returns the request ID.
func (a *AuthRequest) GetID() string { return a.ID }

// GetACR returns the achieved authentication level.
func (a *AuthRequest) GetACR() string { return a.ACR }

// GetAMR returns the authentication methods used.
func (a *AuthRequest) GetAMR() []string { return a.AMR }

// GetAudience returns the token audience: the client alone.
func (a *AuthRequest) GetAudience() []string { return []string{a.ClientID} }

// GetAuthTime returns when the user authenticated.
func (a *AuthRequest) GetAuthTime() time.Time { return a.AuthTime }

// GetClientID returns the client that asked.
func (a *AuthRequest) GetClientID() string { return a.ClientID }

// GetCodeChallenge returns the PKCE challenge (always S256 here).
func (a *AuthRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.CodeChallenge, Method: oidc.CodeChallengeMethod(a.CodeChallengeMethod)}
}

// GetNonce returns the client's nonce.
func (a *AuthRequest) GetNonce() string { return a.Nonce }

// GetRedirectURI returns the (exactly registered) redirect URI.
func (a *AuthRequest) GetRedirectURI() string { return a.RedirectURI }

// GetResponseType returns the response type (always "code").
func (a *AuthRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseType(a.ResponseType) }

// GetResponseMode returns the response mode.
func (a *AuthRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(a.ResponseMode) }

// GetScopes returns the granted scopes.
func (a *AuthRequest) GetScopes() []string { return a.Scopes }

// GetState returns the client's state.
func (a *AuthRequest) GetState() string { return a.State }

// GetSubject returns the authenticated account's subject as the client
// sees it: what the library puts into the ID token and the access token.
func (a *AuthRequest) GetSubject() string { return a.sub }

// Done reports whether the login completed.
func (a *AuthRequest) Done() bool { return a.Completed }

// HasPrompt reports whether the request carries the prompt value p.
func (a *AuthRequest) HasPrompt(p string) bool { return slices.Contains(a.Prompt, p) }

// Satisfied reports whether a session with this auth time and level meets
// the request's max_age and requested level.
func (a *AuthRequest) Satisfied(s idp.Session, now time.Time, levels Levels) bool {
	if a.HasPrompt(oidc.PromptLogin) {
		return false
	}
	if a.MaxAge != nil && now.Sub(s.AuthTime) > time.Duration(*a.MaxAge)*time.Second {
		return false
	}
	return levels.Meets(s.ACR, a.ACRValues) && levels.Meets(s.ACR, []string{a.RequiredACR})
}

// RequiredLevel is the level a login must reach for this request: the
// client's minimum (the highest level if it is not one the provider knows), raised to the lowest of the requested acr_values that
// the provider knows (unknown values are ignored, OIDC Core §5.5.1.1).
func (a *AuthRequest) RequiredLevel(levels Levels) string {
	need := a.RequiredACR
	switch {
	case need == "":
		need = levels[0]
	case levels.rank(need) < 0:
		// A client level the provider does not know (a configuration
		// mistake that validation should have caught) fails safe.
		need = levels[len(levels)-1]
	}
	low := -1
	for _, v := range a.ACRValues {
		if i := levels.rank(v); i >= 0 && (low < 0 || i < low) {
			low = i
		}
	}
	if low >= 0 {
		need = levels.Max(need, levels[low])
	}
	return need
}

func authRequestKey(id string) string { return "ar:" + id }
func codeKey(hash []byte) string      { return fmt.Sprintf("code:%x", hash) }

func (p *Provider) putAuthRequest(ctx context.Context, a *AuthRequest) error {
	raw, err := json.Marshal(a)
	if err != nil {
		return err
	}
	ttl := a.CreatedAt.Add(p.cfg.AuthRequestTTL).Sub(p.now())
	if ttl <= 0 {
		return idp.ErrNotFound
	}
	return p.eph.Set(ctx, authRequestKey(a.ID), raw, ttl)
}

func (p *Provider) getAuthRequest(ctx context.Context, id string) (*AuthRequest, error) {
	raw, err := p.eph.Get(ctx, authRequestKey(id))
	if err != nil {
		return nil, err
	}
	a := new(AuthRequest)
	if err := json.Unmarshal(raw, a); err != nil {
		return nil, fmt.Errorf("decode auth request: %w", err)
	}
	return a, nil
}

// complete marks a loaded auth request as authenticated by the session,
// in one write, and returns the authorize callback URL.
func (p *Provider) complete(ctx context.Context, a *AuthRequest, sess idp.Session) (string, error) {
	if err := p.admits(ctx, a, sess); err != nil {
		return "", err
	}
	a.Completed, a.Subject, a.AuthTime, a.AMR, a.ACR, a.SessionID = true, sess.AccountID, sess.AuthTime, sess.AMR, sess.ACR, sess.ID
	if err := p.putAuthRequest(ctx, a); err != nil {
		return "", err
	}
	p.idp.NoteClientUse(ctx, sess.AccountID, a.ClientID) // told when the account is deleted
	p.idp.NoteSessionClient(ctx, sess.ID, a.ClientID)    // told when the session ends (back-channel logout)
	return p.callbackURL(a.ID), nil
}

// LoginFlow is the login's last steps (idp/login) over this provider's
// auth requests, the account's profiles and the acting resolver: used by
// the SSO path of Authorize and by the login pages alike.
func (p *Provider) LoginFlow() *login.Flow {
	f := &login.Flow{Requests: loginRequests{p}, Profiles: loginProfiles{p.idp}, Recorder: loginRecorder{p}}
	if p.cfg.Acting != nil {
		f.Acting = loginActing{p}
	}
	return f
}

// LoginSession is the part of a session the login steps see.
func LoginSession(s idp.Session) login.Session {
	return login.Session{ID: s.ID, AccountID: s.AccountID, ACR: s.ACR, AMR: s.AMR, AuthTime: s.AuthTime}
}

// LoginActing converts an acting context for the login steps.
func LoginActing(a idp.Acting) login.Acting { return login.Acting{Kind: a.Kind, ID: a.ID} }

// loginRequests are the provider's auth requests as login.Requests.
type loginRequests struct{ p *Provider }

var _ login.Requests = loginRequests{}

func (q loginRequests) Load(ctx context.Context, id string) (login.Request, error) {
	a, err := q.p.getAuthRequest(ctx, id)
	if err != nil {
		return login.Request{}, err
	}
	return a.loginRequest(), nil
}

// loginRequest is the auth request as the login steps see it.
func (a *AuthRequest) loginRequest() login.Request {
	return login.Request{ID: a.ID, ClientID: a.ClientID, PromptNone: a.HasPrompt(oidc.PromptNone),
		ActingChosen: a.ActingChosen, Acting: LoginActing(a.Acting), Profile: a.Profile, Stored: a}
}

func (q loginRequests) stored(ctx context.Context, r login.Request) (*AuthRequest, error) {
	a, ok := r.Stored.(*AuthRequest)
	if !ok || a.ID != r.ID {
		var err error
		if a, err = q.p.getAuthRequest(ctx, r.ID); err != nil {
			return nil, err
		}
	}
	a.ActingChosen, a.Acting, a.Profile = r.ActingChosen, idp.Acting{Kind: r.Acting.Kind, ID: r.Acting.ID}, r.Profile
	return a, nil
}

func (q loginRequests) Save(ctx context.Context, r login.Request) error {
	a, err := q.stored(ctx, r)
	if err != nil {
		return err
	}
	return q.p.putAuthRequest(ctx, a)
}

func (q loginRequests) Complete(ctx context.Context, r login.Request, s login.Session) (string, error) {
	a, err := q.stored(ctx, r)
	if err != nil {
		return "", err
	}
	return q.p.complete(ctx, a, idp.Session{ID: s.ID, AccountID: s.AccountID, ACR: s.ACR, AMR: s.AMR, AuthTime: s.AuthTime})
}

// loginProfiles are the account's profiles as login.Profiles.
type loginProfiles struct{ svc *idp.Service }

func (l loginProfiles) ProfileIDs(ctx context.Context, accountID string) ([]string, error) {
	ps, err := l.svc.Profiles(ctx, accountID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ps))
	for i, pr := range ps {
		ids[i] = pr.ID
	}
	return ids, nil
}

func (l loginProfiles) RememberedProfile(ctx context.Context, accountID, clientID string) (string, error) {
	return l.svc.RememberedProfile(ctx, accountID, clientID)
}

// loginActing asks the acting resolver; an error counts as no choice
// (logged), as the login then acts for the person themself.
type loginActing struct{ p *Provider }

func (l loginActing) HasActingChoices(ctx context.Context, accountID, clientID string) (bool, error) {
	return l.p.HasActingChoices(ctx, accountID, clientID), nil
}

// loginRecorder audits an acting login and adds it to the representation's history.
type loginRecorder struct{ p *Provider }

func (l loginRecorder) ActingUsed(ctx context.Context, accountID, clientID string, a login.Acting) {
	l.p.idp.Audit(ctx, accountID, "login.acting", accountID, "kind="+a.Kind+" id="+a.ID)
	if l.p.cfg.Acting == nil {
		return
	}
	if err := l.p.cfg.Acting.ActingUsed(ctx, accountID, clientID, idp.Acting{Kind: a.Kind, ID: a.ID}); err != nil {
		l.p.log.WarnContext(ctx, "acting use not recorded", "err", err)
	}
}
