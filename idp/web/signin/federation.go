package signin

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

	"github.com/kanton/kundencenter/idp/web/kit"
)

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

func (h *Handler) federationRoutes() {
	if h.Cfg.Federation == nil || h.Cfg.Federation.Flow == nil {
		return
	}
	h.Page("GET /login/external/{id}", h.fedBegin)
	h.Page("GET "+kit.CallbackPath, h.fedCallback)
	h.Page("GET /login/external/choice", h.fedChoice)
	h.Page("GET /login/external/error", h.fedErrorPage)
	h.Page("POST /login/external/create", h.fedCreate)
	h.Page("POST /login/external/link", h.fedLink)
	h.Page("POST /login/external/cancel", h.fedCancel)
}

// upstreams are the login page's buttons for an auth request ("" = none).
func (h *Handler) upstreams(authRequestID string) []upstreamLink {
	if h.Cfg.Federation == nil || h.Cfg.Federation.Flow == nil {
		return nil
	}
	var out []upstreamLink
	for _, c := range h.Cfg.Federation.Flow.Connectors.All() {
		u := "/login/external/" + url.PathEscape(c.ID())
		if authRequestID != "" {
			u += "?authRequestID=" + url.QueryEscape(authRequestID)
		}
		out = append(out, upstreamLink{Name: c.DisplayName(), URL: u, Kind: h.Cfg.Federation.Options[c.ID()].Type})
	}
	return out
}

// fedBegin sends the browser to the upstream provider (OIDC Core 1.0
// §3.1.2.1) with the level the auth request needs, the page language as
// ui_locales and the request's login_hint when it is an e-mail address.
func (h *Handler) fedBegin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, ok := h.Cfg.Federation.Flow.Connectors.Get(id); !ok {
		h.ErrorPage(w, r, http.StatusNotFound, "err.not_found")
		return
	}
	// Each start stores a pending login for ten minutes: bound per client.
	if err := h.Svc.Allow(ctx, []idp.Rule{upstreamPerIP}, []string{h.ClientIP(r)}); err != nil {
		h.Fail(w, r, err)
		return
	}
	req := connectors.Request{Purpose: purposeLogin}
	var locales []string
	if arID := r.URL.Query().Get("authRequestID"); arID != "" {
		a, err := h.Prov.AuthRequest(ctx, arID)
		if err != nil {
			h.RequestExpired(w, r)
			return
		}
		req.AuthRequestID = arID
		req.ACR = a.RequiredLevel(h.Prov.Levels())
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
	req.Locale = h.Lang(w, r, locales...)
	h.fedRedirect(w, r, id, req)
}

// fedRedirect starts an upstream login and redirects to it. A level the
// provider cannot reach is asked for at the provider's best, and the rest
// is stepped up locally after the callback.
func (h *Handler) fedRedirect(w http.ResponseWriter, r *http.Request, connectorID string, req connectors.Request) {
	ctx := r.Context()
	to, cookie, err := h.Cfg.Federation.Flow.Begin(ctx, connectorID, req)
	if errors.Is(err, connectors.ErrLevelUnsupported) {
		req.ACR = ""
		to, cookie, err = h.Cfg.Federation.Flow.Begin(ctx, connectorID, req)
	}
	if err != nil {
		h.Log.WarnContext(ctx, "upstream login not started", "connector", connectorID, "err", err, "request_id", kit.RequestID(ctx))
		h.fedError(w, r, req.AuthRequestID, "temporary")
		return
	}
	maxAge := int(connectors.DefaultStateTTL / time.Second)
	if t := h.Cfg.Federation.Flow.TTL; t > 0 {
		maxAge = int(t / time.Second)
	}
	h.SetCookie(w, h.CookieName("kc_upstream"), cookie, maxAge)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// fedCallback is the redirect back from the provider (OIDC Core 1.0
// §3.1.2.5, §3.1.2.6): state checked against this browser's cookie, the
// code redeemed and the tokens verified by the connector.
func (h *Handler) fedCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := h.CookieName("kc_upstream")
	val := ""
	if c, err := r.Cookie(name); err == nil {
		val = c.Value
	}
	h.SetCookie(w, name, "", -1)
	ident, st, err := h.Cfg.Federation.Flow.Finish(ctx, val, r.URL.Query())
	if err != nil {
		h.fedFailed(w, r, st, err)
		return
	}
	link, err := h.Svc.Store().GetLink(ctx, ident.Connector, ident.Issuer, ident.Subject)
	if errors.Is(err, idp.ErrNotFound) {
		h.fedStartChoice(w, r, ident, st)
		return
	}
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	acct, err := h.Svc.Account(ctx, link.AccountID)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	switch acct.Status {
	case idp.StatusActive:
	case idp.StatusPending:
		h.fedError(w, r, st.AuthRequestID, "pending")
		return
	default:
		h.Svc.Audit(ctx, acct.ID, "login.upstream_refused", acct.ID, "status="+string(acct.Status))
		h.fedError(w, r, st.AuthRequestID, "account")
		return
	}
	if err := h.touchLink(ctx, link, ident); err != nil {
		h.Fail(w, r, err)
		return
	}
	h.Svc.Audit(ctx, acct.ID, "login.upstream", acct.ID, "connector="+ident.Connector+" level="+ident.AuthLevel)
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
		h.Log.InfoContext(ctx, "upstream login ended with an error", "connector", st.Connector, "code", ue.Code, "request_id", kit.RequestID(ctx))
		switch {
		case ue.Cancelled():
			key = "cancelled"
		case ue.Temporary():
		default:
			key = "refused"
		}
	case errors.Is(err, connectors.ErrUnknownState), errors.Is(err, connectors.ErrStateMismatch):
		h.Log.InfoContext(ctx, "upstream callback without a pending login", "err", err, "request_id", kit.RequestID(ctx))
		key = "expired"
	case errors.As(err, &ve):
		h.Log.WarnContext(ctx, "upstream answer refused", "connector", st.Connector, "step", ve.Step, "err", err, "request_id", kit.RequestID(ctx))
		key = "invalid"
	default:
		h.Log.WarnContext(ctx, "upstream login failed", "connector", st.Connector, "err", err, "request_id", kit.RequestID(ctx))
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
		if a, err := h.Prov.AuthRequest(r.Context(), id); err == nil {
			v.LoginURL = "/login?authRequestID=" + url.QueryEscape(id)
			locales = a.UILocales
		}
	}
	h.Render(w, r, reason.status, "federation_error", h.Lang(w, r, locales...), v)
}

