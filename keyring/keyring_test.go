package keyring

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpenRotate(t *testing.T) {
	text := Generate()
	r1, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	old := r1.Seal([]byte("Anna Muster"), []byte("acct-1"))
	if bytes.Contains(old, []byte("Anna")) {
		t.Fatal("plaintext visible in sealed value")
	}
	text2, err := AddKey(text, "k2")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Parse(text2)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Current() != "k2" || len(r2.KeyIDs()) != 2 {
		t.Fatalf("rotation: current %q ids %v", r2.Current(), r2.KeyIDs())
	}
	got, err := r2.Open(old, []byte("acct-1"))
	if err != nil || string(got) != "Anna Muster" {
		t.Fatalf("old value after rotation: %q %v", got, err)
	}
	if !r2.NeedsReseal(old) || r2.NeedsReseal(r2.Seal([]byte("x"), nil)) {
		t.Fatal("NeedsReseal wrong")
	}
	if _, err := r2.Open(old, []byte("acct-2")); !errors.Is(err, ErrOpen) {
		t.Fatalf("wrong aad opened: %v", err)
	}
	tampered := append([]byte(nil), old...)
	tampered[len(tampered)-1] ^= 1
	if _, err := r2.Open(tampered, []byte("acct-1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("tampered value opened: %v", err)
	}
	if !bytes.Equal(r1.Index("email", "a@b.ch"), r2.Index("email", "a@b.ch")) {
		t.Fatal("index changed with rotation")
	}
	if bytes.Equal(r1.Index("email", "a@b.ch"), r1.Index("phone", "a@b.ch")) {
		t.Fatal("index domains collide")
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"", "current=k1", "current=k1;index=AAAA;k1=AAAA", "current=k2;index=" + random32() + ";k1=" + random32(), "garbage"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}
