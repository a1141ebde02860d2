package notify

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/keyring"
)

func TestSealMailRoundTrip(t *testing.T) {
	t.Parallel()
	r := testRing(t)
	for _, name := range allMails {
		t.Run(name, func(t *testing.T) {
			m := testMail(name, "fr")
			out, err := SealMail(r, m)
			if err != nil {
				t.Fatalf("SealMail: %v", err)
			}
			if out.Kind != "mail" {
				t.Errorf("Kind = %q, want mail", out.Kind)
			}
			if strings.Contains(string(out.Sealed), m.To) {
				t.Errorf("sealed payload contains the address in clear text")
			}
			got, err := OpenMail(r, out.Sealed)
			if err != nil {
				t.Fatalf("OpenMail: %v", err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Errorf("OpenMail = %+v, want %+v", got, m)
			}
		})
	}
}

func TestOpenMailRefuses(t *testing.T) {
	t.Parallel()
	r := testRing(t)
	plain, err := json.Marshal(testMail(idp.MailReset, "de"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		sealed []byte
		want   error
	}{
		{name: "garbage", sealed: []byte("not sealed"), want: keyring.ErrOpen},
		{name: "other associated data", sealed: r.Seal(plain, []byte("account:1")), want: keyring.ErrOpen},
		{name: "other key ring", sealed: testRing(t).Seal(plain, []byte("mail")), want: keyring.ErrOpen},
		{name: "not JSON", sealed: r.Seal([]byte("{"), []byte("mail"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OpenMail(r, tt.sealed)
			if err == nil {
				t.Fatal("OpenMail succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("OpenMail = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCheckMail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*idp.Mail)
		want   []string // substrings of the error; none means valid
	}{
		{name: "valid", change: func(*idp.Mail) {}},
		{name: "name is optional", change: func(m *idp.Mail) { delete(m.Data, KeyName) }},
		{name: "unknown template", change: func(m *idp.Mail) { m.Template = "welcome" }, want: []string{`unknown template "welcome"`}},
		{name: "no recipient", change: func(m *idp.Mail) { m.To = "" }, want: []string{"recipient"}},
		{name: "display name", change: func(m *idp.Mail) { m.To = "Zoë <zoe@example.ch>" }, want: []string{"recipient"}},
		{name: "header injection", change: func(m *idp.Mail) { m.To = "zoe@example.ch\r\nBcc: x@example.ch" }, want: []string{"recipient"}},
		{name: "missing link and Konto-ID", change: func(m *idp.Mail) { delete(m.Data, KeyLink); m.Data[KeyKontoID] = " " },
			want: []string{"Link is missing", "KontoID is missing"}},
		{name: "javascript link", change: func(m *idp.Mail) { m.Data[KeyLink] = "javascript:alert(1)" }, want: []string{"Link is not an absolute http(s) URL"}},
		{name: "relative link", change: func(m *idp.Mail) { m.Data[KeyLink] = "/aktivieren?token=x" }, want: []string{"Link is not"}},
		{name: "zero hours", change: func(m *idp.Mail) { m.Data[KeyValidHours] = "0" }, want: []string{"ValidHours is not a positive integer"}},
		{name: "hours as words", change: func(m *idp.Mail) { m.Data[KeyValidHours] = "zwei" }, want: []string{"ValidHours"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMail(idp.MailActivate, "de")
			tt.change(&m)
			err := CheckMail(m)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckMail = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidMail) {
				t.Fatalf("CheckMail = %v, want ErrInvalidMail", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckMail = %q, want it to contain %q", err, w)
				}
			}
			for _, secret := range []string{"zoe", "s3cr3t", "javascript"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q reveals a value (%q)", err, secret)
				}
			}
			if _, err := SealMail(testRing(t), m); !errors.Is(err, ErrInvalidMail) {
				t.Errorf("SealMail = %v, want ErrInvalidMail", err)
			}
		})
	}
}
