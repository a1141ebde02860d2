package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/kanton/kundencenter/connectors"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/login"
	"github.com/kanton/kundencenter/templates"
)

// Logins through upstream identity providers (SwissID, AGOV): the login
// button, the redirect (connectors.Flow.Begin), the callback
// (connectors.Flow.Finish), and what follows: a linked upstream login
// opens a session for its account (stepping up upstream or locally when it
// is too weak for the service); an unknown one chooses between a new
// account and linking an existing one after proving control of it
// (password, and second factor when enrolled). Accounts are found only
// through links on (connector, issuer, subject), never by e-mail.

// Federation configures logins through upstream identity providers.
type Federation struct {
	// Flow runs the redirects; its Registry lists the connectors in the
	// order of the login page's buttons.
	Flow *connectors.Flow
	// Options per connector ID; a connector without entry takes the
	// defaults (generic button, StepUpUpstream).
	Options map[string]ConnectorOptions
}

// ConnectorOptions are the login page's settings of one connector.
type ConnectorOptions struct {
	// Type is the connector type (connectors.TypeSwissID, TypeOIDC); it
	// selects the button (SwissID's has its own wording and style).
	Type string
	// StepUp says how a linked login too weak for the service is stepped
	// up: StepUpUpstream asks the provider again at the level needed
	// (SwissID: acr_values=qoa2, prompt=login), StepUpLocal asks for the
	// account's own second factor.
	StepUp string
}

// Step-up modes of ConnectorOptions.StepUp.
const (
	StepUpUpstream = "upstream"
	StepUpLocal    = "local"
)

// CallbackPath is where upstream providers send the browser back: the
// connectors' RedirectURL is the issuer followed by this path.
const CallbackPath = "/login/external/callback"

// Purposes of an upstream login (connectors.Request.Purpose).
const (
	purposeLogin   = "login"
	purposeStepUp  = "stepup"
	purposeRelogin = "relogin" // asked again with prompt=login: the first answer was too old
)

// upstreamPerIP bounds how many upstream logins one client may start.
var upstreamPerIP = idp.Rule{Name: "upstream_ip", Limit: 60, Window: 10 * time.Minute}

// pendingTTL bounds the choice after a first upstream login.
const pendingTTL = 10 * time.Minute

func (h *Handler) federationRoutes(ui func(string, http.HandlerFunc)) {
	if h.cfg.Federation == nil || h.cfg.Federation.Flow == nil {
		return
	}
	ui("GET /login/external/{id}", h.fedBegin)
	ui("GET "+CallbackPath, h.fedCallback)
	ui("GET /login/external/choice", h.fedChoice)
	ui("GET /login/external/error", h.fedErrorPage)
	ui("POST /login/external/create", h.fedCreate)
	ui("POST /login/external/link", h.fedLink)
	ui("POST /login/external/cancel", h.fedCancel)
	ui("POST /account/links/remove", h.fedUnlink)
}

// upstreams are the login page's buttons for an auth request ("" = none).
func (h *Handler) upstreams(authRequestID string) []upstreamLink {
	if h.cfg.Federation == nil || h.cfg.Federation.Flow == nil {
		return nil
	}
	var out []upstreamLink
	for _, c := range h.cfg.Federation.Flow.Connectors.All() {
		u := "/login/external/" + url.PathEscape(c.ID())
		if authRequestID != "" {
			u += "?authRequestID=" + url.QueryEscape(authRequestID)
		}
		out = append(out, upstreamLink{Name: c.DisplayName(), URL: u, Kind: h.cfg.Federation.Options[c.ID()].Type})
	}
	return out
}

func (h *Handler) connectorName(id string) string {
	if c, ok := h.cfg.Federation.Flow.Connectors.Get(id); ok {
		return c.DisplayName()
	}
	return id
}

// fedBegin sends the browser to the upstream provider (OIDC Core 1.0
// §3.1.2.1) with the level the auth request needs, the page language as
// ui_locales and the request's login_hint when it is an e-mail address.
func (h *Handler) fedBegin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, ok := h.cfg.Federation.Flow.Connectors.Get(id); !ok {
		h.errorPage(w, r, http.StatusNotFound, "err.not_found")
		return
	}
	// Each start stores a pending login for ten minutes: bound per client.
	if err := h.svc.Allow(ctx, []idp.Rule{upstreamPerIP}, []string{h.clientIP(r)}); err != nil {
		h.fail(w, r, err)
		return
	}
	req := connectors.Request{Purpose: purposeLogin}
	var locales []string
	if arID := r.URL.Query().Get("authRequestID"); arID != "" {
		a, err := h.prov.AuthRequest(ctx, arID)
		if err != nil {
			h.requestExpired(w, r)
			return
		}
		req.AuthRequestID = arID
		req.ACR = a.RequiredLevel(h.prov.Levels())
		if idp.ValidEmail(a.LoginHint) {
			req.LoginHint = a.LoginHint
		}
		if a.HasPrompt(oidc.PromptLogin) || (a.MaxAge != nil && *a.MaxAge == 0) {
			req.Prompt = oidc.PromptLogin // max_age=0 means the same (and is not sent on)
		}
		if a.MaxAge != nil {
			req.MaxAge = int(*a.MaxAge)
		}
		locales = a.UILocales
	}
	req.Locale = h.lang(w, r, locales...)
	h.fedRedirect(w, r, id, req)
}

