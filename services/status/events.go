package status

import (
	"context"

	"github.com/kanton/kundencenter/services/rp"
)

// securityEvent applies the IdP's Security Events (rp.Config.OnSecurityEvent).
// On account-purged (RISC 1.0) the person's cases are no longer viewable
// and lose every personal reference; the back office keeps them (seed 002:
// "eingereichte Aufträge werden weiterbearbeitet … Status nicht mehr
// einsehbar"). Other events are accepted and ignored.
func (s *service) securityEvent(ctx context.Context, ev rp.SecurityEvent) error {
	if ev.Type != rp.EventAccountPurged {
		return nil
	}
	n, err := s.store.Purge(ctx, ev.Subject)
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "account purged: cases hidden and personal references removed", "cases", n)
	return nil
}
