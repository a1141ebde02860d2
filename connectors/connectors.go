package connectors

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Connector is one configured upstream identity provider reached by a
// browser redirect and a callback (the authorization code flow).
// Implementations are safe for concurrent use.
type Connector interface {
	// ID is the configured identifier ("swissid", "agov"), stable because
	// account links are stored under it.
	ID() string
	// DisplayName is the provider's name as shown on the login button.
	DisplayName() string
	// AuthURL returns the provider's authorization URL for this login:
	// code flow with PKCE (S256), state and nonce from st, and ui_locales,
	// login_hint, acr_values, prompt and max_age as st asks.
	// ErrLevelUnsupported if the provider offers no login at st.ACR.
	AuthURL(ctx context.Context, st LoginState) (string, error)
	// HandleCallback redeems the code in the callback's query for tokens,
	// verifies them against st (nonce, PKCE verifier) and returns the
	// identity. The caller has already checked state and the error
	// parameter (Flow.Finish does both). Refused tokens are a
	// *VerificationError.
	HandleCallback(ctx context.Context, st LoginState, query url.Values) (Identity, error)
}

// Identity is an upstream login, normalised. Only the fields a provider
// vouched for are set.
type Identity struct {
	Connector string // the connector's ID
	Issuer    string // the upstream issuer, exactly as in its ID token
	Subject   string // the upstream "sub"; meaningful only with Issuer

	Email             string
	EmailVerified     bool
	GivenName         string
	FamilyName        string
	BirthDate         string // YYYY-MM-DD
	BirthDateVerified bool   // the provider checked it against an identity document
	Locale            string // de, fr, it or en when the provider said so

	// AuthLevel is how strongly the person authenticated upstream, on our
	// scale (idp.LevelLow … idp.LevelHigh), mapped from the upstream acr by
	// the connector's level map; an upstream login the map does not know
	// counts as idp.LevelLow.
	AuthLevel string
	AMR       []string  // upstream amr values, with "fed" added
	AuthTime  time.Time // upstream auth_time, else the ID token's iat

	// ProofingLevel is how well the person's identity was proofed, on our
	// separate scale (idp.ProofingSelfDeclared … idp.ProofingVerifiedStrong):
	// SwissID urn:swissid:qor qor0/qor1/qor2; eIAM/AGOV QoA below 40 /
	// 40–50 / 51–60 (see connectors/oidc Config.ProofingMap). Empty when
	// the provider said nothing about it.
	ProofingLevel string

	// Claims keeps the few raw values behind the mapping, for the audit
	// and support: the upstream "acr" and the proofing claim. Never the
	// full claim set.
	Claims map[string]string
}

// Request is what the web layer asks of an upstream login.
type Request struct {
	// ACR is the authentication level wanted, on our scale ("" = any).
	ACR string `json:"acr,omitempty"`
	// AuthRequestID is the pending OIDC auth request this login serves.
	AuthRequestID string `json:"auth_request_id,omitempty"`
	// LoginHint is sent as login_hint (SwissID wants an e-mail address).
	LoginHint string `json:"login_hint,omitempty"`
	// Locale is the user's language, sent as ui_locales.
	Locale string `json:"locale,omitempty"`
	// Prompt is sent as prompt ("login" to force a fresh login on step-up).
	Prompt string `json:"prompt,omitempty"`
	// MaxAge is sent as max_age in seconds when positive.
	MaxAge int `json:"max_age,omitempty"`
	// Purpose and AccountID are kept for the caller and not interpreted
	// here: e.g. "login", "link" (an account adds a login) or "stepup",
	// and the account that started a link or step-up.
	Purpose   string `json:"purpose,omitempty"`
	AccountID string `json:"account_id,omitempty"`
}

// LoginState is one redirect to an upstream provider, kept in the
// ephemeral store between Begin and Finish.
type LoginState struct {
	Request
	Connector string    `json:"connector"`
	State     string    `json:"state"`    // OAuth state (RFC 6749 §10.12)
	Nonce     string    `json:"nonce"`    // OIDC Core 1.0 §3.1.2.1
	Verifier  string    `json:"verifier"` // PKCE code verifier (RFC 7636 §4.1)
	CreatedAt time.Time `json:"created_at"`
}