// fedRedirect starts an upstream login and redirects to it. A level the
// provider cannot reach is asked for at the provider's best, and the rest
// is stepped up locally after the callback.
func (h *Handler) fedRedirect(w http.ResponseWriter, r *http.Request, connectorID string, req connectors.Request) {
	ctx := r.Context()
	to, cookie, err := h.cfg.Federation.Flow.Begin(ctx, connectorID, req)
	if errors.Is(err, connectors.ErrLevelUnsupported) {
		req.ACR = ""
		to, cookie, err = h.cfg.Federation.Flow.Begin(ctx, connectorID, req)
	}
	if err != nil {
		h.log.WarnContext(ctx, "upstream login not started", "connector", connectorID, "err", err, "request_id", requestID(ctx))
		h.fedError(w, r, req.AuthRequestID, "temporary")
		return
	}
	maxAge := int(connectors.DefaultStateTTL / time.Second)
	if t := h.cfg.Federation.Flow.TTL; t > 0 {
		maxAge = int(t / time.Second)
	}
	h.setCookie(w, h.cookieName("kc_upstream"), cookie, maxAge)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// fedCallback is the redirect back from the provider (OIDC Core 1.0
// §3.1.2.5, §3.1.2.6): state checked against this browser's cookie, the
// code redeemed and the tokens verified by the connector.
func (h *Handler) fedCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := h.cookieName("kc_upstream")
	val := ""
	if c, err := r.Cookie(name); err == nil {
		val = c.Value
	}
	h.setCookie(w, name, "", -1)
	ident, st, err := h.cfg.Federation.Flow.Finish(ctx, val, r.URL.Query())
	if err != nil {
		h.fedFailed(w, r, st, err)
		return
	}
	link, err := h.svc.Store().GetLink(ctx, ident.Connector, ident.Issuer, ident.Subject)
	if errors.Is(err, idp.ErrNotFound) {
		h.fedStartChoice(w, r, ident, st)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	acct, err := h.svc.Account(ctx, link.AccountID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	switch acct.Status {
	case idp.StatusActive:
	case idp.StatusPending:
		h.fedError(w, r, st.AuthRequestID, "pending")
		return
	default:
		h.svc.Audit(ctx, acct.ID, "login.upstream_refused", acct.ID, "status="+string(acct.Status))
		h.fedError(w, r, st.AuthRequestID, "account")
		return
	}
	if err := h.touchLink(ctx, link, ident); err != nil {
		h.fail(w, r, err)
		return
	}
	h.svc.Audit(ctx, acct.ID, "login.upstream", acct.ID, "connector="+ident.Connector+" level="+ident.AuthLevel)
	h.fedContinue(w, r, acct.ID, ident, st.Request, ident.AMR)
}

// fedFailed shows why an upstream login ended without an identity.
func (h *Handler) fedFailed(w http.ResponseWriter, r *http.Request, st connectors.LoginState, err error) {
	ctx := r.Context()
	var (
		ue  *connectors.UpstreamError
		ve  *connectors.VerificationError
		key = "temporary"
	)
	switch {
	case errors.As(err, &ue):
		h.log.InfoContext(ctx, "upstream login ended with an error", "connector", st.Connector, "code", ue.Code, "request_id", requestID(ctx))
		switch {
		case ue.Cancelled():
			key = "cancelled"
		case ue.Temporary():
		default:
			key = "refused"
		}
	case errors.Is(err, connectors.ErrUnknownState), errors.Is(err, connectors.ErrStateMismatch):
		h.log.InfoContext(ctx, "upstream callback without a pending login", "err", err, "request_id", requestID(ctx))
		key = "expired"
	case errors.As(err, &ve):
		h.log.WarnContext(ctx, "upstream answer refused", "connector", st.Connector, "step", ve.Step, "err", err, "request_id", requestID(ctx))
		key = "invalid"
	default:
		h.log.WarnContext(ctx, "upstream login failed", "connector", st.Connector, "err", err, "request_id", requestID(ctx))
	}
	h.fedError(w, r, st.AuthRequestID, key)
}

// fedReasons are the outcomes of page "federation_error": message and status.
var fedReasons = map[string]struct {
	key    string
	status int
}{
	"cancelled":  {"fed.err_cancelled", http.StatusOK},
	"temporary":  {"fed.err_temporary", http.StatusBadGateway},
	"refused":    {"fed.err_refused", http.StatusForbidden},
	"expired":    {"fed.err_expired", http.StatusBadRequest},
	"invalid":    {"fed.err_invalid", http.StatusBadGateway},
	"pending":    {"fed.err_pending", http.StatusForbidden},
	"account":    {"fed.err_account", http.StatusForbidden},
	"linked":     {"fed.err_linked", http.StatusConflict},
	"other_link": {"fed.err_other_link", http.StatusConflict},
	"stale":      {"fed.err_stale", http.StatusForbidden},
}

// fedError sends the browser to the error page of reason (a key of
// fedReasons). The page has its own URL, so that the language switcher
// and a reload do not replay the provider's callback.
func (h *Handler) fedError(w http.ResponseWriter, r *http.Request, authRequestID, reason string) {
	q := url.Values{"reason": {reason}}
	if authRequestID != "" {
		q.Set("authRequestID", authRequestID)
	}
	http.Redirect(w, r, "/login/external/error?"+q.Encode(), http.StatusSeeOther)
}

// fedErrorPage renders page "federation_error" in the language of the
// auth request, with a way back to its login page while it is alive.
func (h *Handler) fedErrorPage(w http.ResponseWriter, r *http.Request) {
	reason, ok := fedReasons[r.URL.Query().Get("reason")]
	if !ok {
		reason = fedReasons["temporary"]
	}
	v := &federationErrorView{MessageKey: reason.key, LoginURL: "/login"}
	var locales []string
	if id := r.URL.Query().Get("authRequestID"); id != "" {
		if a, err := h.prov.AuthRequest(r.Context(), id); err == nil {
			v.LoginURL = "/login?authRequestID=" + url.QueryEscape(id)
			locales = a.UILocales
		}
	}
	h.render(w, r, reason.status, "federation_error", h.lang(w, r, locales...), v)
}

// fedContinue opens the session of a linked upstream login when its level
// is enough for the auth request, and otherwise steps it up: once at the
// provider (StepUpUpstream, not again after a step-up: no loops), else
// with the account's own second factor.
func (h *Handler) fedContinue(w http.ResponseWriter, r *http.Request, accountID string, ident connectors.Identity, req connectors.Request, amr []string) {
	ctx := r.Context()
	m, err := h.methods(ctx, accountID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	need, err := h.requiredLevel(ctx, req.AuthRequestID, m, login.Rule{})
	if err != nil {
		h.requestExpired(w, r)
		return
	}
	// The upstream login must be as fresh as the service asked
	// (prompt=login, max_age): a provider that answered from an older
	// session of its own is asked once more with prompt=login.
	if req.AuthRequestID != "" {
		a, err := h.prov.AuthRequest(ctx, req.AuthRequestID)
		if err != nil {
			h.requestExpired(w, r)
			return
		}
		if !h.prov.FreshFor(a, ident.AuthTime, true) {
			if req.Purpose == purposeStepUp || req.Purpose == purposeRelogin {
				h.fedError(w, r, req.AuthRequestID, "stale")
				return
			}
			again := req
			again.Prompt, again.MaxAge, again.Purpose, again.AccountID = oidc.PromptLogin, 0, purposeRelogin, accountID
			to, cookie, err := h.cfg.Federation.Flow.Begin(ctx, ident.Connector, again)
			if err != nil {
				h.fedError(w, r, req.AuthRequestID, "stale")
				return
			}
			h.setCookie(w, h.cookieName("kc_upstream"), cookie, int(connectors.DefaultStateTTL/time.Second))
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
	}
	have := ident.AuthLevel
	if idp.LevelRank(have) < 0 {
		have = idp.LevelLow
	}
	if idp.LevelAtLeast(have, need) {
		// The session's auth_time is the provider's, so max_age and
		// prompt=login see how old the upstream login really is.
		h.openSessionSince(w, r, accountID, amr, have, req.AuthRequestID, "", "", ident.AuthTime)
		return
	}
	opts := h.cfg.Federation.Options[ident.Connector]
	if opts.StepUp != StepUpLocal && req.Purpose != purposeStepUp {
		up := req.StepUp(need)
		up.Purpose, up.AccountID = purposeStepUp, accountID
		to, cookie, err := h.cfg.Federation.Flow.Begin(ctx, ident.Connector, up)
		if err == nil {
			h.setCookie(w, h.cookieName("kc_upstream"), cookie, int(connectors.DefaultStateTTL/time.Second))
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		if !errors.Is(err, connectors.ErrLevelUnsupported) {
			h.log.WarnContext(ctx, "upstream step-up not started", "connector", ident.Connector, "err", err, "request_id", requestID(ctx))
		}
	}
	h.afterFirstFactor(w, r, accountID, amr, req.AuthRequestID, "", idp.Session{})
}

// touchLink records a login through a link: last use, and what the
// provider now says about the person (proofing level, verified birth date).
func (h *Handler) touchLink(ctx context.Context, l idp.ExternalLink, ident connectors.Identity) error {
	_, err := h.svc.Store().UpdateLink(ctx, l.Connector, l.Issuer, l.Subject, func(l idp.ExternalLink) (idp.ExternalLink, error) {
		l.LastUsedAt = h.svc.Now()
		if ident.ProofingLevel != "" {
			l.ProofingLevel = ident.ProofingLevel
		}
		if ident.BirthDate != "" {
			if err := h.svc.SealLinkPersonal(&l, idp.LinkPersonal{BirthDate: ident.BirthDate, BirthDateVerified: ident.BirthDateVerified}); err != nil {
				return l, err
			}
		}
		return l, nil
	})
	if err != nil {
		return err
	}
	_, err = h.svc.Store().UpdateAccount(ctx, l.AccountID, func(a idp.Account) (idp.Account, []idp.Outgoing, error) {
		a.LastLoginAt = h.svc.Now()
		return a, nil, nil
	})
	return err
}

// errOtherLink: the account already has a login of this connector.
var errOtherLink = errors.New("the account is already linked to another login of this provider")

// createLink links the upstream login to an account. ErrConflict if the
// login is linked already (never relinked silently), errOtherLink if the
// account has another login of the same provider.
func (h *Handler) createLink(ctx context.Context, accountID string, ident connectors.Identity) error {
	links, err := h.svc.Store().ListLinks(ctx, accountID)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(links, func(l idp.ExternalLink) bool { return l.Connector == ident.Connector }) {
		return errOtherLink
	}
	now := h.svc.Now()
	l := idp.ExternalLink{AccountID: accountID, Connector: ident.Connector, Issuer: ident.Issuer, Subject: ident.Subject,
		ProofingLevel: ident.ProofingLevel, CreatedAt: now, LastUsedAt: now}
	if ident.BirthDate != "" {
		if err := h.svc.SealLinkPersonal(&l, idp.LinkPersonal{BirthDate: ident.BirthDate, BirthDateVerified: ident.BirthDateVerified}); err != nil {
			return err
		}
	}
	var out []idp.Outgoing
	if h.cfg.Factors != nil {
		if out, err = h.cfg.Factors.Notice(ctx, accountID, "login_linked"); err != nil {
			return err
		}
	}
	if err := h.svc.Store().CreateLink(ctx, l, out...); err != nil {
		return err
	}
	h.svc.Audit(ctx, accountID, "link.created", accountID, "connector="+ident.Connector)
	return nil
}

// linkError shows why a link was not made.
func (h *Handler) linkError(w http.ResponseWriter, r *http.Request, p pendingFed, err error) {
	switch {
	case errors.Is(err, idp.ErrConflict):
		h.fedError(w, r, p.AuthRequestID, "linked")
	case errors.Is(err, errOtherLink):
		h.fedError(w, r, p.AuthRequestID, "other_link")
	default:
		h.fail(w, r, err)
	}
}

// federationChoiceView is page "federation_choice": after a first login
// through an upstream provider, open a new account (names and e-mail
// pre-filled from the provider, editable) or link an existing one (its
// e-mail address and password; its second factor follows).
type federationChoiceView struct {
	templates.Page
	Provider      string // "SwissID"
	ClientName    string // the service the login is for, optional
	AuthRequestID string
	Form          string // "create" or "link": the form the errors belong to
	CreateAction  string
	GivenName     string
	FamilyName    string
	Email         string
	EmailVerified bool // the provider vouched for the pre-filled address
	LinkAction    string
	LinkEmail     string
	ResetURL      string
	CancelAction  string
}

// federationErrorView is page "federation_error": an upstream login that
// ended without a login, with a fixed message and a way back.
type federationErrorView struct {
	templates.Page
	MessageKey string // fed.err_*
	LoginURL   string // the login page, of the same auth request while it is alive
}

// linkRow is one linked login on the account page.
type linkRow struct {
	Name                       string
	Connector, Issuer, Subject string // posted back to unlink
	Since, LastUsed            time.Time
	ProofingKey                string // fed.proofing_*
}
