package idp

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// testArgon2 keeps the tests fast; the format and logic do not depend on cost.
var testArgon2 = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHasherRoundTrip(t *testing.T) {
	h := NewHasher(testArgon2, 2)
	long := strings.Repeat("Lange Passphrase 9 ", 6) // 114 bytes; bcrypt would see only 72
	if len(long) <= 100 {
		t.Fatal("the no-truncation case needs passwords over 100 bytes")
	}
	tests := []struct {
		name   string
		hashed string
		tried  string
		want   bool
	}{
		{name: "same", hashed: "Gletscher7Wanderung", tried: "Gletscher7Wanderung", want: true},
		{name: "different", hashed: "Gletscher7Wanderung", tried: "Gletscher7Wanderunh", want: false},
		{name: "case matters", hashed: "Gletscher7Wanderung", tried: "gletscher7Wanderung", want: false},
		{name: "no truncation after byte 72", hashed: long + "A", tried: long + "B", want: false},
		{name: "long same", hashed: long + "A", tried: long + "A", want: true},
		{name: "composed and decomposed", hashed: "Caf\u00e9Crème9xyz", tried: "Cafe\u0301Cre\u0300me9xyz", want: true},
		{name: "empty", hashed: "", tried: "", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phc, err := h.Hash(t.Context(), tt.hashed)
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			ok, rehash, err := h.Verify(t.Context(), tt.tried, phc)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if ok != tt.want || rehash {
				t.Errorf("Verify = %v, rehash %v; want %v, false", ok, rehash, tt.want)
			}
		})
	}
}

func TestHasherSaltsDiffer(t *testing.T) {
	h := NewHasher(testArgon2, 1)
	a, err := h.Hash(t.Context(), "Gletscher7Wanderung")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(t.Context(), "Gletscher7Wanderung")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("two hashes of one password are equal: salt not random")
	}
}

func TestHasherDefaultFormat(t *testing.T) {
	h := NewHasher(DefaultArgon2, 1)
	phc, err := h.Hash(t.Context(), "Gletscher7Wanderung")
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(phc, prefix) {
		t.Fatalf("hash %q lacks prefix %q", phc, prefix)
	}
	parts := strings.Split(strings.TrimPrefix(phc, prefix), "$")
	// 16 bytes of salt and 32 of hash in unpadded base64.
	if len(parts) != 2 || len(parts[0]) != 22 || len(parts[1]) != 43 {
		t.Errorf("salt and hash %q have the wrong lengths", parts)
	}
}

