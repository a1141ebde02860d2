package mfa

import (
	"context"
	"fmt"

	"github.com/kanton/kundencenter/idp"
)

// noticeTexts tell the holder of a number that it no longer receives the
// account's codes (NIST SP 800-63B-4 §4.1.2: a change of the bound number
// is announced over an independent channel). GSM 03.38 characters only.
var noticeTexts = map[string]string{
	"de": "Kundencenter: Diese Nummer erhält keine Codes mehr für Ihr Konto. Waren Sie das nicht? Setzen Sie sofort Ihr Passwort zurück.",
	"fr": "Kundencenter: ce numéro n'obtient plus les codes de votre compte. Ce n'était pas vous? Réinitialisez tout de suite votre mot de passe.",
	"it": "Kundencenter: questo numero non riceve più codici per il suo conto. Non è stato lei? Reimposti subito la password.",
	"en": "Kundencenter: this number no longer receives codes for your account. Not you? Reset your password now.",
}

// NotifyUnbound tells the previous number of an account that it was
// replaced or removed. It counts against the number's and the global
// budget, so that it cannot be turned into a pump, and fails closed like a
// code.
func (s *Service) NotifyUnbound(ctx context.Context, accountID, e164, locale string) error {
	// The number was valid when it was bound; a country removed from the
	// allowed list since must not silence the notice.
	phone, err := ParsePhone(e164, []string{"CH", "LI", "AT", "DE", "FR", "IT"})
	if err != nil {
		return err
	}
	// Only the number's and the global budget: a notice follows a bound
	// number's change (itself budgeted) and must not use up the account's
	// codes for the next login.
	b := s.cfg.Budgets
	for _, c := range []struct {
		rule idp.Rule
		key  string
	}{{b.Number, s.opaque("number", phone.E164)}, {b.Global, "all"}} {
		ok, err := s.limiter.Allow(ctx, c.rule.Name+":"+c.key, c.rule.Limit, c.rule.Window)
		if err != nil {
			return s.unavailable(ctx, "budget "+c.rule.Name, err)
		}
		if !ok {
			return &BudgetError{Budget: c.rule.Name}
		}
	}
	if err := s.sender.SendSMS(ctx, phone.E164, noticeTexts[normLocale(locale)]); err != nil {
		s.log.WarnContext(ctx, "sms notice not sent", "account_id", accountID, "phone", phone, "err", err)
		return fmt.Errorf("%w: %w", ErrSend, err)
	}
	s.log.InfoContext(ctx, "sms notice sent", "account_id", accountID, "phone", phone)
	return nil
}
