package status

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/store/sqldb"
)

// Notifications: a notifiable change opens a window of Config.NotifyWindow
// on its case (status_cases.notify_due) and enqueues one job for the end of
// it, keyed on case and window; changes within the window join it. The job
// asks the IdP to send one short, general e-mail to the owner (for an
// organisation: the members who may use this service), without the case's
// content: the reference number and a link. The IdP's messageId is derived
// from case and window, so a retried job sends no second e-mail.

// sendNotification works a JobNotify job.
func (s *service) sendNotification(ctx context.Context, payload []byte) error {
	var j notifyJob
	if err := json.Unmarshal(payload, &j); err != nil {
		return sqldb.Permanent(fmt.Errorf("notification job: %w", err))
	}
	c, err := s.store.head(ctx, j.CaseID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.NotifyDue == nil || !c.NotifyDue.Equal(j.Due) || !c.Viewable {
		return nil // a later window took over, or the owner's account is gone
	}
	n := api.Notification{MessageID: notificationID(c.ID, j.Due), Kind: api.NotifyCaseStatusChanged,
		Reference: c.Reference, Link: s.caseURL(c.Reference)}
	if c.Status == Rueckfrage {
		n.Kind = api.NotifyCaseRequest
	}
	switch c.Owner.Kind {
	case OwnerPerson:
		n.Recipient = api.Recipient{Kind: OwnerPerson, Sub: c.Owner.Sub}
	case OwnerOrganisation:
		n.Recipient = api.Recipient{Kind: OwnerOrganisation, ID: c.Owner.ID}
	}
	if err := s.notifier.Notify(ctx, n); err != nil {
		if !api.Retryable(err) {
			s.log.ErrorContext(ctx, "notification refused by the IdP", "case", c.ID, "error", err)
			return sqldb.Permanent(err)
		}
		return err
	}
	return s.store.closeWindow(ctx, c.ID, j.Due)
}

// notificationID derives the notification's messageId (a UUID) from the
// case and its window.
func notificationID(caseID string, due time.Time) string {
	b := sha256.Sum256([]byte(caseID + "@" + due.UTC().Format(time.RFC3339Nano)))
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// closeWindow ends the case's notification window due, unless a later
// change opened a new one.
func (s *Store) closeWindow(ctx context.Context, caseID string, due time.Time) error {
	if _, err := s.db.Exec(ctx, `UPDATE status_cases SET notify_due = NULL WHERE id = ? AND notify_due = ?`, caseID, due); err != nil {
		return fmt.Errorf("close notification window: %w", err)
	}
	return nil
}
