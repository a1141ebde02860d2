package sqlstore

import (
	"context"
	"slices"

	"github.com/kanton/kundencenter/store/sqldb"
)

// openRepStatuses are the representations an account deletion ends.
const openRepStatuses = `('created', 'accepted', 'confirmed')`

// deleteAccount deletes the account row and its refresh tokens in tx,
// after the rules that an account deletion (by the user or the inactivity
// rules) applies, with the store's clock:
//
//   - its open representations end (revoked by the system, an 'ended'
//     event); the parties' columns then become NULL (ON DELETE SET NULL);
//   - in every organisation where it sent pending invitations, these are
//     revoked, one history entry each by the system (as delegation's
//     revokeInvitationsBy does when an admin loses the role or leaves);
//   - an organisation never loses its last admin: the longest-standing
//     other member becomes admin, and the history says the system did it.
//
// Organisations are locked once each, in ID order (UpdateOrg locks the
// organisation row too). Memberships, invitations addressed to the account
// and the rest go by ON DELETE CASCADE. It returns the number of accounts
// deleted (0 or 1).
//
// These rules were triggers until migration 0015.
func (s *Store) deleteAccount(ctx context.Context, tx *sqldb.Tx, id string) (int64, error) {
	now := dbTime(s.now())
	if _, err := exec(ctx, tx, `SELECT id FROM accounts WHERE id = ? FOR UPDATE`, id); err != nil {
		return 0, err
	}
	if _, err := exec(ctx, tx, `INSERT INTO rep_events (representation_id, at, actor, action, client_id, detail)
		SELECT id, ?, 'system', 'ended', '', 'account_deleted' FROM representations
		WHERE (principal_id = ? OR representative_id = ?) AND status IN `+openRepStatuses+` ORDER BY id`,
		now, id, id); err != nil {
		return 0, err
	}
	if _, err := exec(ctx, tx, `UPDATE representations
		SET status = 'revoked', ended_by = 'system', code_selector = NULL, code_hash = '', ended_at = ?, updated_at = ?
		WHERE (principal_id = ? OR representative_id = ?) AND status IN `+openRepStatuses,
		now, now, id, id); err != nil {
		return 0, err
	}
	adminOf, err := s.adminOrgs(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	rows, err := tx.Query(ctx, `SELECT DISTINCT org_id FROM org_invitations WHERE invited_by = ? AND status = 'pending'`, id)
	orgs, err := collect(rows, err, func(r scanner) (org string, err error) { return org, r.Scan(&org) })
	if err != nil {
		return 0, err
	}
	for org := range adminOf {
		orgs = append(orgs, org)
	}
	slices.Sort(orgs)
	for _, org := range slices.Compact(orgs) {
		if err := s.handOverOrg(ctx, tx, org, id, adminOf[org], now); err != nil {
			return 0, err
		}
	}
	if _, err := exec(ctx, tx, `DELETE FROM refresh_tokens WHERE account_id = ?`, id); err != nil {
		return 0, err
	}
	return exec(ctx, tx, `DELETE FROM accounts WHERE id = ?`, id)
}

// roleHolder is a membership's organisation or account and whether it
// has the admin role.
type roleHolder struct {
	id    string
	admin bool
}

// roleHolders runs a query for (id, roles) pairs.
func roleHolders(ctx context.Context, tx *sqldb.Tx, q string, args ...any) ([]roleHolder, error) {
	rows, err := tx.Query(ctx, q, args...)
	return collect(rows, err, func(r scanner) (h roleHolder, err error) {
		var roles []string
		err = r.Scan(&h.id, sqldb.ScanList(&roles))
		h.admin = slices.Contains(roles, "admin")
		return h, err
	})
}

// adminOrgs returns the organisations where the account is an admin.
func (s *Store) adminOrgs(ctx context.Context, tx *sqldb.Tx, id string) (map[string]bool, error) {
	list, err := roleHolders(ctx, tx, `SELECT org_id, roles FROM org_members WHERE account_id = ?`, id)
	out := map[string]bool{}
	for _, m := range list {
		if m.admin {
			out[m.id] = true
		}
	}
	return out, err
}

// handOverOrg revokes the pending invitations the leaving account sent in
// org and, if it was the last admin, makes the longest-standing other
// member admin.
func (s *Store) handOverOrg(ctx context.Context, tx *sqldb.Tx, org, leaving string, wasAdmin bool, now any) error {
	if _, err := exec(ctx, tx, `SELECT id FROM orgs WHERE id = ? FOR UPDATE`, org); err != nil {
		return err
	}
	if _, err := exec(ctx, tx, `INSERT INTO org_events (org_id, at, actor, action, subject, detail)
		SELECT org_id, ?, 'system', 'invitation_revoked', label, '' FROM org_invitations
		WHERE org_id = ? AND invited_by = ? AND status = 'pending' ORDER BY created_at, id`,
		now, org, leaving); err != nil {
		return err
	}
	if _, err := exec(ctx, tx, `UPDATE org_invitations SET status = 'revoked', done_at = ?
		WHERE org_id = ? AND invited_by = ? AND status = 'pending'`, now, org, leaving); err != nil {
		return err
	}
	if !wasAdmin {
		return nil
	}
	others, err := roleHolders(ctx, tx, `SELECT account_id, roles FROM org_members WHERE org_id = ? AND account_id <> ?
		ORDER BY created_at, account_id`, org, leaving)
	if err != nil || len(others) == 0 || slices.ContainsFunc(others, func(h roleHolder) bool { return h.admin }) {
		return err // no heir, or another admin remains
	}
	heir := others[0].id
	if _, err := exec(ctx, tx, `UPDATE org_members SET roles = ?, updated_at = ? WHERE org_id = ? AND account_id = ?`,
		sqldb.List{"admin"}, now, org, heir); err != nil {
		return err
	}
	_, err = exec(ctx, tx, `INSERT INTO org_events (org_id, at, actor, action, subject, detail)
		VALUES (?, ?, 'system', 'role_changed', ?, 'admin')`, org, now, heir)
	return err
}
