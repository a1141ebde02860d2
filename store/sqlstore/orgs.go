package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqldb"
)

var _ delegation.Store = (*Store)(nil)

const (
	orgColumns        = `o.id, o.name, o.designation, o.addresses, o.uid, o.legacy_id, o.created_at, o.updated_at`
	memberColumns     = `m.org_id, m.account_id, m.roles, m.services, m.created_at, m.updated_at`
	invitationColumns = `i.id, i.org_id, i.hash, i.role, i.account_id, i.email_index, i.label, i.invited_by, i.status,
		i.created_at, i.expires_at, i.done_at`
)

func dbAddresses(a []delegation.Address) (string, error) {
	if len(a) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(a)
	return string(b), err
}

func dbNullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func dbNullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// orgRow receives an organisation's columns (orgColumns).
type orgRow struct {
	o      delegation.Organisation
	addrs  string
	legacy sql.NullString
}

func (r *orgRow) dest() []any {
	return []any{&r.o.ID, &r.o.Name, &r.o.Designation, &r.addrs, &r.o.UID, &r.legacy, &r.o.CreatedAt, &r.o.UpdatedAt}
}

func (r *orgRow) value() (delegation.Organisation, error) {
	if err := json.Unmarshal([]byte(r.addrs), &r.o.Addresses); err != nil {
		return r.o, fmt.Errorf("decode addresses: %w", err)
	}
	if len(r.o.Addresses) == 0 {
		r.o.Addresses = nil
	}
	r.o.LegacyID = r.legacy.String
	return r.o, nil
}

func scanOrg(r scanner, extra ...any) (delegation.Organisation, error) {
	var or orgRow
	if err := r.Scan(append(or.dest(), extra...)...); err != nil {
		return or.o, translate(err)
	}
	return or.value()
}

// memberDest returns the scan destinations of memberColumns.
func memberDest(m *delegation.Membership) []any {
	return []any{&m.OrgID, &m.AccountID, sqldb.ScanList(&m.Roles), sqldb.ScanList(&m.Services), &m.CreatedAt, &m.UpdatedAt}
}

func scanInvitation(r scanner, extra ...any) (delegation.Invitation, error) {
	var (
		i       delegation.Invitation
		account sql.NullString
		status  string
	)
	dest := append([]any{&i.ID, &i.OrgID, &i.Hash, &i.Role, &account, &i.EmailIndex, &i.Label, &i.InvitedBy, &status,
		&i.CreatedAt, &i.ExpiresAt, &i.DoneAt}, extra...)
	if err := r.Scan(dest...); err != nil {
		return i, translate(err)
	}
	i.AccountID, i.Status = account.String, delegation.InvitationStatus(status)
	i.Hash, i.EmailIndex = goBytes(i.Hash), goBytes(i.EmailIndex)
	return i, nil
}

