package mfa

import (
	"fmt"
	"strings"
	"time"
)

// smsTexts are the SMS bodies per language: code, minutes, unit. They use
// only characters of the GSM 03.38 basic alphabet, so that a message stays
// one 160-character segment (a "ê" or "’" would switch to UCS-2 and 70).
var smsTexts = map[string]struct {
	format      string
	one, plural string
}{
	"de": {"Ihr Code für das Kundencenter: %s. Gültig %d %s. Geben Sie ihn nie weiter.", "Minute", "Minuten"},
	"fr": {"Votre code pour le Kundencenter: %s. Valable %d %s. Ne le transmettez jamais.", "minute", "minutes"},
	"it": {"Il suo codice per il Kundencenter: %s. Valido %d %s. Non lo inoltri mai a nessuno.", "minuto", "minuti"},
	"en": {"Your Kundencenter code: %s. Valid for %d %s. Never share it.", "minute", "minutes"},
}

// normLocale reduces a locale ("fr-CH", "it_CH") to one of de, fr, it, en;
// anything else is German.
func normLocale(locale string) string {
	l := strings.ToLower(strings.TrimSpace(locale))
	if i := strings.IndexAny(l, "-_"); i >= 0 {
		l = l[:i]
	}
	if _, ok := smsTexts[l]; ok {
		return l
	}
	return "de"
}

// smsBody is the text of a code SMS. With a WebOTP host, the last line is
// the origin-bound form "@host #code" (WICG WebOTP, "SMS format").
func smsBody(locale, code string, ttl time.Duration, webOTPHost string) string {
	t := smsTexts[normLocale(locale)]
	minutes := int((ttl + time.Minute - 1) / time.Minute)
	unit := t.plural
	if minutes == 1 {
		unit = t.one
	}
	body := fmt.Sprintf(t.format, code, minutes, unit)
	if webOTPHost != "" {
		body += "\n\n@" + webOTPHost + " #" + code
	}
	return body
}