// fedContinue opens the session of a linked upstream login when its level
// is enough for the auth request, and otherwise steps it up: once at the
// provider (kit.StepUpUpstream, not again after a step-up: no loops), else
// with the account's own second factor.
func (h *Handler) fedContinue(w http.ResponseWriter, r *http.Request, accountID string, ident connectors.Identity, req connectors.Request, amr []string) {
	ctx := r.Context()
	m, err := h.Methods(ctx, accountID)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	need, err := h.requiredLevel(ctx, req.AuthRequestID, m, login.Rule{})
	if err != nil {
		h.RequestExpired(w, r)
		return
	}
	// The upstream login must be as fresh as the service asked
	// (prompt=login, max_age): a provider that answered from an older
	// session of its own is asked once more with prompt=login.
	if req.AuthRequestID != "" {
		a, err := h.Prov.AuthRequest(ctx, req.AuthRequestID)
		if err != nil {
			h.RequestExpired(w, r)
			return
		}
		if !h.Prov.FreshFor(a, ident.AuthTime, true) {
			if req.Purpose == purposeStepUp || req.Purpose == purposeRelogin {
				h.fedError(w, r, req.AuthRequestID, "stale")
				return
			}
			again := req
			again.Prompt, again.MaxAge, again.Purpose, again.AccountID = oidc.PromptLogin, 0, purposeRelogin, accountID
			to, cookie, err := h.Cfg.Federation.Flow.Begin(ctx, ident.Connector, again)
			if err != nil {
				h.fedError(w, r, req.AuthRequestID, "stale")
				return
			}
			h.SetCookie(w, h.CookieName("kc_upstream"), cookie, int(connectors.DefaultStateTTL/time.Second))
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
	opts := h.Cfg.Federation.Options[ident.Connector]
	if opts.StepUp != kit.StepUpLocal && req.Purpose != purposeStepUp {
		up := req.StepUp(need)
		up.Purpose, up.AccountID = purposeStepUp, accountID
		to, cookie, err := h.Cfg.Federation.Flow.Begin(ctx, ident.Connector, up)
		if err == nil {
			h.SetCookie(w, h.CookieName("kc_upstream"), cookie, int(connectors.DefaultStateTTL/time.Second))
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		if !errors.Is(err, connectors.ErrLevelUnsupported) {
			h.Log.WarnContext(ctx, "upstream step-up not started", "connector", ident.Connector, "err", err, "request_id", kit.RequestID(ctx))
		}
	}
	h.afterFirstFactor(w, r, accountID, amr, req.AuthRequestID, "", idp.Session{})
}

// touchLink records a login through a link: last use, and what the
// provider now says about the person (proofing level, verified birth date).
func (h *Handler) touchLink(ctx context.Context, l idp.ExternalLink, ident connectors.Identity) error {
	_, err := h.Svc.Store().UpdateLink(ctx, l.Connector, l.Issuer, l.Subject, func(l idp.ExternalLink) (idp.ExternalLink, error) {
		l.LastUsedAt = h.Svc.Now()
		if ident.ProofingLevel != "" {
			l.ProofingLevel = ident.ProofingLevel
		}
		if ident.BirthDate != "" {
			if err := h.Svc.SealLinkPersonal(&l, idp.LinkPersonal{BirthDate: ident.BirthDate, BirthDateVerified: ident.BirthDateVerified}); err != nil {
				return l, err
			}
		}
		return l, nil
	})
	if err != nil {
		return err
	}
	_, err = h.Svc.Store().UpdateAccount(ctx, l.AccountID, func(a idp.Account) (idp.Account, []idp.Outgoing, error) {
		a.LastLoginAt = h.Svc.Now()
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
	links, err := h.Svc.Store().ListLinks(ctx, accountID)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(links, func(l idp.ExternalLink) bool { return l.Connector == ident.Connector }) {
		return errOtherLink
	}
	now := h.Svc.Now()
	l := idp.ExternalLink{AccountID: accountID, Connector: ident.Connector, Issuer: ident.Issuer, Subject: ident.Subject,
		ProofingLevel: ident.ProofingLevel, CreatedAt: now, LastUsedAt: now}
	if ident.BirthDate != "" {
		if err := h.Svc.SealLinkPersonal(&l, idp.LinkPersonal{BirthDate: ident.BirthDate, BirthDateVerified: ident.BirthDateVerified}); err != nil {
			return err
		}
	}
	var out []idp.Outgoing
	if h.Cfg.Factors != nil {
		if out, err = h.Cfg.Factors.Notice(ctx, accountID, "login_linked"); err != nil {
			return err
		}
	}
	if err := h.Svc.Store().CreateLink(ctx, l, out...); err != nil {
		return err
	}
	h.Svc.Audit(ctx, accountID, "link.created", accountID, "connector="+ident.Connector)
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
		h.Fail(w, r, err)
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
