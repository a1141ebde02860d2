package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
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

func scanOrg(r scanner, extra ...any) (delegation.Organisation, error) {
	var (
		o                delegation.Organisation
		addrs            string
		legacy           sql.NullString
		created, updated sql.NullInt64
	)
	dest := append([]any{&o.ID, &o.Name, &o.Designation, &addrs, &o.UID, &legacy, &created, &updated}, extra...)
	if err := r.Scan(dest...); err != nil {
		return o, translate(err)
	}
	if err := json.Unmarshal([]byte(addrs), &o.Addresses); err != nil {
		return o, fmt.Errorf("decode addresses: %w", err)
	}
	if len(o.Addresses) == 0 {
		o.Addresses = nil
	}
	o.LegacyID = legacy.String
	o.CreatedAt, o.UpdatedAt = goTime(created), goTime(updated)
	return o, nil
}

// memberRow receives a membership's columns.
type memberRow struct {
	m                delegation.Membership
	roles, services  string
	created, updated sql.NullInt64
}

func (r *memberRow) dest() []any {
	return []any{&r.m.OrgID, &r.m.AccountID, &r.roles, &r.services, &r.created, &r.updated}
}

func (r *memberRow) value() (delegation.Membership, error) {
	var err error
	if r.m.Roles, err = goList(r.roles); err != nil {
		return r.m, err
	}
	if r.m.Services, err = goList(r.services); err != nil {
		return r.m, err
	}
	r.m.CreatedAt, r.m.UpdatedAt = goTime(r.created), goTime(r.updated)
	return r.m, nil
}

func scanInvitation(r scanner, extra ...any) (delegation.Invitation, error) {
	var (
		i                      delegation.Invitation
		account                sql.NullString
		status                 string
		created, expires, done sql.NullInt64
	)
	dest := append([]any{&i.ID, &i.OrgID, &i.Hash, &i.Role, &account, &i.EmailIndex, &i.Label, &i.InvitedBy, &status,
		&created, &expires, &done}, extra...)
	if err := r.Scan(dest...); err != nil {
		return i, translate(err)
	}
	i.AccountID, i.Status = account.String, delegation.InvitationStatus(status)
	i.Hash, i.EmailIndex = goBytes(i.Hash), goBytes(i.EmailIndex)
	i.CreatedAt, i.ExpiresAt, i.DoneAt = goTime(created), goTime(expires), goTime(done)
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
		m.OrgID, m.AccountID, dbList(m.Roles), dbList(m.Services), dbTime(m.CreatedAt), dbTime(m.UpdatedAt))
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

func (s *Store) createOrg(ctx context.Context, tx *sql.Tx, st delegation.OrgState, events []delegation.Event, out []idp.Outgoing) error {
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
	if err := s.inTx(ctx, func(tx *sql.Tx) error { return s.createOrg(ctx, tx, st, events, out) }); err != nil {
		return fmt.Errorf("create organisation: %w", err)
	}
	return nil
}

