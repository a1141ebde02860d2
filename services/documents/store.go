package documents

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/kanton/kundencenter/store/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Owner is whose document it is: a person (ID is the IdP's sub) or an
// organisation (ID is the organisation's ID).
type Owner struct {
	Kind string `json:"kind"`
	Sub  string `json:"sub,omitempty"`
	ID   string `json:"id,omitempty"`
}

// key returns the owner's ID column value.
func (o Owner) key() string {
	if o.Kind == "organisation" {
		return o.ID
	}
	return o.Sub
}

// Document is the metadata of a delivered document (eCH-0039 terms).
type Document struct {
	ID                string
	ClientID          string // the back office that delivered it
	MessageID         string
	RequestHash       string // SHA-256 of the delivery request, for idempotency
	Owner             Owner
	Service           string
	BusinessProcessID string
	Reference         string
	Title             map[string]string // de, fr, it, en
	Kind              string
	Issuer            string
	Size              int64
	SHA256            string // hex of the stored bytes
	Sealed            bool   // sealed by this service
	DeliveredAt       time.Time
	ReadAt            *time.Time
	ExpiresAt         *time.Time // end of retention
}

// Share is a share link of a document (its token is only known to the owner).
type Share struct {
	ID           string
	DocumentID   string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	MaxDownloads int64 // 0: no limit
	Downloads    int64
	RevokedAt    *time.Time
	Log          []time.Time // every download through the link
}

// Errors of the store.
var (
	ErrNotFound  = errors.New("document not found")
	ErrShareGone = errors.New("share link expired, used up or revoked")
	ErrConflict  = errors.New("a document with this ID exists")
)

// Store keeps documents in the SQL database (PostgreSQL or SQLite).
// Content is written once, with the document, and never updated.
type Store struct {
	db *sqldb.DB
}

// OpenStore migrates db and returns the store.
func OpenStore(ctx context.Context, db *sqldb.DB) (*Store, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, sub); err != nil {
		return nil, fmt.Errorf("document store: %w", err)
	}
	return &Store{db: db}, nil
}

const docColumns = `id, client_id, message_id, request_hash, owner_kind, owner_id, service, business_process_id,
	reference, title, kind, issuer, size, sha256, sealed, delivered_at, read_at, expires_at`

type scanner interface{ Scan(dest ...any) error }

func scanDocument(s scanner) (Document, error) {
	var d Document
	var title, ownerID string
	err := s.Scan(&d.ID, &d.ClientID, &d.MessageID, &d.RequestHash, &d.Owner.Kind, &ownerID, &d.Service,
		&d.BusinessProcessID, &d.Reference, &title, &d.Kind, &d.Issuer, &d.Size, &d.SHA256, &d.Sealed,
		&d.DeliveredAt, &d.ReadAt, &d.ExpiresAt)
	if errors.Is(err, sqldb.ErrNotFound) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, err
	}
	if d.Owner.Kind == "organisation" {
		d.Owner.ID = ownerID
	} else {
		d.Owner.Sub = ownerID
	}
	if err := json.Unmarshal([]byte(title), &d.Title); err != nil {
		return d, fmt.Errorf("document %s: title: %w", d.ID, err)
	}
	return d, nil
}

// Insert stores a new document with its content, records its hash as issued
// and, when note is not nil, enqueues it as the owner's notification in the
// same transaction. When the client already delivered messageId, nothing is
// written and the earlier document is returned with created false; another
// document with the same ID is ErrConflict.
func (s *Store) Insert(ctx context.Context, d Document, content, note []byte) (Document, bool, error) {
	title, err := json.Marshal(d.Title)
	if err != nil {
		return d, false, err
	}
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO documents (`+docColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.ClientID, d.MessageID, d.RequestHash, d.Owner.Kind, d.Owner.key(), d.Service, d.BusinessProcessID,
			d.Reference, string(title), d.Kind, d.Issuer, d.Size, d.SHA256, d.Sealed, d.DeliveredAt, d.ReadAt, d.ExpiresAt); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO documents_content (document_id, content) VALUES (?, ?)`, d.ID, content); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO documents_issued (sha256, issued_at, issuer) VALUES (?, ?, ?)
			ON CONFLICT (sha256) DO NOTHING`, d.SHA256, d.DeliveredAt, d.Issuer); err != nil {
			return err
		}
		if note == nil {
			return nil
		}
		return tx.Enqueue(ctx, jobNotify, d.ID, note, d.DeliveredAt)
	})
	if errors.Is(err, sqldb.ErrConflict) {
		prev, err := s.ByMessage(ctx, d.ClientID, d.MessageID)
		if errors.Is(err, ErrNotFound) {
			return d, false, ErrConflict
		}
		if err != nil {
			return d, false, err
		}
		return prev, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("insert document: %w", err)
	}
	return d, true, nil
}

// ByMessage returns the document a client delivered with messageID.
func (s *Store) ByMessage(ctx context.Context, clientID, messageID string) (Document, error) {
	return scanDocument(s.db.QueryRow(ctx, `SELECT `+docColumns+` FROM documents WHERE client_id = ? AND message_id = ?`,
		clientID, messageID))
}

// Get returns a document's metadata.
func (s *Store) Get(ctx context.Context, id string) (Document, error) {
	return scanDocument(s.db.QueryRow(ctx, `SELECT `+docColumns+` FROM documents WHERE id = ?`, id))
}

// List returns the owner's documents, newest first.
func (s *Store) List(ctx context.Context, o Owner) ([]Document, error) {
	rows, err := s.db.Query(ctx, `SELECT `+docColumns+` FROM documents WHERE owner_kind = ? AND owner_id = ?
		ORDER BY delivered_at DESC, id`, o.Kind, o.key())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Document
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Content returns the stored bytes of a document.
func (s *Store) Content(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	err := s.db.QueryRow(ctx, `SELECT content FROM documents_content WHERE document_id = ?`, id).Scan(&b)
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil, ErrNotFound
	}
	return b, err
}

// MarkRead records the first time the owner opened the document.
func (s *Store) MarkRead(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE documents SET read_at = ? WHERE id = ? AND read_at IS NULL`, at, id)
	return err
}

