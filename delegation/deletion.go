package delegation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// DeletionNotices returns what the deletion of an account at now owes the
// others, for idp.Config.OnDelete: the deletion enqueues them in its
// transaction, in which the trigger accounts_end_representations revokes
// the account's open representations.
//
// For every representation of the account (as principal or as
// representative) that is in effect at now — accepted or confirmed, not
// past its deadline or end date — the other party gets the rep_ended mail
// in their language (one mail per person, however many representations
// they share), and for a confirmed one each service it covers gets a
// representation-ended Security Event Token, as EndRepresentation sends
// them. A representation still waiting for its code has nobody to tell;
// an expired one ended already. Another party whose account is gone (a
// deletion at the same moment) is skipped; nothing is owed for an account
// that does not exist.
func (s *Service) DeletionNotices(ctx context.Context, accountID string, now time.Time) ([]idp.Outgoing, error) {
	list, err := s.store.ListRepresentations(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("list representations: %w", err)
	}
	var (
		out     []idp.Outgoing
		me      *person
		told    = map[string]bool{}
		missing = func(err error) bool { return errors.Is(err, idp.ErrNotFound) }
	)
	for _, r := range list {
		state := r.State(now)
		if !r.Open() || (state != RepAccepted && state != RepConfirmed) {
			continue
		}
		other := r.RepresentativeID
		if other == accountID {
			other = r.PrincipalID
		}
		if other == "" || other == accountID {
			continue
		}
		if me == nil {
			p, err := s.person(ctx, accountID)
			if missing(err) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			me = &p
		}
		if !told[other] {
			told[other] = true
			p, err := s.person(ctx, other)
			switch {
			case missing(err):
			case err != nil:
				// The other party's data cannot be read (e.g. a retired key):
				// their mail is skipped rather than blocking this deletion
				// (the services are still told below).
				s.log.ErrorContext(ctx, "representation counterparty not told of a deletion", "account_id", other, "err", err)
			default:
				m, err := s.endedMail(p, *me)
				if err != nil {
					s.log.ErrorContext(ctx, "representation counterparty not told of a deletion", "account_id", other, "err", err)
					break
				}
				out = append(out, m)
			}
		}
		if state == RepConfirmed {
			sets, err := endedEvents(r, now)
			if err != nil {
				return nil, err
			}
			out = append(out, sets...)
		}
	}
	return out, nil
}