func loadOrg(ctx context.Context, q querier, id string) (delegation.OrgState, error) {
	o, err := scanOrg(q.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM orgs o WHERE o.id = ?`, id))
	if err != nil {
		return delegation.OrgState{}, err
	}
	st := delegation.OrgState{Org: o}
	rows, err := q.QueryContext(ctx, `SELECT `+memberColumns+` FROM org_members m WHERE m.org_id = ?
		ORDER BY m.created_at, m.account_id`, id)
	if err != nil {
		return st, translate(err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var r memberRow
		if err := rows.Scan(r.dest()...); err != nil {
			return st, translate(err)
		}
		m, err := r.value()
		if err != nil {
			return st, err
		}
		st.Members = append(st.Members, m)
	}
	if err := rows.Err(); err != nil {
		return st, translate(err)
	}
	irows, err := q.QueryContext(ctx, `SELECT `+invitationColumns+` FROM org_invitations i
		WHERE i.org_id = ? AND i.status = ? ORDER BY i.created_at, i.id`, id, string(delegation.InvitationPending))
	if err != nil {
		return st, translate(err)
	}
	defer func() { _ = irows.Close() }()
	for irows.Next() {
		i, err := scanInvitation(irows)
		if err != nil {
			return st, err
		}
		st.Invitations = append(st.Invitations, i)
	}
	return st, translate(irows.Err())
}

// GetOrg returns the organisation with its members and its pending
// invitations, or ErrNotFound.
func (s *Store) GetOrg(ctx context.Context, id string) (delegation.OrgState, error) {
	st, err := loadOrg(ctx, s.db, id)
	if err != nil {
		return delegation.OrgState{}, fmt.Errorf("get organisation: %w", err)
	}
	return st, nil
}

// writeState stores the difference between old and next.
func writeState(ctx context.Context, tx *sql.Tx, old, next delegation.OrgState) error {
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
				WHERE org_id = ? AND account_id = ?`, dbList(m.Roles), dbList(m.Services), dbTime(m.CreatedAt),
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

// UpdateOrg applies fn to the organisation's current state under SQLite's
// write lock (the transaction begins IMMEDIATE) and writes the result.
func (s *Store) UpdateOrg(ctx context.Context, id string,
	fn func(delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error),
) (delegation.OrgState, error) {
	var next delegation.OrgState
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := loadOrg(ctx, tx, id)
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
	rows, err := s.db.QueryContext(ctx, `SELECT `+orgColumns+`, `+memberColumns+`
		FROM org_members m JOIN orgs o ON o.id = m.org_id WHERE m.account_id = ? ORDER BY o.name, o.id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list organisations: %w", translate(err))
	}
	defer func() { _ = rows.Close() }()
	var out []delegation.MemberOrg
	for rows.Next() {
		var r memberRow
		o, err := scanOrg(rows, r.dest()...)
		if err != nil {
			return nil, fmt.Errorf("list organisations: %w", err)
		}
		m, err := r.value()
		if err != nil {
			return nil, fmt.Errorf("list organisations: %w", err)
		}
		out = append(out, delegation.MemberOrg{Org: o, Membership: m})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list organisations: %w", translate(err))
	}
	return out, nil
}

// GetMemberOrg returns one membership with its organisation or ErrNotFound.
func (s *Store) GetMemberOrg(ctx context.Context, orgID, accountID string) (delegation.MemberOrg, error) {
	var r memberRow
	o, err := scanOrg(s.db.QueryRowContext(ctx, `SELECT `+orgColumns+`, `+memberColumns+`
		FROM org_members m JOIN orgs o ON o.id = m.org_id WHERE m.org_id = ? AND m.account_id = ?`, orgID, accountID),
		r.dest()...)
	if err != nil {
		return delegation.MemberOrg{}, fmt.Errorf("get membership: %w", err)
	}
	m, err := r.value()
	if err != nil {
		return delegation.MemberOrg{}, fmt.Errorf("get membership: %w", err)
	}
	return delegation.MemberOrg{Org: o, Membership: m}, nil
}

// GetInvitation returns an invitation by ID or ErrNotFound.
func (s *Store) GetInvitation(ctx context.Context, id string) (delegation.Invitation, error) {
	i, err := scanInvitation(s.db.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM org_invitations i WHERE i.id = ?`, id))
	if err != nil {
		return i, fmt.Errorf("get invitation: %w", err)
	}
	return i, nil
}

// GetInvitationByHash returns an invitation by token hash or ErrNotFound.
func (s *Store) GetInvitationByHash(ctx context.Context, hash []byte) (delegation.Invitation, error) {
	i, err := scanInvitation(s.db.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM org_invitations i WHERE i.hash = ?`,
		dbBytes(hash)))
	if err != nil {
		return i, fmt.Errorf("get invitation: %w", err)
	}
	return i, nil
}

// ListInvitationsFor returns the open invitations addressed to the
// account or the e-mail blind index, oldest first.
func (s *Store) ListInvitationsFor(ctx context.Context, accountID string, emailIndex []byte, now time.Time) ([]delegation.InvitationWithOrg, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+invitationColumns+`, `+orgColumns+`
		FROM org_invitations i JOIN orgs o ON o.id = i.org_id
		WHERE i.status = ? AND i.expires_at > ? AND (i.account_id = ? OR (i.account_id IS NULL AND i.email_index = ?))
		ORDER BY i.created_at, i.id`,
		string(delegation.InvitationPending), now.UnixMicro(), accountID, dbNullBytes(emailIndex))
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", translate(err))
	}
	defer func() { _ = rows.Close() }()
	var out []delegation.InvitationWithOrg
	for rows.Next() {
		var (
			o                delegation.Organisation
			addrs            string
			legacy           sql.NullString
			created, updated sql.NullInt64
		)
		i, err := scanInvitation(rows, &o.ID, &o.Name, &o.Designation, &addrs, &o.UID, &legacy, &created, &updated)
		if err != nil {
			return nil, fmt.Errorf("list invitations: %w", err)
		}
		if err := json.Unmarshal([]byte(addrs), &o.Addresses); err != nil {
			return nil, fmt.Errorf("list invitations: decode addresses: %w", err)
		}
		if len(o.Addresses) == 0 {
			o.Addresses = nil
		}
		o.LegacyID, o.CreatedAt, o.UpdatedAt = legacy.String, goTime(created), goTime(updated)
		out = append(out, delegation.InvitationWithOrg{Invitation: i, Org: o})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list invitations: %w", translate(err))
	}
	return out, nil
}

// ListEvents returns an organisation's history, newest first.
func (s *Store) ListEvents(ctx context.Context, orgID string, limit int) ([]delegation.Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT org_id, at, actor, action, subject, detail FROM org_events
		WHERE org_id = ? ORDER BY id DESC LIMIT ?`, orgID, limit)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", translate(err))
	}
	defer func() { _ = rows.Close() }()
	var out []delegation.Event
	for rows.Next() {
		var (
			e  delegation.Event
			at sql.NullInt64
		)
		if err := rows.Scan(&e.OrgID, &at, &e.Actor, &e.Action, &e.Subject, &e.Detail); err != nil {
			return nil, fmt.Errorf("list events: %w", translate(err))
		}
		e.At = goTime(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events: %w", translate(err))
	}
	return out, nil
}

// PutLegacyAccounts inserts legacy accounts or updates those not yet
// migrated, in one transaction.
func (s *Store) PutLegacyAccounts(ctx context.Context, list []delegation.LegacyAccount) (inserted, updated int, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		inserted, updated = 0, 0
		for _, l := range list {
			var migrated sql.NullInt64
			err := tx.QueryRowContext(ctx, `SELECT migrated_at FROM legacy_org_accounts WHERE legacy_id = ?`, l.LegacyID).Scan(&migrated)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if _, err := exec(ctx, tx, `INSERT INTO legacy_org_accounts (legacy_id, org_name, uid, email_index,
					imported_at, migrated_at, migrated_by, org_id) VALUES (?, ?, ?, ?, ?, NULL, '', '')`,
					l.LegacyID, l.OrgName, l.UID, dbBytes(l.EmailIndex), dbTime(l.ImportedAt)); err != nil {
					return err
				}
				inserted++
			case err != nil:
				return translate(err)
			case migrated.Valid:
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
	rows, err := s.db.QueryContext(ctx, `SELECT legacy_id, org_name, uid, email_index, imported_at, migrated_at,
		migrated_by, org_id FROM legacy_org_accounts WHERE email_index = ? AND migrated_at IS NULL ORDER BY legacy_id`,
		dbBytes(emailIndex))
	if err != nil {
		return nil, fmt.Errorf("list legacy accounts: %w", translate(err))
	}
	defer func() { _ = rows.Close() }()
	var out []delegation.LegacyAccount
	for rows.Next() {
		var (
			l                  delegation.LegacyAccount
			imported, migrated sql.NullInt64
		)
		if err := rows.Scan(&l.LegacyID, &l.OrgName, &l.UID, &l.EmailIndex, &imported, &migrated, &l.MigratedBy, &l.OrgID); err != nil {
			return nil, fmt.Errorf("list legacy accounts: %w", translate(err))
		}
		l.EmailIndex, l.ImportedAt, l.MigratedAt = goBytes(l.EmailIndex), goTime(imported), goTime(migrated)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list legacy accounts: %w", translate(err))
	}
	return out, nil
}

// MigrateLegacyAccount marks the legacy account as migrated into s and
// creates s, in one transaction.
func (s *Store) MigrateLegacyAccount(ctx context.Context, legacyID, accountID string, now time.Time,
	st delegation.OrgState, events []delegation.Event, out ...idp.Outgoing,
) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := exec(ctx, tx, `UPDATE legacy_org_accounts SET migrated_at = ?, migrated_by = ?, org_id = ?
			WHERE legacy_id = ? AND migrated_at IS NULL`, now.UnixMicro(), accountID, st.Org.ID, legacyID)
		if err != nil {
			return err
		}
		if n == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM legacy_org_accounts WHERE legacy_id = ?`, legacyID).Scan(&one); err != nil {
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
