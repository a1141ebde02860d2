package notify

import (
	"encoding/json"
	"fmt"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/keyring"
)

// mailAAD binds a sealed mail to its purpose, so no other sealed value can
// be passed off as a mail job.
var mailAAD = []byte("mail")

// KindMail is the idp.Outgoing kind of a sealed e-mail.
const KindMail = "mail"

// SealMail checks m (see CheckMail), encodes it as JSON and seals it with
// the key ring, ready to be written to the outbox as a MailArgs job.
func SealMail(r *keyring.Ring, m idp.Mail) (idp.Outgoing, error) {
	if err := CheckMail(m); err != nil {
		return idp.Outgoing{}, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return idp.Outgoing{}, fmt.Errorf("encode mail %q: %w", m.Template, err)
	}
	return idp.Outgoing{Kind: KindMail, Sealed: r.Seal(b, mailAAD)}, nil
}

// OpenMail opens and decodes a mail sealed by SealMail.
func OpenMail(r *keyring.Ring, sealed []byte) (idp.Mail, error) {
	b, err := r.Open(sealed, mailAAD)
	if err != nil {
		return idp.Mail{}, fmt.Errorf("open sealed mail: %w", err)
	}
	var m idp.Mail
	if err := json.Unmarshal(b, &m); err != nil {
		return idp.Mail{}, fmt.Errorf("decode sealed mail: %w", err)
	}
	return m, nil
}
