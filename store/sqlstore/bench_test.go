package sqlstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqlstore"
)

var benchSeq atomic.Int64

func benchToken(family string) idp.RefreshToken {
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

// benchDialects runs f on a fresh store of each dialect.
func benchDialects(b *testing.B, f func(b *testing.B, s *sqlstore.Store)) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			s, err := sqlstore.New(context.Background(), openDB(b, dialect), nil)
			if err != nil {
				b.Fatal(err)
			}
			f(b, s)
		})
	}
}

// BenchmarkRotateRefreshToken rotates refresh-token chains, one chain per
// goroutine.
func BenchmarkRotateRefreshToken(b *testing.B) {
	benchDialects(b, func(b *testing.B, s *sqlstore.Store) {
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			cur := benchToken(fmt.Sprintf("fam-%d", benchSeq.Add(1)))
			if err := s.CreateRefreshToken(ctx, cur); err != nil {
				b.Error(err)
				return
			}
			for pb.Next() {
				next, err := s.RotateRefreshToken(ctx, cur.Hash, time.Now(), func(old idp.RefreshToken) idp.RefreshToken {
					return benchToken(old.FamilyID)
				})
				if err != nil {
					b.Error(err)
					return
				}
				cur = next
			}
		})
	})
}

// BenchmarkGetAccountByEmailIndex looks accounts up among a thousand.
func BenchmarkGetAccountByEmailIndex(b *testing.B) {
	benchDialects(b, func(b *testing.B, s *sqlstore.Store) {
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
	})
}
