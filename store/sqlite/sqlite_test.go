package sqlite

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/store/sqlstore"
	"github.com/kanton/kundencenter/store/storetest"
)

func openTemp(t testing.TB, maxConns int) *Store {
	t.Helper()
	s, err := open(context.Background(), filepath.Join(t.TempDir(), "kundencenter.db"), maxConns)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func mailJobs(t *testing.T, st idp.Store) []storetest.Job {
	t.Helper()
	s := st.(*Store)
	rows, err := s.DB().QueryContext(t.Context(),
		`SELECT args, max_attempts FROM river_job WHERE kind = ? ORDER BY id`, notify.MailArgs{}.Kind())
	if err != nil {
		t.Fatalf("read river_job: %v", err)
	}
	defer func() { _ = rows.Close() }()
	var out []storetest.Job
	for rows.Next() {
		var (
			args []byte
			j    storetest.Job
			m    notify.MailArgs
		)
		if err := rows.Scan(&args, &j.MaxAttempts); err != nil {
			t.Fatalf("read river_job: %v", err)
		}
		if err := json.Unmarshal(args, &m); err != nil {
			t.Fatalf("decode job args: %v", err)
		}
		j.Sealed = m.Sealed
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read river_job: %v", err)
	}
	return out
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) idp.Store { return openTemp(t, defaultMaxConns) },
		storetest.Options{MailJobs: mailJobs})
}

func TestOrgsConformance(t *testing.T) {
	storetest.RunOrgs(t, func(t *testing.T) storetest.OrgStore { return openTemp(t, defaultMaxConns) },
		storetest.Options{MailJobs: mailJobs})
}

func TestRepresentationsConformance(t *testing.T) {
	storetest.RunRepresentations(t, func(t *testing.T) storetest.OrgStore { return openTemp(t, defaultMaxConns) },
		storetest.Options{MailJobs: mailJobs})
}

func TestConformanceSingleConnection(t *testing.T) {
	storetest.Run(t, func(t *testing.T) idp.Store { return openTemp(t, 1) },
		storetest.Options{MailJobs: mailJobs})
}

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) idp.Store {
		s, err := Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}, storetest.Options{MailJobs: mailJobs})
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		wantErr bool
	}{
		{"empty path", "", true},
		{"query in path", filepath.Join(t.TempDir(), "x.db?mode=ro"), true},
		{"missing directory", filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"), true},
		{"new file", filepath.Join(t.TempDir(), "new.db"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), tc.path)
			if err == nil {
				_ = s.Close()
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("Open(%q): error %v, want error: %v", tc.path, err, tc.wantErr)
			}
		})
	}
}

// TestOpenTwice opens one file from several goroutines at once, as two
// processes starting together would: every Open succeeds and the
// migrations are applied once.
func TestOpenTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	const n = 4
	var wg sync.WaitGroup
	stores := make([]*Store, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		defer func() { _ = stores[i].Close() }()
	}
	var count int
	if err := stores[0].DB().QueryRowContext(t.Context(), `SELECT count(*) FROM kc_schema_migrations`).Scan(&count); err != nil {
		t.Fatalf("count migrations: %v", err)
	}
	want, err := fs.Glob(sqlstore.Migrations(), "sqlite/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if count != len(want) {
		t.Errorf("kc_schema_migrations holds %d rows, want %d", count, len(want))
	}
	var mode string
	if err := stores[0].DB().QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatalf("journal mode: %v", err)
	}
	if mode != "wal" {
		t.Errorf("journal mode %q, want wal", mode)
	}
	for i, s := range stores {
		if err := s.Migrate(t.Context()); err != nil {
			t.Errorf("Migrate again #%d: %v", i, err)
		}
	}
}

var benchSeq atomic.Int64

func benchToken(b *testing.B, family string) idp.RefreshToken {
	b.Helper()
	h := make([]byte, 32)
	_, _ = rand.Read(h)
	now := time.Now()
	return idp.RefreshToken{
		ID: fmt.Sprintf("rt-%d", benchSeq.Add(1)), Hash: h, FamilyID: family, ClientID: "bench",
		AccountID: "acc-bench", SessionID: "sess", Scopes: []string{"openid", "offline_access"},
		Audience: []string{"bench"}, AuthTime: now, AMR: []string{"pwd"}, CreatedAt: now,
		ExpiresAt: now.Add(time.Hour),
	}
}

// benchmarkRotate rotates refresh-token chains, one chain per goroutine.
func benchmarkRotate(b *testing.B, maxConns int) {
	s := openTemp(b, maxConns)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		cur := benchToken(b, fmt.Sprintf("fam-%d", benchSeq.Add(1)))
		if err := s.CreateRefreshToken(ctx, cur); err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			next, err := s.RotateRefreshToken(ctx, cur.Hash, time.Now(), func(old idp.RefreshToken) idp.RefreshToken {
				return benchToken(b, old.FamilyID)
			})
			if err != nil {
				b.Error(err)
				return
			}
			cur = next
		}
	})
}

func BenchmarkRotateRefreshToken(b *testing.B) {
	for _, conns := range []int{1, defaultMaxConns} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) { benchmarkRotate(b, conns) })
	}
}

func benchmarkGetByEmailIndex(b *testing.B, maxConns int) {
	s := openTemp(b, maxConns)
	ctx := context.Background()
	const accounts = 1000
	indexes := make([][]byte, accounts)
	for i := range accounts {
		idx := make([]byte, 32)
		_, _ = rand.Read(idx)
		indexes[i] = idx
		a := idp.Account{ID: fmt.Sprintf("acc-%d", i), KontoID: fmt.Sprintf("KC-%d", i), EmailIndex: idx,
			Sealed: idx, PasswordHash: "x", Status: idp.StatusActive, Locale: "de", CreatedAt: time.Now()}
		if err := s.CreateAccount(ctx, a, idp.ActionToken{}); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.GetAccountByEmailIndex(ctx, indexes[next.Add(1)%accounts]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkGetAccountByEmailIndex(b *testing.B) {
	for _, conns := range []int{1, defaultMaxConns} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) { benchmarkGetByEmailIndex(b, conns) })
	}
}
