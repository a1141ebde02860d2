package delegation

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kanton/kundencenter/idp"
)

// legacyHeader is the required first line of a legacy import file.
var legacyHeader = []string{"legacy_id", "org_name", "uid", "owner_email"}

// ImportResult counts what ImportLegacy did.
type ImportResult struct {
	Inserted, Updated int
}

// ImportLegacy reads legacy organisation accounts in the CSV format
// described in the package documentation and stores them, all or nothing:
// any invalid line fails the whole import with every problem listed by
// line number (never with the e-mail address itself). Owners' addresses
// are stored only as blind indexes.
func (s *Service) ImportLegacy(ctx context.Context, r io.Reader) (ImportResult, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(legacyHeader)
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		return ImportResult{}, fmt.Errorf("legacy import: read header: %w", err)
	}
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\ufeff") // a BOM from spreadsheet exports
	}
	if !slices.Equal(head, legacyHeader) {
		return ImportResult{}, fmt.Errorf("legacy import: the first line must be %q", strings.Join(legacyHeader, ","))
	}
	now := s.Now()
	var (
		list []LegacyAccount
		errs []error
		seen = map[string]int{}
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", line, err))
			if len(errs) > 20 {
				break
			}
			continue
		}
		id, name := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		uid, email := strings.TrimSpace(rec[2]), idp.NormalizeEmail(rec[3])
		la := LegacyAccount{LegacyID: id, OrgName: name, ImportedAt: now}
		switch {
		case id == "" || utf8.RuneCountInString(id) > maxLegacyIDLen || badText(id):
			errs = append(errs, fmt.Errorf("line %d: legacy_id is empty, too long or has control characters", line))
		case seen[id] > 0:
			errs = append(errs, fmt.Errorf("line %d: legacy_id repeats line %d", line, seen[id]))
		}
		seen[id] = line
		if name == "" || utf8.RuneCountInString(name) > maxNameLen || badText(name) {
			errs = append(errs, fmt.Errorf("line %d: org_name is empty, too long or has control characters", line))
		}
		if uid != "" {
			c, ok := ParseUID(uid)
			if !ok {
				errs = append(errs, fmt.Errorf("line %d: uid is not a valid Swiss UID (CHE-123.456.789 with check digit)", line))
			}
			la.UID = c
		}
		if !idp.ValidEmail(email) {
			errs = append(errs, fmt.Errorf("line %d: owner_email is not a valid e-mail address", line))
		}
		la.EmailIndex = s.idp.EmailIndex(email)
		list = append(list, la)
	}
	if err := errors.Join(errs...); err != nil {
		return ImportResult{}, fmt.Errorf("legacy import: nothing stored:\n%w", err)
	}
	ins, upd, err := s.store.PutLegacyAccounts(ctx, list)
	if err != nil {
		return ImportResult{}, fmt.Errorf("legacy import: %w", err)
	}
	return ImportResult{Inserted: ins, Updated: upd}, nil
}

// PendingMigrations returns the legacy organisation accounts the actor
// owns (by e-mail address) and has not migrated yet. The login step shows
// the migration form when there are any.
func (s *Service) PendingMigrations(ctx context.Context, actor string) ([]LegacyAccount, error) {
	a, err := s.idp.Account(ctx, actor)
	if err != nil {
		return nil, fmt.Errorf("load account: %w", err)
	}
	return s.store.ListLegacyAccounts(ctx, a.EmailIndex)
}

// MigrateLegacy turns a legacy organisation account the actor owns into
// an organisation the actor administers, with the data of the migration
// form; the organisation keeps the legacy identifier so that past cases
// stay linked. ErrForbidden if the legacy account is not the actor's,
// ErrMigrated if it was migrated already.
func (s *Service) MigrateLegacy(ctx context.Context, actor, legacyID string, in OrgInput) (Organisation, error) {
	pending, err := s.PendingMigrations(ctx, actor)
	if err != nil {
		return Organisation{}, err
	}
	if !slices.ContainsFunc(pending, func(l LegacyAccount) bool { return l.LegacyID == legacyID }) {
		return Organisation{}, ErrForbidden
	}
	o, err := in.validate()
	if err != nil {
		return Organisation{}, err
	}
	now := s.Now()
	o.ID, o.LegacyID, o.CreatedAt, o.UpdatedAt = idp.NewID(), legacyID, now, now
	st := OrgState{Org: o, Members: []Membership{{OrgID: o.ID, AccountID: actor, Roles: []string{RoleAdmin},
		CreatedAt: now, UpdatedAt: now}}}
	ev := []Event{
		{OrgID: o.ID, At: now, Actor: actor, Action: EventCreated, Subject: actor, Detail: RoleAdmin},
		{OrgID: o.ID, At: now, Actor: actor, Action: EventMigrated, Detail: legacyID},
	}
	err = s.store.MigrateLegacyAccount(ctx, legacyID, actor, now, st, ev)
	if errors.Is(err, idp.ErrReused) {
		return Organisation{}, ErrMigrated
	}
	if err != nil {
		return Organisation{}, fmt.Errorf("migrate legacy account: %w", err)
	}
	return o, nil
}
