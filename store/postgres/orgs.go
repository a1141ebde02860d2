package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

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

func dbAddresses(a []delegation.Address) ([]byte, error) {
	if len(a) == 0 {
		return []byte("[]"), nil
	}
	return json.Marshal(a)
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

// orgRow receives an organisation's columns.
type orgRow struct {
	o                delegation.Organisation
	addrs            []byte
	legacy           pgtype.Text
	created, updated pgtype.Timestamptz
}

func (r *orgRow) dest() []any {
	return []any{&r.o.ID, &r.o.Name, &r.o.Designation, &r.addrs, &r.o.UID, &r.legacy, &r.created, &r.updated}
}

func (r *orgRow) value() (delegation.Organisation, error) {
	if err := json.Unmarshal(r.addrs, &r.o.Addresses); err != nil {
		return r.o, fmt.Errorf("decode addresses: %w", err)
	}
	if len(r.o.Addresses) == 0 {
		r.o.Addresses = nil
	}
	r.o.LegacyID = r.legacy.String
	r.o.CreatedAt, r.o.UpdatedAt = goTime(r.created), goTime(r.updated)
	return r.o, nil
}

// memberRow receives a membership's columns.
type memberRow struct {
	m                delegation.Membership
	created, updated pgtype.Timestamptz
}

func (r *memberRow) dest() []any {
	return []any{&r.m.OrgID, &r.m.AccountID, &r.m.Roles, &r.m.Services, &r.created, &r.updated}
}

func (r *memberRow) value() delegation.Membership {
	r.m.Roles, r.m.Services = goList(r.m.Roles), goList(r.m.Services)
	r.m.CreatedAt, r.m.UpdatedAt = goTime(r.created), goTime(r.updated)
	return r.m
}

// invitationRow receives an invitation's columns.
type invitationRow struct {
	i                      delegation.Invitation
	account                pgtype.Text
	status                 string
	created, expires, done pgtype.Timestamptz
}

func (r *invitationRow) dest() []any {
	return []any{&r.i.ID, &r.i.OrgID, &r.i.Hash, &r.i.Role, &r.account, &r.i.EmailIndex, &r.i.Label, &r.i.InvitedBy,
		&r.status, &r.created, &r.expires, &r.done}
}

func (r *invitationRow) value() delegation.Invitation {
	r.i.AccountID, r.i.Status = r.account.String, delegation.InvitationStatus(r.status)
	r.i.Hash, r.i.EmailIndex = goBytes(r.i.Hash), goBytes(r.i.EmailIndex)
	r.i.CreatedAt, r.i.ExpiresAt, r.i.DoneAt = goTime(r.created), goTime(r.expires), goTime(r.done)
	return r.i
}

func insertOrg(ctx context.Context, q querier, o delegation.Organisation) error {
	addrs, err := dbAddresses(o.Addresses)
	if err != nil {
		return err
	}
	_, err = exec(ctx, q, `INSERT INTO orgs (id, name, designation, addresses, uid, legacy_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		o.ID, o.Name, o.Designation, string(addrs), o.UID, dbNullString(o.LegacyID), dbTime(o.CreatedAt), dbTime(o.UpdatedAt))
	return err
}

func insertMember(ctx context.Context, q querier, m delegation.Membership) error {
	_, err := exec(ctx, q, `INSERT INTO org_members (org_id, account_id, roles, services, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		m.OrgID, m.AccountID, dbList(m.Roles), dbList(m.Services), dbTime(m.CreatedAt), dbTime(m.UpdatedAt))
	return err
}

func insertInvitation(ctx context.Context, q querier, i delegation.Invitation) error {
	_, err := exec(ctx, q, `INSERT INTO org_invitations (id, org_id, hash, role, account_id, email_index, label,
		invited_by, status, created_at, expires_at, done_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
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
			VALUES ($1, $2, $3, $4, $5, $6)`, e.OrgID, dbTime(e.At), e.Actor, e.Action, e.Subject, e.Detail); err != nil {
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

func (s *Store) createOrg(ctx context.Context, tx pgx.Tx, st delegation.OrgState, events []delegation.Event, out []idp.Outgoing) error {
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
	if err := s.inTx(ctx, func(tx pgx.Tx) error { return s.createOrg(ctx, tx, st, events, out) }); err != nil {
		return fmt.Errorf("create organisation: %w", err)
	}
	return nil
}

// loadOrg reads an organisation's state; lock takes the row lock that
// serialises UpdateOrg (SELECT … FOR UPDATE).
func loadOrg(ctx context.Context, q querier, id string, lock bool) (delegation.OrgState, error) {
	query := `SELECT ` + orgColumns + ` FROM orgs o WHERE o.id = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	var or orgRow
	if err := q.QueryRow(ctx, query, id).Scan(or.dest()...); err != nil {
		return delegation.OrgState{}, translate(err)
	}
	o, err := or.value()
	if err != nil {
		return delegation.OrgState{}, err
	}
	st := delegation.OrgState{Org: o}
	rows, _ := q.Query(ctx, `SELECT `+memberColumns+` FROM org_members m WHERE m.org_id = $1
		ORDER BY m.created_at, m.account_id`, id)
	st.Members, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (delegation.Membership, error) {
		var mr memberRow
		err := r.Scan(mr.dest()...)
		return mr.value(), err
	})
	if err != nil {
		return st, translate(err)
	}
	rows, _ = q.Query(ctx, `SELECT `+invitationColumns+` FROM org_invitations i
		WHERE i.org_id = $1 AND i.status = $2 ORDER BY i.created_at, i.id`, id, string(delegation.InvitationPending))
	st.Invitations, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (delegation.Invitation, error) {
		var ir invitationRow
		err := r.Scan(ir.dest()...)
		return ir.value(), err
	})
	if err != nil {
		return st, translate(err)
	}
	if len(st.Members) == 0 {
		st.Members = nil
	}
	if len(st.Invitations) == 0 {
		st.Invitations = nil
	}
	return st, nil
}

// GetOrg returns the organisation with its members and its pending
// invitations, or ErrNotFound.
func (s *Store) GetOrg(ctx context.Context, id string) (delegation.OrgState, error) {
	st, err := loadOrg(ctx, s.pool, id, false)
	if err != nil {
		return delegation.OrgState{}, fmt.Errorf("get organisation: %w", err)
	}
	return st, nil
}

// writeState stores the difference between old and next.
func writeState(ctx context.Context, tx pgx.Tx, old, next delegation.OrgState) error {
	addrs, err := dbAddresses(next.Org.Addresses)
	if err != nil {
		return err
	}
	if _, err := exec(ctx, tx, `UPDATE orgs SET name = $2, designation = $3, addresses = $4, uid = $5, legacy_id = $6,
		created_at = $7, updated_at = $8 WHERE id = $1`,
		next.Org.ID, next.Org.Name, next.Org.Designation, string(addrs), next.Org.UID, dbNullString(next.Org.LegacyID),
		dbTime(next.Org.CreatedAt), dbTime(next.Org.UpdatedAt)); err != nil {
		return fmt.Errorf("store organisation: %w", err)
	}
	keep := map[string]bool{}
	for _, m := range next.Members {
		keep[m.AccountID] = true
		if _, existed := old.Member(m.AccountID); existed {
			if _, err := exec(ctx, tx, `UPDATE org_members SET roles = $3, services = $4, created_at = $5, updated_at = $6
				WHERE org_id = $1 AND account_id = $2`, m.OrgID, m.AccountID, dbList(m.Roles), dbList(m.Services),
				dbTime(m.CreatedAt), dbTime(m.UpdatedAt)); err != nil {
				return fmt.Errorf("store member: %w", err)
			}
		} else if err := insertMember(ctx, tx, m); err != nil {
			return fmt.Errorf("add member: %w", err)
		}
	}
	for _, m := range old.Members {
		if !keep[m.AccountID] {
			if _, err := exec(ctx, tx, `DELETE FROM org_members WHERE org_id = $1 AND account_id = $2`,
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
			if _, err := exec(ctx, tx, `UPDATE org_invitations SET status = $3, done_at = $4 WHERE id = $1 AND org_id = $2`,
				i.ID, i.OrgID, string(i.Status), dbTime(i.DoneAt)); err != nil {
				return fmt.Errorf("store invitation: %w", err)
			}
		}
	}
	return nil
}

// UpdateOrg applies fn to the organisation's current state while holding
// its row lock (SELECT … FOR UPDATE) and writes the result.
func (s *Store) UpdateOrg(ctx context.Context, id string,
	fn func(delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error),
) (delegation.OrgState, error) {
	var next delegation.OrgState
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := loadOrg(ctx, tx, id, true)
		if err != nil {
			return err
		}
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

func collectMemberOrgs(rows pgx.Rows, err error) ([]delegation.MemberOrg, error) {
	if err != nil {
		return nil, translate(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (delegation.MemberOrg, error) {
		var (
			or orgRow
			mr memberRow
		)
		if err := r.Scan(append(or.dest(), mr.dest()...)...); err != nil {
			return delegation.MemberOrg{}, err
		}
		o, err := or.value()
		return delegation.MemberOrg{Org: o, Membership: mr.value()}, err
	})
	return list, translate(err)
}

// ListMemberOrgs returns the organisations an account belongs to, by name.
func (s *Store) ListMemberOrgs(ctx context.Context, accountID string) ([]delegation.MemberOrg, error) {
	list, err := collectMemberOrgs(s.pool.Query(ctx, `SELECT `+orgColumns+`, `+memberColumns+`
		FROM org_members m JOIN orgs o ON o.id = m.org_id WHERE m.account_id = $1 ORDER BY o.name, o.id`, accountID))
	if err != nil {
		return nil, fmt.Errorf("list organisations: %w", err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

// GetMemberOrg returns one membership with its organisation or ErrNotFound.
func (s *Store) GetMemberOrg(ctx context.Context, orgID, accountID string) (delegation.MemberOrg, error) {
	list, err := collectMemberOrgs(s.pool.Query(ctx, `SELECT `+orgColumns+`, `+memberColumns+`
		FROM org_members m JOIN orgs o ON o.id = m.org_id WHERE m.org_id = $1 AND m.account_id = $2`, orgID, accountID))
	if err != nil {
		return delegation.MemberOrg{}, fmt.Errorf("get membership: %w", err)
	}
	if len(list) == 0 {
		return delegation.MemberOrg{}, fmt.Errorf("get membership: %w", idp.ErrNotFound)
	}
	return list[0], nil
}

func (s *Store) getInvitation(ctx context.Context, where string, arg any) (delegation.Invitation, error) {
	var ir invitationRow
	if err := s.pool.QueryRow(ctx, `SELECT `+invitationColumns+` FROM org_invitations i WHERE `+where, arg).
		Scan(ir.dest()...); err != nil {
		return delegation.Invitation{}, fmt.Errorf("get invitation: %w", translate(err))
	}
	return ir.value(), nil
}

// GetInvitation returns an invitation by ID or ErrNotFound.
func (s *Store) GetInvitation(ctx context.Context, id string) (delegation.Invitation, error) {
	return s.getInvitation(ctx, `i.id = $1`, id)
}

// GetInvitationByHash returns an invitation by token hash or ErrNotFound.
func (s *Store) GetInvitationByHash(ctx context.Context, hash []byte) (delegation.Invitation, error) {
	return s.getInvitation(ctx, `i.hash = $1`, dbBytes(hash))
}

// ListInvitationsFor returns the open invitations addressed to the
// account or the e-mail blind index, oldest first.
func (s *Store) ListInvitationsFor(ctx context.Context, accountID string, emailIndex []byte, now time.Time) ([]delegation.InvitationWithOrg, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+invitationColumns+`, `+orgColumns+`
		FROM org_invitations i JOIN orgs o ON o.id = i.org_id
		WHERE i.status = $1 AND i.expires_at > $2 AND (i.account_id = $3 OR (i.account_id IS NULL AND i.email_index = $4))
		ORDER BY i.created_at, i.id`,
		string(delegation.InvitationPending), canonTime(now), accountID, dbNullBytes(emailIndex))
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (delegation.InvitationWithOrg, error) {
		var (
			ir invitationRow
			or orgRow
		)
		if err := r.Scan(append(ir.dest(), or.dest()...)...); err != nil {
			return delegation.InvitationWithOrg{}, err
		}
		o, err := or.value()
		return delegation.InvitationWithOrg{Invitation: ir.value(), Org: o}, err
	})
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", translate(err))
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

// ListEvents returns an organisation's history, newest first.
func (s *Store) ListEvents(ctx context.Context, orgID string, limit int) ([]delegation.Event, error) {
	rows, _ := s.pool.Query(ctx, `SELECT org_id, at, actor, action, subject, detail FROM org_events
		WHERE org_id = $1 ORDER BY id DESC LIMIT $2`, orgID, limit)
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (delegation.Event, error) {
		var (
			e  delegation.Event
			at pgtype.Timestamptz
		)
		err := r.Scan(&e.OrgID, &at, &e.Actor, &e.Action, &e.Subject, &e.Detail)
		e.At = goTime(at)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", translate(err))
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

// PutLegacyAccounts inserts legacy accounts or updates those not yet
// migrated, in one transaction.
func (s *Store) PutLegacyAccounts(ctx context.Context, list []delegation.LegacyAccount) (inserted, updated int, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		inserted, updated = 0, 0
		for _, l := range list {
			var migrated pgtype.Timestamptz
			err := tx.QueryRow(ctx, `SELECT migrated_at FROM legacy_org_accounts WHERE legacy_id = $1 FOR UPDATE`,
				l.LegacyID).Scan(&migrated)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				if _, err := exec(ctx, tx, `INSERT INTO legacy_org_accounts (legacy_id, org_name, uid, email_index,
					imported_at, migrated_at, migrated_by, org_id) VALUES ($1, $2, $3, $4, $5, NULL, '', '')`,
					l.LegacyID, l.OrgName, l.UID, dbBytes(l.EmailIndex), dbTime(l.ImportedAt)); err != nil {
					return err
				}
				inserted++
			case err != nil:
				return translate(err)
			case migrated.Valid:
				// Migrated accounts are history; the import leaves them.
			default:
				if _, err := exec(ctx, tx, `UPDATE legacy_org_accounts SET org_name = $2, uid = $3, email_index = $4,
					imported_at = $5 WHERE legacy_id = $1`,
					l.LegacyID, l.OrgName, l.UID, dbBytes(l.EmailIndex), dbTime(l.ImportedAt)); err != nil {
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
	rows, _ := s.pool.Query(ctx, `SELECT legacy_id, org_name, uid, email_index, imported_at, migrated_at,
		migrated_by, org_id FROM legacy_org_accounts WHERE email_index = $1 AND migrated_at IS NULL ORDER BY legacy_id`,
		dbBytes(emailIndex))
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (delegation.LegacyAccount, error) {
		var (
			l                  delegation.LegacyAccount
			imported, migrated pgtype.Timestamptz
		)
		err := r.Scan(&l.LegacyID, &l.OrgName, &l.UID, &l.EmailIndex, &imported, &migrated, &l.MigratedBy, &l.OrgID)
		l.EmailIndex, l.ImportedAt, l.MigratedAt = goBytes(l.EmailIndex), goTime(imported), goTime(migrated)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("list legacy accounts: %w", translate(err))
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

// MigrateLegacyAccount marks the legacy account as migrated into st and
// creates st, in one transaction.
func (s *Store) MigrateLegacyAccount(ctx context.Context, legacyID, accountID string, now time.Time,
	st delegation.OrgState, events []delegation.Event, out ...idp.Outgoing,
) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		n, err := exec(ctx, tx, `UPDATE legacy_org_accounts SET migrated_at = $2, migrated_by = $3, org_id = $4
			WHERE legacy_id = $1 AND migrated_at IS NULL`, legacyID, canonTime(now), accountID, st.Org.ID)
		if err != nil {
			return err
		}
		if n == 0 {
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM legacy_org_accounts WHERE legacy_id = $1`, legacyID).Scan(&one); err != nil {
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
