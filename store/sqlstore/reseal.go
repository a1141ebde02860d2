package sqlstore

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/kanton/kundencenter/keyring/reseal"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/store/sqldb"
)

// SealedColumns lists every column of the IdP's store that holds values
// sealed with the key ring, with the associated data each was sealed with
// (see idp.Service.SealFor and the packages that call it), for
// keyring/reseal. Mail jobs that are running are left alone (counted as
// changed); the next run takes them if they are still there.
func (s *Store) SealedColumns() []reseal.Column {
	cols := []reseal.Column{
		reseal.Simple("accounts", "id", "sealed", "", func(k string, _ []string) []byte { return []byte(k) }),
		reseal.Simple("signing_keys", "id", "sealed", "", func(k string, _ []string) []byte { return []byte("signing-key:" + k) }),
		reseal.Simple("mfa_settings", "account_id", "phone_sealed", "", func(k string, _ []string) []byte { return []byte("mfa.phone:" + k) }),
		reseal.Simple("profiles", "id", "sealed", "account_id", func(k string, p []string) []byte {
			return []byte("profile:" + k + ":" + p[0])
		}),
		{
			Name: "external_links.sealed",
			Select: `SELECT connector || '|' || issuer || '|' || subject AS k, sealed, connector, issuer, subject, account_id
				FROM external_links WHERE connector || '|' || issuer || '|' || subject > ? ORDER BY k LIMIT ?`,
			Update:   `UPDATE external_links SET sealed = ? WHERE connector || '|' || issuer || '|' || subject = ? AND sealed = ?`,
			AADParts: 4,
			AAD: func(_ string, p []string) []byte {
				return []byte("link:" + p[0] + ":" + p[1] + ":" + p[2] + ":" + p[3])
			},
		},
		{
			// Action texts in a representation's timeline, sealed for the
			// principal (delegation). Those of a deleted principal cannot be
			// opened by anyone any more and are not counted.
			Name: "rep_events.detail",
			Select: `SELECT CAST(e.id AS TEXT), e.detail, r.principal_id FROM rep_events e
				JOIN representations r ON r.id = e.representation_id
				WHERE e.id > ? AND r.principal_id IS NOT NULL AND e.detail LIKE 'sealed:%' ORDER BY e.id LIMIT ?`,
			Update:   `UPDATE rep_events SET detail = ? WHERE id = ? AND detail = ?`,
			IntKey:   true,
			Text:     true,
			AADParts: 1,
			AAD:      func(_ string, p []string) []byte { return []byte("rep.action:" + p[0]) },
			Decode: func(v []byte) ([]byte, bool, error) {
				enc, ok := strings.CutPrefix(string(v), "sealed:")
				if !ok {
					return nil, false, nil
				}
				b, err := base64.RawURLEncoding.DecodeString(enc)
				return b, err == nil, err
			},
			Encode: func(_, sealed []byte) ([]byte, error) {
				return []byte("sealed:" + base64.RawURLEncoding.EncodeToString(sealed)), nil
			},
		},
	}
	mail := reseal.Column{
		Name: "river_job.args (mail)",
		Select: `SELECT CAST(id AS TEXT), args FROM river_job WHERE id > ? AND kind = 'mail'
			AND state NOT IN ('completed', 'cancelled', 'discarded') ORDER BY id LIMIT ?`,
		Update: `UPDATE river_job SET args = ? WHERE id = ? AND args = ? AND state <> 'running'`,
		IntKey: true,
		AAD:    func(string, []string) []byte { return []byte("mail") },
		Decode: func(v []byte) ([]byte, bool, error) {
			var a notify.MailArgs
			if err := json.Unmarshal(v, &a); err != nil {
				return nil, false, err
			}
			return a.Sealed, len(a.Sealed) > 0, nil
		},
		Encode: func(_, sealed []byte) ([]byte, error) { return json.Marshal(notify.MailArgs{Sealed: sealed}) },
	}
	if s.db.Dialect() == sqldb.Postgres {
		mail.Select = strings.Replace(mail.Select, "args FROM", "CAST(args AS text) FROM", 1)
		mail.Update = `UPDATE river_job SET args = CAST(? AS jsonb) WHERE id = ? AND CAST(args AS text) = ? AND state <> 'running'`
		mail.Text = true
	}
	return append(cols, mail)
}
