package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqldb"
)

// The audit log is append-only and hash-chained (docs/audit.md). Each row
// appended by AppendAudit gets the next seq (1, 2, … without gaps), the
// hash of the row before it (prev_hash; 32 zero bytes for the first) and
// hash = SHA-256(prev_hash ‖ content), content being its fields with length
// prefixes. Appends are serialised: on PostgreSQL by a transaction-scoped
// advisory lock, on SQLite by the write lock BEGIN IMMEDIATE takes; a unique
// index on seq turns any race into an error instead of a fork. Triggers
// refuse UPDATE and DELETE (migration 0017); VerifyAudit finds rows changed,
// deleted or reordered anyway (by the tables' owner, or in the file).

// AppendAudit appends events to the audit log, in their order and in one
// transaction: on PostgreSQL two round trips however many there are.
func (s *Store) AppendAudit(ctx context.Context, events ...idp.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var (
			seq  sql.NullInt64
			prev []byte
		)
		// The lock and the read of the chain's head go in one round trip
		// (with the transaction's BEGIN); the read's snapshot is taken
		// after the lock is held.
		b := &sqldb.Batch{}
		if tx.Dialect() == sqldb.Postgres {
			b.Exec(`SELECT pg_advisory_xact_lock(hashtext(?))`, "kundencenter.audit:"+s.db.Schema())
		}
		b.QueryRow(func(r *sqldb.Row) error {
			if err := r.Scan(&seq, &prev); err != nil && !errors.Is(err, sqldb.ErrNotFound) {
				return err
			}
			return nil
		}, `SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1`)
		if err := tx.SendBatch(ctx, b); err != nil {
			return err
		}
		if len(prev) == 0 {
			prev = make([]byte, sha256.Size)
		}
		// The inserts go with the COMMIT: the lock is held one round trip.
		ins := &sqldb.Batch{}
		next := seq.Int64
		for _, e := range events {
			e.At = canonTime(e.At)
			next++
			h := auditHash(prev, next, e)
			ins.Exec(`INSERT INTO audit_log (seq, at, actor, action, subject, detail, ip, outcome, prev_hash, hash)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				next, dbTime(e.At), e.Actor, e.Action, e.Subject, e.Detail, e.IP, e.Outcome, prev, h)
			prev = h
		}
		return tx.CommitBatch(ctx, ins)
	})
	if err != nil {
		return fmt.Errorf("append audit event: %w", translate(err))
	}
	return nil
}

// auditHash is SHA-256(prev ‖ seq ‖ at ‖ each field with its length).
func auditHash(prev []byte, seq int64, e idp.AuditEvent) []byte {
	h := sha256.New()
	h.Write(prev)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(seq))
	h.Write(n[:])
	at := int64(0)
	if !e.At.IsZero() {
		at = e.At.UnixMicro()
	}
	binary.BigEndian.PutUint64(n[:], uint64(at))
	h.Write(n[:])
	for _, f := range []string{e.Actor, e.Action, e.Subject, e.Detail, e.IP, e.Outcome} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return h.Sum(nil)
}

const auditColumns = `SELECT at, actor, action, subject, detail, ip, outcome FROM audit_log `

func scanAudit(r scanner) (e idp.AuditEvent, err error) {
	return e, r.Scan(&e.At, &e.Actor, &e.Action, &e.Subject, &e.Detail, &e.IP, &e.Outcome)
}

// ListAudit returns the newest audit events first (by time, then by
// insertion), for the given subject ("" = all), at most limit of them; none
// for limit <= 0.
func (s *Store) ListAudit(ctx context.Context, subject string, limit int) ([]idp.AuditEvent, error) {
	if limit <= 0 {
		return nil, nil
	}
	var (
		rows *sqldb.Rows
		err  error
	)
	if subject == "" {
		rows, err = s.db.Query(ctx, auditColumns+`ORDER BY at DESC, id DESC LIMIT ?`, limit)
	} else {
		rows, err = s.db.Query(ctx, auditColumns+`WHERE subject = ? ORDER BY at DESC, id DESC LIMIT ?`, subject, limit)
	}
	out, err := collect(rows, err, scanAudit)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return out, nil
}

// AuditReport is the outcome of VerifyAudit.
type AuditReport struct {
	Unchained int    // rows from before the chain (migration 0017): not protected
	Chained   int    // rows checked
	HeadSeq   int64  // the last row's seq …
	HeadHash  string // … and hash (hex): keep them to notice rows cut off the end
	Problems  []string
}

// OK reports whether the chain is intact.
func (r AuditReport) OK() bool { return len(r.Problems) == 0 }

// VerifyAudit recomputes the hash chain of the audit log. It reports a row
// whose content or hash was changed, a missing row (a gap in seq, or a
// prev_hash that is not the hash of the row before), rows in another order
// than they were appended (seq against insertion id), and unchained rows
// after the chain began. Rows cut off the end leave a shorter, valid chain:
// compare HeadSeq/HeadHash with those of an earlier run (anchor).
func (s *Store) VerifyAudit(ctx context.Context) (AuditReport, error) {
	var rep AuditReport
	rows, err := s.db.Query(ctx, `SELECT id, seq, at, actor, action, subject, detail, ip, outcome, prev_hash, hash
		FROM audit_log ORDER BY id`)
	if err != nil {
		return rep, fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	prev := make([]byte, sha256.Size)
	var lastSeq int64
	chainStarted := false
	for rows.Next() {
		var (
			id       int64
			seq      sql.NullInt64
			e        idp.AuditEvent
			prevHash []byte
			hash     []byte
		)
		if err := rows.Scan(&id, &seq, &e.At, &e.Actor, &e.Action, &e.Subject, &e.Detail, &e.IP, &e.Outcome, &prevHash, &hash); err != nil {
			return rep, fmt.Errorf("verify audit: %w", err)
		}
		e.At = canonTime(e.At)
		if !seq.Valid {
			if chainStarted {
				rep.Problems = append(rep.Problems, fmt.Sprintf("row id %d: no seq/hash after the chain began (inserted past AppendAudit, or its chain fields were removed)", id))
			} else {
				rep.Unchained++
			}
			continue
		}
		chainStarted = true
		rep.Chained++
		switch {
		case seq.Int64 != lastSeq+1:
			rep.Problems = append(rep.Problems, fmt.Sprintf("seq %d (row id %d) follows seq %d: rows missing or out of order", seq.Int64, id, lastSeq))
		case !bytes.Equal(prevHash, prev):
			rep.Problems = append(rep.Problems, fmt.Sprintf("seq %d (row id %d): prev_hash is not the hash of seq %d: a row before it was changed or removed", seq.Int64, id, lastSeq))
		}
		if want := auditHash(prevHash, seq.Int64, e); !bytes.Equal(hash, want) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("seq %d (row id %d): content does not match its hash: the row was changed", seq.Int64, id))
		}
		prev, lastSeq = hash, seq.Int64
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("verify audit: %w", err)
	}
	rep.HeadSeq, rep.HeadHash = lastSeq, hex.EncodeToString(prev)
	if lastSeq == 0 {
		rep.HeadHash = ""
	}
	return rep, nil
}

// AuditHash returns the hash (hex) of the audit row with seq, for checking
// an anchor kept from an earlier VerifyAudit.
func (s *Store) AuditHash(ctx context.Context, seq int64) (string, error) {
	var h []byte
	if err := s.db.QueryRow(ctx, `SELECT hash FROM audit_log WHERE seq = ?`, seq).Scan(&h); err != nil {
		return "", fmt.Errorf("audit hash of seq %d: %w", seq, translate(err))
	}
	return hex.EncodeToString(h), nil
}
