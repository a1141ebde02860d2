package delegation

// The representation code: sending it, finding and previewing the
// representation it names, and answering it (accept, confirm, reject).

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// matches reports whether the normalised code c is r's open code.
func (s *Service) matches(ctx context.Context, r Representation, c string) (bool, error) {
	if r.State(s.Now()) != RepCreated || r.CodeHash == "" || r.CodeSelector != c[:codeSelectorLen] {
		return false, nil
	}
	ok, _, err := s.cfg.Hasher.Verify(ctx, c[codeSelectorLen:], r.CodeHash)
	return ok, err
}

// SendCode e-mails the access code of an open representation to an
// address the principal (the actor) typed, in the principal's language
// and naming the principal. The code must be the one created for it.
// Field "email" for a bad address; ErrCodeInvalid for anything else.
func (s *Service) SendCode(ctx context.Context, actor, id, code, email string) error {
	email = idp.NormalizeEmail(email)
	switch {
	case email == "":
		return verr(map[string][]string{"email": {"err.required"}})
	case !idp.ValidEmail(email):
		return verr(map[string][]string{"email": {"err.email_invalid"}})
	}
	if err := s.allow(ctx, []idp.Rule{s.repLimits().SendPerActor}, []string{actor}); err != nil {
		return err
	}
	c := NormalizeCode(code)
	r, err := s.store.GetRepresentation(ctx, id)
	if err != nil && !errors.Is(err, idp.ErrNotFound) {
		return err
	}
	if err != nil || c == "" || r.PrincipalID != actor {
		return ErrCodeInvalid
	}
	if ok, err := s.matches(ctx, r, c); err != nil {
		return err
	} else if !ok {
		return ErrCodeInvalid
	}
	p, err := s.person(ctx, actor)
	if err != nil {
		return err
	}
	left := r.PendingUntil.Sub(s.Now())
	days := strconv.Itoa(max(1, int((left+24*time.Hour-1)/(24*time.Hour)))) // whole days, rounded up
	_, err = s.store.UpdateRepresentation(ctx, id, func(cur Representation) (Representation, []RepEvent, []idp.Outgoing, error) {
		if cur.State(s.Now()) != RepCreated || cur.CodeSelector != c[:codeSelectorLen] {
			return cur, nil, nil, ErrCodeInvalid
		}
		out, err := s.mail(email, p.acct.Locale, MailRepCode, map[string]string{"PartyName": p.name,
			"Code": FormatCode(c), "ValidDays": days, "Link": s.cfg.BaseURL + "/representations/enter"})
		if err != nil {
			return cur, nil, nil, err
		}
		return cur, []RepEvent{{RepresentationID: id, At: s.Now(), Actor: actor, Action: RepEventCodeSent}}, []idp.Outgoing{out}, nil
	})
	return err
}

// findByCode returns the open representation of a typed code after the
// throttle; every failure is ErrCodeInvalid and costs one Argon2id
// computation, so neither answer nor timing tells whether a code exists.
func (s *Service) findByCode(ctx context.Context, actor, code, ip string) (Representation, string, error) {
	l := s.repLimits()
	if err := s.allow(ctx, []idp.Rule{l.CodePerActor, l.CodePerIP}, []string{actor, ip}); err != nil {
		return Representation{}, "", err
	}
	c := NormalizeCode(code)
	if c == "" {
		_ = s.cfg.Hasher.Dummy(ctx, code)
		return Representation{}, "", ErrCodeInvalid
	}
	cands, err := s.store.ListRepresentationsBySelector(ctx, c[:codeSelectorLen])
	if err != nil {
		return Representation{}, "", fmt.Errorf("look up access code: %w", err)
	}
	checked := false
	for _, r := range cands {
		if r.State(s.Now()) != RepCreated {
			continue
		}
		checked = true
		ok, err := s.matches(ctx, r, c)
		if err != nil {
			return Representation{}, "", err
		}
		if ok {
			return r, c, nil
		}
	}
	if !checked {
		_ = s.cfg.Hasher.Dummy(ctx, c)
	}
	return Representation{}, "", ErrCodeInvalid
}

// CodePreview is what a representative sees before accepting: whom they
// would represent and for which services.
type CodePreview struct {
	Representation Representation
	PrincipalName  string
}