func insertOrg(ctx context.Context, q querier, o delegation.Organisation) error {
	addrs, err := dbAddresses(o.Addresses)
	if err != nil {
		return err
	}
	_, err = exec(ctx, q, `INSERT INTO orgs (id, name, designation, addresses, uid, legacy_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.Name, o.Designation, addrs, o.UID, dbNullString(o.LegacyID), dbTime(o.CreatedAt), dbTime(o.UpdatedAt))
	return err
}

func insertMember(ctx context.Context, q querier, m delegation.Membership) error {
	_, err := exec(ctx, q, `INSERT INTO org_members (org_id, account_id, roles, services, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		m.OrgID, m.AccountID, sqldb.List(m.Roles), sqldb.List(m.Services), dbTime(m.CreatedAt), dbTime(m.UpdatedAt))
	return err
}

func insertInvitation(ctx context.Context, q querier, i delegation.Invitation) error {
	_, err := exec(ctx, q, `INSERT INTO org_invitations (id, org_id, hash, role, account_id, email_index, label,
		invited_by, status, created_at, expires_at, done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		i.ID, i.OrgID, dbBytes(i.Hash), i.Role, dbNullString(i.AccountID), dbNullBytes(i.EmailIndex), i.Label,
		i.InvitedBy, string(i.Status), dbTime(i.CreatedAt), dbTime(i.ExpiresAt), dbTime(i.DoneAt))
	return err
}

func insertEvents(ctx context.Context, q querier, orgID string, events []delegation.Event) error {
	for _, e := range events {
		if e.OrgID != orgID {
			return fmt.Errorf("event for organisation %q written with %q", e.OrgID, orgID)
		}
		if _, err := exec(ctx, q, `INSERT INTO org_events (org_id, at, actor, action, subject, detail)
			VALUES (?, ?, ?, ?, ?, ?)`, e.OrgID, dbTime(e.At), e.Actor, e.Action, e.Subject, e.Detail); err != nil {
			return fmt.Errorf("append event: %w", err)
		}
	}
	return nil
}

// checkState enforces the invariants every stored state keeps.
func checkState(st delegation.OrgState) error {
	if len(st.Members) > 0 && st.Admins() == 0 {
		return delegation.ErrLastAdmin
	}
	for _, m := range st.Members {
		if m.OrgID != st.Org.ID {
			return fmt.Errorf("member %q belongs to organisation %q", m.AccountID, m.OrgID)
		}
		if len(m.Roles) == 0 {
			return fmt.Errorf("member %q has no role", m.AccountID)
		}
	}
	for _, i := range st.Invitations {
		if i.OrgID != st.Org.ID {
			return fmt.Errorf("invitation %q belongs to organisation %q", i.ID, i.OrgID)
		}
	}
	return nil
}

func (s *Store) createOrg(ctx context.Context, tx *sqldb.Tx, st delegation.OrgState, events []delegation.Event, out []idp.Outgoing) error {
	if err := checkState(st); err != nil {
		return err
	}
	if err := insertOrg(ctx, tx, st.Org); err != nil {
		return err
	}
	for _, m := range st.Members {
		if err := insertMember(ctx, tx, m); err != nil {
			return fmt.Errorf("member: %w", err)
		}
	}
	for _, i := range st.Invitations {
		if err := insertInvitation(ctx, tx, i); err != nil {
			return fmt.Errorf("invitation: %w", err)
		}
	}
	if err := insertEvents(ctx, tx, st.Org.ID, events); err != nil {
		return err
	}
	return s.enqueue(ctx, tx, out)
}

// CreateOrg inserts an organisation with its first members, its history
// events and their messages at once.
func (s *Store) CreateOrg(ctx context.Context, st delegation.OrgState, events []delegation.Event, out ...idp.Outgoing) error {
	if err := s.db.Tx(ctx, func(tx *sqldb.Tx) error { return s.createOrg(ctx, tx, st, events, out) }); err != nil {
		return fmt.Errorf("create organisation: %w", err)
	}
	return nil
}

// loadOrg reads an organisation's state; lock takes the row lock that
// serialises UpdateOrg (SELECT … FOR UPDATE; SQLite's write lock).
func loadOrg(ctx context.Context, q querier, id string, lock bool) (delegation.OrgState, error) {
	query := `SELECT ` + orgColumns + ` FROM orgs o WHERE o.id = ?`
	if lock {
		query += ` FOR UPDATE`
	}
	o, err := scanOrg(q.QueryRow(ctx, query, id))
	if err != nil {
		return delegation.OrgState{}, err
	}
	st := delegation.OrgState{Org: o}
	rows, err := q.Query(ctx, `SELECT `+memberColumns+` FROM org_members m WHERE m.org_id = ?
		ORDER BY m.created_at, m.account_id`, id)
	if st.Members, err = collect(rows, err, func(r scanner) (m delegation.Membership, err error) {
		return m, r.Scan(memberDest(&m)...)
	}); err != nil {
		return st, err
	}
	rows, err = q.Query(ctx, `SELECT `+invitationColumns+` FROM org_invitations i
		WHERE i.org_id = ? AND i.status = ? ORDER BY i.created_at, i.id`, id, string(delegation.InvitationPending))
	st.Invitations, err = collect(rows, err, func(r scanner) (delegation.Invitation, error) { return scanInvitation(r) })
	return st, err
}

// GetOrg returns the organisation with its members and its pending
// invitations, or ErrNotFound.
func (s *Store) GetOrg(ctx context.Context, id string) (delegation.OrgState, error) {
	st, err := loadOrg(ctx, s.db, id, false)
	if err != nil {
		return delegation.OrgState{}, fmt.Errorf("get organisation: %w", err)
	}
	return st, nil
}

// writeState stores the difference between old and next.
func writeState(ctx context.Context, tx *sqldb.Tx, old, next delegation.OrgState) error {
	addrs, err := dbAddresses(next.Org.Addresses)
	if err != nil {
		return err
	}
	if _, err := exec(ctx, tx, `UPDATE orgs SET name = ?, designation = ?, addresses = ?, uid = ?, legacy_id = ?,
		created_at = ?, updated_at = ? WHERE id = ?`,
		next.Org.Name, next.Org.Designation, addrs, next.Org.UID, dbNullString(next.Org.LegacyID),
		dbTime(next.Org.CreatedAt), dbTime(next.Org.UpdatedAt), next.Org.ID); err != nil {
		return fmt.Errorf("store organisation: %w", err)
	}
	keep := map[string]bool{}
	for _, m := range next.Members {
		keep[m.AccountID] = true
		if _, existed := old.Member(m.AccountID); existed {
			if _, err := exec(ctx, tx, `UPDATE org_members SET roles = ?, services = ?, created_at = ?, updated_at = ?
				WHERE org_id = ? AND account_id = ?`, sqldb.List(m.Roles), sqldb.List(m.Services), dbTime(m.CreatedAt),
				dbTime(m.UpdatedAt), m.OrgID, m.AccountID); err != nil {
				return fmt.Errorf("store member: %w", err)
			}
		} else if err := insertMember(ctx, tx, m); err != nil {
			return fmt.Errorf("add member: %w", err)
		}
	}
	for _, m := range old.Members {
		if !keep[m.AccountID] {
			if _, err := exec(ctx, tx, `DELETE FROM org_members WHERE org_id = ? AND account_id = ?`,
				m.OrgID, m.AccountID); err != nil {
				return fmt.Errorf("remove member: %w", err)
			}
		}
	}
	oldInv := map[string]delegation.Invitation{}
	for _, i := range old.Invitations {
		oldInv[i.ID] = i
	}
	for _, i := range next.Invitations {
		prev, existed := oldInv[i.ID]
		switch {
		case !existed:
			if err := insertInvitation(ctx, tx, i); err != nil {
				return fmt.Errorf("add invitation: %w", err)
			}
		case prev.Status != i.Status || !prev.DoneAt.Equal(i.DoneAt):
			if _, err := exec(ctx, tx, `UPDATE org_invitations SET status = ?, done_at = ? WHERE id = ? AND org_id = ?`,
				string(i.Status), dbTime(i.DoneAt), i.ID, i.OrgID); err != nil {
				return fmt.Errorf("store invitation: %w", err)
			}
		}
	}
	return nil
}

// UpdateOrg applies fn to the organisation's current state while holding
// its row lock (SELECT … FOR UPDATE; on SQLite the write lock) and writes
// the result.
func (s *Store) UpdateOrg(ctx context.Context, id string,
	fn func(delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error),
) (delegation.OrgState, error) {
	var next delegation.OrgState
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		old, err := loadOrg(ctx, tx, id, true)
		if err != nil {
			return err
		}
		// fn gets its own copy: it may change slices in place.
		var events []delegation.Event
		var out []idp.Outgoing
		next, events, out, err = fn(cloneState(old))
		if err != nil {
			return err
		}
		if next.Org.ID != id {
			return errors.New("the organisation ID cannot change")
		}
		if err := checkState(next); err != nil {
			return err
		}
		if err := writeState(ctx, tx, old, next); err != nil {
			return err
		}
		if err := insertEvents(ctx, tx, id, events); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, out)
	})
	if err != nil {
		return delegation.OrgState{}, fmt.Errorf("update organisation: %w", err)
	}
	return next, nil
}

func cloneState(st delegation.OrgState) delegation.OrgState {
	c := st
	c.Org.Addresses = append([]delegation.Address(nil), st.Org.Addresses...)
	c.Members = make([]delegation.Membership, len(st.Members))
	for i, m := range st.Members {
		m.Roles = append([]string(nil), m.Roles...)
		m.Services = append([]string(nil), m.Services...)
		c.Members[i] = m
	}
	c.Invitations = append([]delegation.Invitation(nil), st.Invitations...)
	return c
}

// ListMemberOrgs returns the organisations an account belongs to, by name.
func (s *Store) ListMemberOrgs(ctx context.Context, accountID string) ([]delegation.MemberOrg, error) {
	rows, err := s.db.Query(ctx, `SELECT `+orgColumns+`, `+memberColumns+`
		FROM org_members m JOIN orgs o ON o.id = m.org_id WHERE m.account_id = ? ORDER BY o.name, o.id`, accountID)
	out, err := collect(rows, err, scanMemberOrg)
	if err != nil {
		return nil, fmt.Errorf("list organisations: %w", err)
	}
	return out, nil
}

func scanMemberOrg(r scanner) (mo delegation.MemberOrg, err error) {
	mo.Org, err = scanOrg(r, memberDest(&mo.Membership)...)
	return mo, err
}

// GetMemberOrg returns one membership with its organisation or ErrNotFound.
func (s *Store) GetMemberOrg(ctx context.Context, orgID, accountID string) (delegation.MemberOrg, error) {
	mo, err := scanMemberOrg(s.db.QueryRow(ctx, `SELECT `+orgColumns+`, `+memberColumns+`
		FROM org_members m JOIN orgs o ON o.id = m.org_id WHERE m.org_id = ? AND m.account_id = ?`, orgID, accountID))
	if err != nil {
		return delegation.MemberOrg{}, fmt.Errorf("get membership: %w", err)
	}
	return mo, nil
}

// GetInvitation returns an invitation by ID or ErrNotFound.
func (s *Store) GetInvitation(ctx context.Context, id string) (delegation.Invitation, error) {
	i, err := scanInvitation(s.db.QueryRow(ctx, `SELECT `+invitationColumns+` FROM org_invitations i WHERE i.id = ?`, id))
	if err != nil {
		return i, fmt.Errorf("get invitation: %w", err)
	}
	return i, nil
}

// GetInvitationByHash returns an invitation by token hash or ErrNotFound.
func (s *Store) GetInvitationByHash(ctx context.Context, hash []byte) (delegation.Invitation, error) {
	i, err := scanInvitation(s.db.QueryRow(ctx, `SELECT `+invitationColumns+` FROM org_invitations i WHERE i.hash = ?`,
		dbBytes(hash)))
	if err != nil {
		return i, fmt.Errorf("get invitation: %w", err)
	}
	return i, nil
}

// ListInvitationsFor returns the open invitations addressed to the
// account or the e-mail blind index, oldest first.
func (s *Store) ListInvitationsFor(ctx context.Context, accountID string, emailIndex []byte, now time.Time) ([]delegation.InvitationWithOrg, error) {
	rows, err := s.db.Query(ctx, `SELECT `+invitationColumns+`, `+orgColumns+`
		FROM org_invitations i JOIN orgs o ON o.id = i.org_id
		WHERE i.status = ? AND i.expires_at > ? AND (i.account_id = ? OR (i.account_id IS NULL AND i.email_index = ?))
		ORDER BY i.created_at, i.id`,
		string(delegation.InvitationPending), dbTime(now), accountID, dbNullBytes(emailIndex))
	out, err := collect(rows, err, func(r scanner) (iw delegation.InvitationWithOrg, err error) {
		var or orgRow
		if iw.Invitation, err = scanInvitation(r, or.dest()...); err != nil {
			return iw, err
		}
		iw.Org, err = or.value()
		return iw, err
	})
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	return out, nil
}

// ListEvents returns an organisation's history, newest first.
func (s *Store) ListEvents(ctx context.Context, orgID string, limit int) ([]delegation.Event, error) {
	rows, err := s.db.Query(ctx, `SELECT org_id, at, actor, action, subject, detail FROM org_events
		WHERE org_id = ? ORDER BY id DESC LIMIT ?`, orgID, limit)
	out, err := collect(rows, err, func(r scanner) (e delegation.Event, err error) {
		return e, r.Scan(&e.OrgID, &e.At, &e.Actor, &e.Action, &e.Subject, &e.Detail)
	})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return out, nil
}

// PutLegacyAccounts inserts legacy accounts or updates those not yet
// migrated, in one transaction.
func (s *Store) PutLegacyAccounts(ctx context.Context, list []delegation.LegacyAccount) (inserted, updated int, err error) {
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		inserted, updated = 0, 0
		for _, l := range list {
			var migrated time.Time
			err := tx.QueryRow(ctx, `SELECT migrated_at FROM legacy_org_accounts WHERE legacy_id = ? FOR UPDATE`, l.LegacyID).Scan(&migrated)
			switch {
			case errors.Is(err, sqldb.ErrNotFound):
				if _, err := exec(ctx, tx, `INSERT INTO legacy_org_accounts (legacy_id, org_name, uid, email_index,
					imported_at, migrated_at, migrated_by, org_id) VALUES (?, ?, ?, ?, ?, NULL, '', '')`,
					l.LegacyID, l.OrgName, l.UID, dbBytes(l.EmailIndex), dbTime(l.ImportedAt)); err != nil {
					return err
				}
				inserted++
			case err != nil:
				return translate(err)
			case !migrated.IsZero():
				// Migrated accounts are history; the import leaves them.
			default:
				if _, err := exec(ctx, tx, `UPDATE legacy_org_accounts SET org_name = ?, uid = ?, email_index = ?,
					imported_at = ? WHERE legacy_id = ?`,
					l.OrgName, l.UID, dbBytes(l.EmailIndex), dbTime(l.ImportedAt), l.LegacyID); err != nil {
					return err
				}
				updated++
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("put legacy accounts: %w", err)
	}
	return inserted, updated, nil
}

// ListLegacyAccounts returns the unmigrated legacy accounts of an owner.
func (s *Store) ListLegacyAccounts(ctx context.Context, emailIndex []byte) ([]delegation.LegacyAccount, error) {
	rows, err := s.db.Query(ctx, `SELECT legacy_id, org_name, uid, email_index, imported_at, migrated_at,
		migrated_by, org_id FROM legacy_org_accounts WHERE email_index = ? AND migrated_at IS NULL ORDER BY legacy_id`,
		dbBytes(emailIndex))
	out, err := collect(rows, err, func(r scanner) (l delegation.LegacyAccount, err error) {
		err = r.Scan(&l.LegacyID, &l.OrgName, &l.UID, &l.EmailIndex, &l.ImportedAt, &l.MigratedAt, &l.MigratedBy, &l.OrgID)
		l.EmailIndex = goBytes(l.EmailIndex)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("list legacy accounts: %w", err)
	}
	return out, nil
}

// MigrateLegacyAccount marks the legacy account as migrated into s and
// creates s, in one transaction.
func (s *Store) MigrateLegacyAccount(ctx context.Context, legacyID, accountID string, now time.Time,
	st delegation.OrgState, events []delegation.Event, out ...idp.Outgoing,
) error {
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		n, err := exec(ctx, tx, `UPDATE legacy_org_accounts SET migrated_at = ?, migrated_by = ?, org_id = ?
			WHERE legacy_id = ? AND migrated_at IS NULL`, dbTime(now), accountID, st.Org.ID, legacyID)
		if err != nil {
			return err
		}
		if n == 0 {
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM legacy_org_accounts WHERE legacy_id = ?`, legacyID).Scan(&one); err != nil {
				return translate(err)
			}
			return idp.ErrReused
		}
		return s.createOrg(ctx, tx, st, events, out)
	})
	if err != nil {
		return fmt.Errorf("migrate legacy account: %w", err)
	}
	return nil
}
