package login

import (
	"context"
	"fmt"
	"time"
)

// Session is the part of an SSO session a login step needs.
type Session struct {
	ID        string
	AccountID string
	ACR       string
	AMR       []string
	AuthTime  time.Time
}

// Acting is whom a login acts for (zero: the person themself).
type Acting struct{ Kind, ID string }

// IsZero reports whether the login acts for the person themself.
func (a Acting) IsZero() bool { return a.Kind == "" && a.ID == "" }

// Request is a pending auth request as the login steps see it.
type Request struct {
	ID         string
	ClientID   string
	PromptNone bool // no page may be shown (OIDC Core §3.1.2.1)
	// ActingChosen is set once the person answered "Für wen handeln
	// Sie?" (Acting zero: themself).
	ActingChosen bool
	Acting       Acting
	Profile      string // the profile the client sees; "" = not chosen yet
	// Stored is the store's own record, handed back on Save and Complete
	// so that a step reads the request once.
	Stored any
}

// Requests loads and writes pending auth requests (idp/provider).
type Requests interface {
	Load(ctx context.Context, id string) (Request, error)
	// Save records the request's acting context and profile.
	Save(ctx context.Context, r Request) error
	// Complete records them and completes the request for the session in
	// one write, and returns the URL the browser continues to.
	Complete(ctx context.Context, r Request, s Session) (string, error)
}

// ActingChoices lists whom an account may act for at a client, besides
// itself (delegation, through idp.ActingResolver).
type ActingChoices interface {
	HasActingChoices(ctx context.Context, accountID, clientID string) (bool, error)
}

// Profiles are an account's profiles (idp).
type Profiles interface {
	// ProfileIDs lists the account's profiles, the first one first.
	ProfileIDs(ctx context.Context, accountID string) ([]string, error)
	// RememberedProfile is the profile last chosen for the client ("" if none).
	RememberedProfile(ctx context.Context, accountID, clientID string) (string, error)
}

// Recorder writes that a completed login acted for someone else (the
// audit entry and the representation's history); it logs its own failures,
// which do not undo the login.
type Recorder interface {
	ActingUsed(ctx context.Context, accountID, clientID string, a Acting)
}

// Step is what a login whose level is settled shows next.
type Step int

// The steps of Continue.
const (
	// Done: the auth request is completed; the browser goes to URL.
	Done Step = iota
	// ChooseActing: ask "Für wen handeln Sie?".
	ChooseActing
	// ChooseProfile: ask which profile the service sees.
	ChooseProfile
)

// Result is the outcome of a step.
type Result struct {
	Step Step
	URL  string // Done: the authorize callback
	// Request is the auth request as the step left it.
	Request Request
}

// Flow takes a login whose level is settled to its end. Acting may be
// nil (nobody acts for anyone).
type Flow struct {
	Requests Requests
	Acting   ActingChoices
	Profiles Profiles
	Recorder Recorder
}

// Continue decides, once for every path (the provider's SSO and the
// login pages), whether the person must choose an acting context or a
// profile, and otherwise completes the request. With prompt=none no page
// may be shown: the profile last chosen for the service is taken, else the
// first, and nobody else is acted for.
func (f *Flow) Continue(ctx context.Context, id string, s Session) (Result, error) {
	r, err := f.Requests.Load(ctx, id)
	if err != nil {
		return Result{}, err
	}
	return f.next(ctx, r, s)
}

// Resume is Continue for a request the caller loaded already.
func (f *Flow) Resume(ctx context.Context, r Request, s Session) (Result, error) {
	return f.next(ctx, r, s)
}

func (f *Flow) next(ctx context.Context, r Request, s Session) (Result, error) {
	if !r.PromptNone && !r.ActingChosen && f.Acting != nil {
		has, err := f.Acting.HasActingChoices(ctx, s.AccountID, r.ClientID)
		if err != nil {
			return Result{}, fmt.Errorf("acting choices: %w", err)
		}
		if has {
			return Result{Step: ChooseActing, Request: r}, nil
		}
	}
	if r.Profile == "" {
		ids, err := f.Profiles.ProfileIDs(ctx, s.AccountID)
		if err != nil {
			return Result{}, fmt.Errorf("profiles: %w", err)
		}
		if len(ids) > 1 && !r.PromptNone {
			return Result{Step: ChooseProfile, Request: r}, nil
		}
		if r.Profile, err = f.preset(ctx, ids, s.AccountID, r.ClientID); err != nil {
			return Result{}, err
		}
	}
	return f.complete(ctx, r, s)
}

// preset is the profile a client sees when nobody is asked: the one last
// chosen for it while it exists, else the first.
func (f *Flow) preset(ctx context.Context, ids []string, accountID, clientID string) (string, error) {
	if len(ids) == 0 {
		return "", fmt.Errorf("account %s has no profile", accountID)
	}
	rem, err := f.Profiles.RememberedProfile(ctx, accountID, clientID)
	if err != nil {
		return "", fmt.Errorf("remembered profile: %w", err)
	}
	for _, id := range ids {
		if id == rem {
			return rem, nil
		}
	}
	return ids[0], nil
}

// complete completes the request and only then records whom the login
// acted for: a login abandoned before (at the profile choice) never shows
// in the represented person's history.
func (f *Flow) complete(ctx context.Context, r Request, s Session) (Result, error) {
	next, err := f.Requests.Complete(ctx, r, s)
	if err != nil {
		return Result{}, err
	}
	if !r.Acting.IsZero() && f.Recorder != nil {
		f.Recorder.ActingUsed(ctx, s.AccountID, r.ClientID, r.Acting)
	}
	return Result{Step: Done, URL: next, Request: r}, nil
}

// ChooseActing records the person's answer to "Für wen handeln Sie?"
// (checked by the caller against the choices it offered) and continues.
func (f *Flow) ChooseActing(ctx context.Context, id string, s Session, a Acting) (Result, error) {
	r, err := f.Requests.Load(ctx, id)
	if err != nil {
		return Result{}, err
	}
	r.ActingChosen, r.Acting = true, a
	res, err := f.next(ctx, r, s)
	if err == nil && res.Step != Done {
		// The choice must survive until the next page answers.
		err = f.Requests.Save(ctx, res.Request)
	}
	return res, err
}

// ChooseProfile records the profile the service sees (checked by the
// caller to be the account's) and completes the request.
func (f *Flow) ChooseProfile(ctx context.Context, id string, s Session, profileID string) (Result, error) {
	r, err := f.Requests.Load(ctx, id)
	if err != nil {
		return Result{}, err
	}
	r.Profile = profileID
	return f.complete(ctx, r, s)
}