// Delete removes a document with its content and share links; its hash stays
// on record as issued.
func (s *Store) Delete(ctx context.Context, id string) error {
	n, err := s.db.Exec(ctx, `DELETE FROM documents WHERE id = ?`, id)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// DeleteOwner removes all documents of an owner (account purge).
func (s *Store) DeleteOwner(ctx context.Context, o Owner) (int64, error) {
	return s.db.Exec(ctx, `DELETE FROM documents WHERE owner_kind = ? AND owner_id = ?`, o.Kind, o.key())
}

// PurgeExpired removes the documents whose retention ended before now.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time) (int64, error) {
	return s.db.Exec(ctx, `DELETE FROM documents WHERE expires_at IS NOT NULL AND expires_at < ?`, now)
}

// Issued reports whether a document with this SHA-256 was issued here, when
// and by whom.
func (s *Store) Issued(ctx context.Context, sha string) (time.Time, string, bool, error) {
	var at time.Time
	var issuer string
	err := s.db.QueryRow(ctx, `SELECT issued_at, issuer FROM documents_issued WHERE sha256 = ?`, sha).Scan(&at, &issuer)
	if errors.Is(err, sqldb.ErrNotFound) {
		return at, "", false, nil
	}
	return at, issuer, err == nil, err
}

// CreateShare stores a share link under the hash of its token.
func (s *Store) CreateShare(ctx context.Context, sh Share, tokenHash string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO documents_shares (id, document_id, token_hash, created_at, expires_at, max_downloads, downloads)
		VALUES (?, ?, ?, ?, ?, ?, 0)`, sh.ID, sh.DocumentID, tokenHash, sh.CreatedAt, sh.ExpiresAt, sh.MaxDownloads)
	return err
}

const shareColumns = `id, document_id, created_at, expires_at, max_downloads, downloads, revoked_at`

func scanShare(s scanner) (Share, error) {
	var sh Share
	err := s.Scan(&sh.ID, &sh.DocumentID, &sh.CreatedAt, &sh.ExpiresAt, &sh.MaxDownloads, &sh.Downloads, &sh.RevokedAt)
	if errors.Is(err, sqldb.ErrNotFound) {
		return sh, ErrNotFound
	}
	return sh, err
}

// Shares returns a document's share links with their download logs, newest
// first.
func (s *Store) Shares(ctx context.Context, docID string) ([]Share, error) {
	rows, err := s.db.Query(ctx, `SELECT `+shareColumns+` FROM documents_shares WHERE document_id = ? ORDER BY created_at DESC, id`, docID)
	if err != nil {
		return nil, err
	}
	var out []Share
	for rows.Next() {
		sh, err := scanShare(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, sh)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		logRows, err := s.db.Query(ctx, `SELECT at FROM documents_share_log WHERE share_id = ? ORDER BY at, id`, out[i].ID)
		if err != nil {
			return nil, err
		}
		for logRows.Next() {
			var at time.Time
			if err := logRows.Scan(&at); err != nil {
				logRows.Close()
				return nil, err
			}
			out[i].Log = append(out[i].Log, at)
		}
		logRows.Close()
		if err := logRows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ShareByToken finds a share link by the hash of its token.
func (s *Store) ShareByToken(ctx context.Context, tokenHash string) (Share, error) {
	return scanShare(s.db.QueryRow(ctx, `SELECT `+shareColumns+` FROM documents_shares WHERE token_hash = ?`, tokenHash))
}

// usable reports whether a share link may be used at now.
func (sh Share) usable(now time.Time) bool {
	return sh.RevokedAt == nil && now.Before(sh.ExpiresAt) && (sh.MaxDownloads == 0 || sh.Downloads < sh.MaxDownloads)
}

// UseShare counts and logs one download through a share link, if it is
// still usable at now (ErrShareGone otherwise).
func (s *Store) UseShare(ctx context.Context, shareID string, now time.Time) error {
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		sh, err := scanShare(tx.QueryRow(ctx, `SELECT `+shareColumns+` FROM documents_shares WHERE id = ? FOR UPDATE`, shareID))
		if err != nil {
			return err
		}
		if !sh.usable(now) {
			return ErrShareGone
		}
		if _, err := tx.Exec(ctx, `UPDATE documents_shares SET downloads = downloads + 1 WHERE id = ?`, shareID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO documents_share_log (share_id, at) VALUES (?, ?)`, shareID, now)
		return err
	})
}

// RevokeShare ends a share link of a document.
func (s *Store) RevokeShare(ctx context.Context, docID, shareID string, now time.Time) error {
	n, err := s.db.Exec(ctx, `UPDATE documents_shares SET revoked_at = ? WHERE id = ? AND document_id = ? AND revoked_at IS NULL`,
		now, shareID, docID)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// sha256Hex returns the hex SHA-256 of b.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