// PreviewCode checks a code the representative (the actor) typed and
// returns what accepting it means. Throttled per account and IP address;
// ErrCodeInvalid for any wrong code, ErrOwnCode for the principal's own.
func (s *Service) PreviewCode(ctx context.Context, actor, code, ip string) (CodePreview, error) {
	r, _, err := s.findByCode(ctx, actor, code, ip)
	if err != nil {
		return CodePreview{}, err
	}
	if r.PrincipalID == actor {
		return CodePreview{}, ErrOwnCode
	}
	p, err := s.person(ctx, r.PrincipalID)
	if err != nil {
		return CodePreview{}, ErrCodeInvalid
	}
	return CodePreview{Representation: r, PrincipalName: p.name}, nil
}

// Accept spends the code: the actor becomes the representative and the
// principal is asked by e-mail to confirm. Of two accepting the same code
// at once exactly one succeeds; the other gets ErrCodeInvalid.
func (s *Service) Accept(ctx context.Context, actor, code, ip string) (Representation, error) {
	r, c, err := s.findByCode(ctx, actor, code, ip)
	if err != nil {
		return Representation{}, err
	}
	if r.PrincipalID == actor {
		return Representation{}, ErrOwnCode
	}
	rep, err := s.person(ctx, actor)
	if err != nil {
		return Representation{}, err
	}
	principal, err := s.person(ctx, r.PrincipalID)
	if err != nil {
		return Representation{}, ErrCodeInvalid
	}
	next, err := s.store.UpdateRepresentation(ctx, r.ID, func(cur Representation) (Representation, []RepEvent, []idp.Outgoing, error) {
		now := s.Now()
		if cur.State(now) != RepCreated || cur.CodeSelector != c[:codeSelectorLen] || cur.CodeHash != r.CodeHash {
			return cur, nil, nil, ErrCodeInvalid
		}
		cur.RepresentativeID, cur.Status, cur.AcceptedAt, cur.UpdatedAt = actor, RepAccepted, now, now
		cur.PendingUntil = now.Add(s.CodeTTL())
		cur.CodeSelector, cur.CodeHash = "", ""
		out, err := s.mail(principal.email, principal.acct.Locale, MailRepAccepted, map[string]string{
			"Name": principal.name, "PartyName": rep.name, "Link": s.cfg.BaseURL + "/representations/" + cur.ID})
		if err != nil {
			return cur, nil, nil, err
		}
		return cur, []RepEvent{{RepresentationID: cur.ID, At: now, Actor: actor, Action: RepEventAccepted}}, []idp.Outgoing{out}, nil
	})
	if errors.Is(err, idp.ErrNotFound) {
		return Representation{}, ErrCodeInvalid
	}
	return next, err
}

// answer is Confirm or Reject by the principal of an accepted representation.
func (s *Service) answer(ctx context.Context, actor, id string, confirm bool) (Representation, error) {
	r, err := s.store.GetRepresentation(ctx, id)
	if err != nil && !errors.Is(err, idp.ErrNotFound) {
		return Representation{}, err
	}
	if err != nil || r.PrincipalID != actor {
		return Representation{}, ErrForbidden
	}
	rep, err := s.person(ctx, r.RepresentativeID)
	if err != nil {
		return Representation{}, ErrRepState
	}
	principal, err := s.person(ctx, actor)
	if err != nil {
		return Representation{}, err
	}
	return s.store.UpdateRepresentation(ctx, id, func(cur Representation) (Representation, []RepEvent, []idp.Outgoing, error) {
		now := s.Now()
		if cur.State(now) != RepAccepted || cur.RepresentativeID != r.RepresentativeID {
			return cur, nil, nil, ErrRepState
		}
		action, template := RepEventConfirmed, MailRepConfirmed
		if confirm {
			cur.Status, cur.ConfirmedAt = RepConfirmed, now
		} else {
			cur.Status, cur.EndedAt, cur.EndedBy = RepRejected, now, actor
			action, template = RepEventRejected, MailRepRejected
		}
		cur.UpdatedAt = now
		out, err := s.mail(rep.email, rep.acct.Locale, template, map[string]string{
			"Name": rep.name, "PartyName": principal.name, "Link": s.cfg.BaseURL + "/representations/" + cur.ID})
		if err != nil {
			return cur, nil, nil, err
		}
		return cur, []RepEvent{{RepresentationID: id, At: now, Actor: actor, Action: action}}, []idp.Outgoing{out}, nil
	})
}

// Confirm makes an accepted representation active. Only its principal
// may, after the representative accepted (ErrRepState before, or after
// the confirmation deadline); the representative is told by e-mail.
func (s *Service) Confirm(ctx context.Context, actor, id string) (Representation, error) {
	return s.answer(ctx, actor, id, true)
}

// Reject refuses the representative who accepted; the code is spent and
// the representative is told by e-mail.
func (s *Service) Reject(ctx context.Context, actor, id string) (Representation, error) {
	return s.answer(ctx, actor, id, false)
}