// Sentinel errors of the login flow.
var (
	// ErrUnknownState: no pending login for this browser — the state was
	// used already, has expired, or the cookie is missing.
	ErrUnknownState = errors.New("no pending upstream login for this browser (used, expired or never started)")
	// ErrStateMismatch: the callback's state is not the one this browser
	// was sent with (a callback meant for another browser, or forged).
	ErrStateMismatch = errors.New("the callback's state does not belong to this browser's login")
	// ErrUnknownConnector: no connector with this ID is configured.
	ErrUnknownConnector = errors.New("unknown connector")
	// ErrLevelUnsupported: the provider offers no login at the requested level.
	ErrLevelUnsupported = errors.New("the provider offers no login at the requested level")
)

// Error codes an upstream provider may send on the redirect (RFC 6749
// §4.1.2.1, OIDC Core 1.0 §3.1.2.6, SwissID's own).
const (
	ErrorAccessDenied            = "access_denied"
	ErrorAuthenticationCancelled = "authentication_cancelled" // SwissID: the user cancelled the login
	ErrorCancelledByUser         = "cancelled_by_user"        // SwissID: the user cancelled an identity step-up
	ErrorInteractionRequired     = "interaction_required"
	ErrorLoginRequired           = "login_required"
	ErrorTemporarilyUnavailable  = "temporarily_unavailable"
	ErrorServerError             = "server_error"
	ErrorManualCheckNeeded       = "manual_check_needed" // SwissID: identity check waits for manual review
)

// UpstreamError is an error the provider reported on the redirect back
// (?error=…&error_description=…). Code is one of the Error* constants or
// another code (sanitised); Description is the provider's text, sanitised
// and shortened, for the log only — the user sees a fixed message.
type UpstreamError struct {
	Code        string
	Description string
}

func (e *UpstreamError) Error() string {
	if e.Description == "" {
		return "upstream provider: " + e.Code
	}
	return fmt.Sprintf("upstream provider: %s: %s", e.Code, e.Description)
}

// Cancelled reports whether the user cancelled or refused at the provider
// (as opposed to the provider failing).
func (e *UpstreamError) Cancelled() bool {
	switch e.Code {
	case ErrorAccessDenied, ErrorAuthenticationCancelled, ErrorCancelledByUser:
		return true
	}
	return false
}

// Temporary reports whether trying again later may help.
func (e *UpstreamError) Temporary() bool {
	return e.Code == ErrorTemporarilyUnavailable || e.Code == ErrorServerError
}

// NewUpstreamError builds an UpstreamError from untrusted query values:
// both are limited to printable ASCII (RFC 6749 §4.1.2.1) and shortened.
func NewUpstreamError(code, description string) *UpstreamError {
	code = sanitize(code, 64)
	if code == "" {
		code = "unknown_error"
	}
	return &UpstreamError{Code: code, Description: sanitize(description, 200)}
}

func sanitize(s string, limit int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
	if len(s) > limit {
		s = s[:limit]
	}
	return s
}

// VerificationError means the provider's answer was refused: the code
// exchange failed, or the ID token or userinfo response did not verify
// (issuer, audience, nonce, signature, expiry, subject). Step names where
// ("token", "id_token", "userinfo", "claims"); the wrapped error says why
// and never contains a token or claim values.
type VerificationError struct {
	Step string
	Err  error
}

func (e *VerificationError) Error() string {
	return fmt.Sprintf("upstream %s refused: %v", e.Step, e.Err)
}

func (e *VerificationError) Unwrap() error { return e.Err }

// Refuse wraps err as a *VerificationError of step.
func Refuse(step string, err error) error {
	return &VerificationError{Step: step, Err: err}
}

// StepUp returns the request for asking the same provider again at a
// higher level: acr_values for level, and prompt=login so that the provider
// does not answer from its session at the old level (OIDC Core 1.0
// §3.1.2.1). The auth request, purpose and account are kept.
func (r Request) StepUp(level string) Request {
	r.ACR, r.Prompt, r.MaxAge = level, "login", 0
	return r
}
