package notify

// MailArgs is the River job that delivers one sealed idp.Mail. Store
// adapters insert it in the transaction of the change that causes the mail,
// which makes the river_job table the transactional outbox.
type MailArgs struct {
	Sealed []byte `json:"sealed"`
}

// Kind names the job for River.
func (MailArgs) Kind() string { return "mail" }