// The reference implementation's test vectors (phc-winner-argon2,
// src/test.c): password "password", salt "somesalt".
func TestHasherReferenceVectors(t *testing.T) {
	tests := []struct {
		name string
		phc  string
	}{
		{name: "one lane", phc: "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
		{name: "two lanes", phc: "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc"},
	}
	h := NewHasher(testArgon2, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(t.Context(), "password", tt.phc)
			if err != nil || !ok || !rehash {
				t.Errorf("Verify(right) = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			ok, _, err = h.Verify(t.Context(), "Password", tt.phc)
			if err != nil || ok {
				t.Errorf("Verify(wrong) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

func TestHasherNeedsRehash(t *testing.T) {
	old := NewHasher(testArgon2, 1)
	phc, err := old.Hash(t.Context(), "Gletscher7Wanderung")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		p      Argon2Params
		pw     string
		ok     bool
		rehash bool
	}{
		{name: "same params", p: testArgon2, pw: "Gletscher7Wanderung", ok: true, rehash: false},
		{name: "more memory", p: Argon2Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, pw: "Gletscher7Wanderung", ok: true, rehash: true},
		{name: "more time", p: Argon2Params{Memory: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, pw: "Gletscher7Wanderung", ok: true, rehash: true},
		{name: "longer salt", p: Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 32, KeyLen: 32}, pw: "Gletscher7Wanderung", ok: true, rehash: true},
		{name: "wrong password", p: Argon2Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, pw: "Gletscher7", ok: false, rehash: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := NewHasher(tt.p, 1).Verify(t.Context(), tt.pw, phc)
			if err != nil || ok != tt.ok || rehash != tt.rehash {
				t.Errorf("Verify = %v, %v, %v; want %v, %v, nil", ok, rehash, err, tt.ok, tt.rehash)
			}
		})
	}
}

func TestHasherInvalidHash(t *testing.T) {
	const good = "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	tests := []struct {
		name string
		phc  string
	}{
		{name: "empty", phc: ""},
		{name: "bcrypt", phc: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{name: "argon2i", phc: strings.Replace(good, "argon2id", "argon2i", 1)},
		{name: "old version", phc: strings.Replace(good, "v=19", "v=16", 1)},
		{name: "no version", phc: "$argon2id$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
		{name: "version with junk", phc: strings.Replace(good, "v=19", "v=19x", 1)},
		{name: "params out of order", phc: strings.Replace(good, "m=256,t=2,p=1", "t=2,m=256,p=1", 1)},
		{name: "params with junk", phc: strings.Replace(good, "p=1", "p=1,k=2", 1)},
		{name: "zero threads", phc: strings.Replace(good, "p=1", "p=0", 1)},
		{name: "too many threads", phc: strings.Replace(good, "p=1", "p=256", 1)},
		{name: "negative memory", phc: strings.Replace(good, "m=256", "m=-256", 1)},
		{name: "huge memory", phc: strings.Replace(good, "m=256", "m=4194304", 1)},
		{name: "memory below lanes", phc: strings.Replace(good, "m=256", "m=4", 1)},
		{name: "zero time", phc: strings.Replace(good, "t=2", "t=0", 1)},
		{name: "huge time", phc: strings.Replace(good, "t=2", "t=100000", 1)},
		{name: "bad salt", phc: strings.Replace(good, "c29tZXNhbHQ", "c29tZX!hbHQ", 1)},
		{name: "padded salt", phc: strings.Replace(good, "c29tZXNhbHQ", "c29tZXNhbHQ=", 1)},
		{name: "short salt", phc: strings.Replace(good, "c29tZXNhbHQ", "c29t", 1)},
		{name: "short hash", phc: strings.Replace(good, "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "nf65EOgL", 1)},
		{name: "empty hash", phc: strings.Replace(good, "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "", 1)},
		{name: "extra field", phc: good + "$x"},
		{name: "leading text", phc: "x" + good},
	}
	h := NewHasher(testArgon2, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(t.Context(), "password", tt.phc)
			if !errors.Is(err, ErrInvalidHash) || ok || rehash {
				t.Errorf("Verify = %v, %v, %v; want false, false, ErrInvalidHash", ok, rehash, err)
			}
		})
	}
}

func TestHasherDummy(t *testing.T) {
	h := NewHasher(testArgon2, 1)
	if err := h.Dummy(t.Context(), "Gletscher7Wanderung"); err != nil {
		t.Errorf("Dummy: %v", err)
	}
	if err := h.Dummy(t.Context(), ""); err != nil {
		t.Errorf("Dummy(empty): %v", err)
	}
	long := NewHasher(Argon2Params{Memory: 64, Time: 1, Threads: 2, SaltLen: 64, KeyLen: 64}, 1)
	if err := long.Dummy(t.Context(), "Gletscher7Wanderung"); err != nil {
		t.Errorf("Dummy with the longest salt and key: %v", err)
	}
}

// TestHasherQueueRespectsContext fills the only slot and checks that every
// operation waiting for it gives up when its context ends.
func TestHasherQueueRespectsContext(t *testing.T) {
	h := NewHasher(testArgon2, 1)
	phc, err := h.Hash(t.Context(), "Gletscher7Wanderung")
	if err != nil {
		t.Fatal(err)
	}
	h.sem <- struct{}{} // hold the only slot
	tests := []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{name: "hash", run: func(ctx context.Context) error { _, err := h.Hash(ctx, "x"); return err }},
		{name: "verify", run: func(ctx context.Context) error { _, _, err := h.Verify(ctx, "x", phc); return err }},
		{name: "dummy", run: func(ctx context.Context) error { return h.Dummy(ctx, "x") }},
	}
	for _, tt := range tests {
		t.Run(tt.name+" deadline while queued", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			defer cancel()
			if err := tt.run(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got %v, want context.DeadlineExceeded", err)
			}
		})
		t.Run(tt.name+" cancelled before", func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if err := tt.run(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("got %v, want context.Canceled", err)
			}
		})
	}
	<-h.sem // free the slot: the hasher works again
	if ok, _, err := h.Verify(t.Context(), "Gletscher7Wanderung", phc); err != nil || !ok {
		t.Errorf("Verify after release = %v, %v", ok, err)
	}
}

func TestHasherConcurrent(t *testing.T) {
	h := NewHasher(testArgon2, 2)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			phc, err := h.Hash(t.Context(), "Gletscher7Wanderung")
			if err == nil {
				var ok bool
				ok, _, err = h.Verify(t.Context(), "Gletscher7Wanderung", phc)
				if err == nil && !ok {
					err = errors.New("no match")
				}
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(h.sem); n != 0 {
		t.Errorf("%d slots still held", n)
	}
}

func TestNewHasherDefaults(t *testing.T) {
	if got := NewHasher(Argon2Params{}, 0).Params(); got != DefaultArgon2 {
		t.Errorf("zero params = %+v, want %+v", got, DefaultArgon2)
	}
	if got := NewHasher(Argon2Params{Memory: 64}, 0); got.Params().Memory != 64 || cap(got.sem) != 1 {
		t.Errorf("params %+v, %d slots; want memory 64, 1 slot", got.Params(), cap(got.sem))
	}
}

func TestArgon2ParamsValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Argon2Params
		ok   bool
	}{
		{name: "default", p: DefaultArgon2, ok: true},
		{name: "test", p: testArgon2, ok: true},
		{name: "zero", p: Argon2Params{}, ok: false},
		{name: "memory below lanes", p: Argon2Params{Memory: 15, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}, ok: false},
		{name: "memory too large", p: Argon2Params{Memory: maxArgon2Memory + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, ok: false},
		{name: "salt too short", p: Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32}, ok: false},
		{name: "salt too long", p: Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 65, KeyLen: 32}, ok: false},
		{name: "key too short", p: Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8}, ok: false},
		{name: "time too large", p: Argon2Params{Memory: 64, Time: 65, Threads: 1, SaltLen: 16, KeyLen: 32}, ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestNewHasherPanicsOnInvalidParams(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewHasher accepted a 4-byte salt")
		}
	}()
	NewHasher(Argon2Params{SaltLen: 4}, 1)
}

// BenchmarkArgon2idDefault measures one Hash with the production
// parameters; its ns/op bounds the logins per second and core.
func BenchmarkArgon2idDefault(b *testing.B) {
	h := NewHasher(DefaultArgon2, 1)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "Gletscher7Wanderung"); err != nil {
			b.Fatal(err)
		}
	}
}
