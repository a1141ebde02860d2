// Package notify delivers outgoing e-mail: it seals an idp.Mail for the
// transactional outbox (SealMail), and on the other side of the job queue
// a River worker (MailWorker) opens it, renders it with the templates
// package (Renderer) and hands it to a Sender: SMTP in production, or the
// in-memory DevOutbox with its /dev/outbox page in the embedded mode.
//
// It does not decide when a mail is sent (the idp package does), nor insert
// the jobs (store adapters insert a MailArgs job in the transaction of the
// change that causes the mail, so the river_job table is the outbox), nor
// run the River client (cmd wires it with Workers).
//
// Delivery is at least once. River retries a job whose Work returned an
// error, and a worker can stop after the SMTP server accepted a message
// but before River recorded the job as completed; the job then runs again
// and the message is sent twice. Every message therefore carries a
// Message-ID header derived from the job (its ID and a hash of its sealed
// payload), the same on every attempt, so that mail servers and clients
// that deduplicate by Message-ID show it once.
//
// A job whose payload cannot be opened, decoded or rendered is cancelled
// (river.JobCancel) rather than retried, because retrying cannot help.
// Logs name the job ID and the template, never the address or the content;
// errors from the SMTP server are returned with the address blanked out,
// because River stores and logs them.
//
// It also delivers the tokens relying parties receive (events.go): Security
// Event Tokens (RFC 8417) pushed over HTTP (RFC 8935) for deleted, disabled
// and enabled accounts
// and ended representations, and OIDC back-channel logout tokens for ended
// sessions. They are River jobs too (EventArgs, LogoutArgs), inserted by the
// store adapters from idp.Outgoing notices in the transaction of the change
// (or, for account deletions, by the periodic DispatchServiceEvents over the
// service_events rows), signed with the IdP's active key when sent and
// retried with River's backoff until the receiver accepts them.
//
// The subpackage smtptest is a small SMTP server on loopback for tests.
package notify
