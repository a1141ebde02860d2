package documents

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kanton/kundencenter/store/sqldb"
	"github.com/kanton/kundencenter/store/sqldb/sqldbtest"
)

// openDB opens a fresh SQLite file or PostgreSQL schema (see sqldbtest.Open).
func openDB(t testing.TB, dialect string) *sqldb.DB {
	t.Helper()
	return sqldbtest.Open(t, dialect, nil)
}

var dialects = sqldbtest.Dialects

// eachStore runs f on a migrated store of each dialect, in parallel.
func eachStore(t *testing.T, f func(t *testing.T, db *sqldb.DB, s *Store)) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			db := openDB(t, d)
			s, err := OpenStore(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			f(t, db, s)
		})
	}
}

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func testDoc(id, msg string, owner Owner, content []byte) Document {
	return Document{
		ID: id, ClientID: "backoffice", MessageID: msg, RequestHash: "h-" + msg, Owner: owner,
		Service: "wohnsitzbestaetigung", Reference: "2026-000001-1",
		Title: map[string]string{"de": "Wohnsitzbestätigung", "fr": "Attestation", "it": "Attestato", "en": "Residence"},
		Kind:  "certificate", Issuer: "Kanton Test", Size: int64(len(content)), SHA256: sha256Hex(content),
		DeliveredAt: t0,
	}
}

func TestStore(t *testing.T) {
	eachStore(t, func(t *testing.T, db *sqldb.DB, s *Store) {
		ctx := context.Background()
		alice := Owner{Kind: "person", Sub: "alice"}
		org := Owner{Kind: "organisation", ID: "org-1"}
		content := []byte("%PDF-1.7 test content")

		d, created, err := s.Insert(ctx, testDoc("d1", "m1", alice, content), content, nil)
		if err != nil || !created {
			t.Fatalf("insert: %v %v", created, err)
		}
		// Idempotent on (client, messageId): the earlier document comes back.
		again, created, err := s.Insert(ctx, testDoc("d1-other", "m1", alice, []byte("other")), []byte("other"), nil)
		if err != nil || created || again.ID != "d1" || again.SHA256 != d.SHA256 {
			t.Fatalf("repeat insert: %+v %v %v", again, created, err)
		}
		if _, _, err := s.Insert(ctx, testDoc("d2", "m2", org, content), content, nil); err != nil {
			t.Fatal(err)
		}

		got, err := s.Get(ctx, "d1")
		if err != nil || got.Title["de"] != "Wohnsitzbestätigung" || got.Owner != alice || got.ReadAt != nil || !got.DeliveredAt.Equal(t0) {
			t.Fatalf("get: %+v %v", got, err)
		}
		if list, err := s.List(ctx, alice); err != nil || len(list) != 1 || list[0].ID != "d1" {
			t.Fatalf("list alice: %+v %v", list, err)
		}
		if list, err := s.List(ctx, org); err != nil || len(list) != 1 || list[0].ID != "d2" {
			t.Fatalf("list org: %+v %v", list, err)
		}
		if b, err := s.Content(ctx, "d1"); err != nil || !bytes.Equal(b, content) {
			t.Fatalf("content: %q %v", b, err)
		}
		// The stored bytes cannot be updated, not even with SQL.
		if _, err := db.Exec(ctx, `UPDATE documents_content SET content = ? WHERE document_id = ?`, []byte("forged"), "d1"); err == nil {
			t.Fatal("document content was updated")
		}
		if err := s.MarkRead(ctx, "d1", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkRead(ctx, "d1", t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, "d1"); got.ReadAt == nil || !got.ReadAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("read at %v", got.ReadAt)
		}

		// Share links: limit, log, revocation.
		sh := Share{ID: "s1", DocumentID: "d1", CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), MaxDownloads: 2}
		if err := s.CreateShare(ctx, sh, "hash-1"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ShareByToken(ctx, "hash-1"); err != nil || got.ID != "s1" {
			t.Fatalf("share by token: %+v %v", got, err)
		}
		if _, err := s.ShareByToken(ctx, "hash-2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown token: %v", err)
		}
		for i, want := range []error{nil, nil, ErrShareGone} {
			if err := s.UseShare(ctx, "s1", t0.Add(time.Duration(i+1)*time.Minute)); !errors.Is(err, want) {
				t.Fatalf("use %d: %v, want %v", i, err, want)
			}
		}
		if err := s.CreateShare(ctx, Share{ID: "s2", DocumentID: "d1", CreatedAt: t0.Add(time.Second), ExpiresAt: t0.Add(time.Hour)}, "hash-2"); err != nil {
			t.Fatal(err)
		}
		if err := s.UseShare(ctx, "s2", t0.Add(time.Hour)); !errors.Is(err, ErrShareGone) {
			t.Fatalf("use at expiry: %v", err)
		}
		if err := s.RevokeShare(ctx, "d2", "s2", t0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoke through another document: %v", err)
		}
		if err := s.RevokeShare(ctx, "d1", "s2", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.UseShare(ctx, "s2", t0.Add(2*time.Minute)); !errors.Is(err, ErrShareGone) {
			t.Fatalf("use after revocation: %v", err)
		}
		shares, err := s.Shares(ctx, "d1")
		if err != nil || len(shares) != 2 || shares[1].ID != "s1" || len(shares[1].Log) != 2 || shares[1].Downloads != 2 || shares[0].RevokedAt == nil {
			t.Fatalf("shares: %+v %v", shares, err)
		}

		// Deletion keeps the hash on record.
		if err := s.Delete(ctx, "d1"); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "d1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if _, err := s.Content(ctx, "d1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("content after delete: %v", err)
		}
		if _, err := s.ShareByToken(ctx, "hash-1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("share after delete: %v", err)
		}
		if at, issuer, ok, err := s.Issued(ctx, d.SHA256); err != nil || !ok || !at.Equal(t0) || issuer != "Kanton Test" {
			t.Fatalf("issued: %v %v %v %v", at, issuer, ok, err)
		}
		if _, _, ok, err := s.Issued(ctx, sha256Hex([]byte("nope"))); err != nil || ok {
			t.Fatalf("unknown hash issued: %v %v", ok, err)
		}

		// Account purge and retention.
		if n, err := s.DeleteOwner(ctx, org); err != nil || n != 1 {
			t.Fatalf("delete owner: %d %v", n, err)
		}
		exp := t0.Add(time.Hour)
		old := testDoc("d3", "m3", alice, content)
		old.ExpiresAt = &exp
		if _, _, err := s.Insert(ctx, old, content, nil); err != nil {
			t.Fatal(err)
		}
		if n, err := s.PurgeExpired(ctx, exp); err != nil || n != 0 {
			t.Fatalf("purge at expiry: %d %v", n, err)
		}
		if n, err := s.PurgeExpired(ctx, exp.Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("purge after expiry: %d %v", n, err)
		}
	})
}
