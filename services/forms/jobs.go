package forms

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/store/sqldb"
)

// caseJob creates the case of a submission at the status service
// (idempotent on the submission's id, which is the messageId) and then
// queues the "form-received" notification. While the status service is
// down the job fails and is retried: the submission is never lost, and the
// case is never doubled.
func (s *service) caseJob(ctx context.Context, payload []byte) error {
	sub, err := s.db.submissionByID(ctx, string(payload))
	if err != nil {
		return sqldb.Permanent(err)
	}
	if sub.CaseReference == "" {
		d, ok := s.cat.Get(sub.FormID, sub.Version)
		if !ok {
			return sqldb.Permanent(fmt.Errorf("form %s@%d is gone", sub.FormID, sub.Version))
		}
		c, err := s.cfg.Cases.Create(ctx, caseRequest(d, sub))
		if err != nil {
			if api.Retryable(err) {
				return err
			}
			return sqldb.Permanent(err)
		}
		if err := s.db.setCase(ctx, sub.ID, c); err != nil {
			return err
		}
	}
	if sub.Representation != "" && s.cfg.Receipts != nil {
		if err := s.db.db.Enqueue(ctx, jobReceipt, sub.ID, []byte(sub.ID), s.now()); err != nil {
			return err
		}
	}
	return s.db.db.Enqueue(ctx, jobNotify, sub.ID, []byte(sub.ID), s.now())
}

// Receipts records what a representative did for the represented person
// (the IdP's action-receipt API); api.ActionReceipts implements it.
type Receipts interface {
	// RecordTexts reports action (German) with its translations by language.
	RecordTexts(ctx context.Context, representation, actor, action string, texts map[string]string) error
}

// receiptJob puts a sending for a represented person into that person's
// timeline: the form's title and the reference, nothing of the answers.
// A representation that has ended meanwhile refuses it; that is final.
func (s *service) receiptJob(ctx context.Context, payload []byte) error {
	sub, err := s.db.submissionByID(ctx, string(payload))
	if err != nil {
		return sqldb.Permanent(err)
	}
	// In every language: the service does not know which one the
	// represented person reads.
	ref := cmp.Or(sub.CaseReference, sub.Reference)
	texts := map[string]string{}
	for _, lang := range page.Languages {
		title := sub.FormID
		if d, ok := s.cat.Get(sub.FormID, sub.Version); ok {
			title = d.Title.In(lang)
		}
		texts[lang] = s.pages.Message(lang, "forms.action.sent", title, ref)
	}
	err = s.cfg.Receipts.RecordTexts(ctx, sub.Representation, sub.SubmittedBy, texts[page.Languages[0]], texts)
	if err != nil && !api.Retryable(err) {
		return sqldb.Permanent(err)
	}
	return err
}

// notifyJob tells the owner that a form was received; the e-mail says
// nothing of its content.
func (s *service) notifyJob(ctx context.Context, payload []byte) error {
	sub, err := s.db.submissionByID(ctx, string(payload))
	if err != nil {
		return sqldb.Permanent(err)
	}
	return s.notify(ctx, api.Notification{
		MessageID: uuidOf("form-received:" + sub.ID), Recipient: recipient(sub.Owner),
		Kind: api.NotifyFormReceived, Reference: sub.Reference, Link: s.base + "/submissions/" + sub.ID,
	})
}

func (s *service) notify(ctx context.Context, n api.Notification) error {
	if err := s.cfg.Notifier.Notify(ctx, n); err != nil {
		if api.Retryable(err) {
			return err
		}
		return sqldb.Permanent(err)
	}
	return nil
}

func recipient(o Owner) api.Recipient {
	if o.Kind == OwnerOrganisation {
		return api.Recipient{Kind: o.Kind, ID: o.ID}
	}
	return api.Recipient{Kind: OwnerPerson, Sub: o.ID}
}

// uuidOf derives a stable UUID from s (idempotency keys of notifications).
func uuidOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// sweepJob runs once a day: it reminds owners of drafts that will be
// deleted within ReminderBefore, deletes drafts whose retention ended, and
// queues tomorrow's sweep.
func (s *service) sweepJob(ctx context.Context, _ []byte) error {
	now := s.now()
	drafts, err := s.db.expiring(ctx, now.Add(s.cfg.ReminderBefore))
	if err != nil {
		return err
	}
	for _, x := range drafts {
		if !x.Expires.After(now) {
			continue
		}
		err := s.notify(ctx, api.Notification{
			MessageID: uuidOf("draft-expiring:" + x.ID + ":" + x.Expires.UTC().Format(time.RFC3339)),
			Recipient: recipient(x.Owner), Kind: api.NotifyDraftExpiring, Link: s.base + "/drafts",
		})
		if err != nil {
			return err
		}
		if err := s.db.markReminded(ctx, x.ID); err != nil {
			return err
		}
	}
	n, err := s.db.deleteExpired(ctx, now)
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.InfoContext(ctx, "expired drafts deleted", "count", n)
	}
	next := now.Add(24 * time.Hour)
	return s.db.db.Enqueue(ctx, jobSweep, next.UTC().Format(time.DateOnly), nil, next)
}
