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
	staged, err := AddKey(text, "k2")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Parse(staged)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Current() != "k1" || !rs.Has("k2") {
		t.Fatalf("add-key must stage the key: current %q ids %v", rs.Current(), rs.KeyIDs())
	}
	text2, err := Activate(staged, "k2")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Parse(text2)
	if err != nil {
		t.Fatal(err)
	}
	// The staged ring opens what the activated one seals: phase one makes
	// every instance able to read the new key before any instance uses it.
	if pt, err := rs.Open(r2.Seal([]byte("x"), nil), nil); err != nil || string(pt) != "x" {
		t.Fatalf("staged ring cannot open a value of the new key: %v", err)
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

func TestUnknownKeyAndRetire(t *testing.T) {
	text := Generate()
	two, err := AddKey(text, "k2")
	if err != nil {
		t.Fatal(err)
	}
	two, err = Activate(two, "k2")
	if err != nil {
		t.Fatal(err)
	}
	old, _ := Parse(text)
	cur, _ := Parse(two)
	v := cur.Seal([]byte("Anna"), []byte("a"))
	_, err = old.Open(v, []byte("a"))
	if !errors.Is(err, ErrUnknownKey) || !errors.Is(err, ErrOpen) {
		t.Fatalf("old ring on a new value: %v, want ErrUnknownKey and ErrOpen", err)
	}
	var tmp interface{ Temporary() bool }
	if !errors.As(err, &tmp) || !tmp.Temporary() {
		t.Fatalf("unknown key must be temporary: %v", err)
	}
	if _, err := cur.Open(v, []byte("b")); errors.Is(err, ErrUnknownKey) || !errors.Is(err, ErrOpen) {
		t.Fatalf("wrong aad: %v, want ErrOpen only", err)
	}
	if id, ok := KeyID(v); !ok || id != "k2" {
		t.Fatalf("KeyID = %q %v", id, ok)
	}
	w := old.Seal([]byte("Beat"), []byte("b"))
	re, changed, err := cur.Reseal(w, []byte("b"))
	if err != nil || !changed {
		t.Fatalf("Reseal: %v %v", changed, err)
	}
	if id, _ := KeyID(re); id != "k2" {
		t.Fatalf("resealed with %q", id)
	}
	if _, changed, _ := cur.Reseal(re, []byte("b")); changed {
		t.Fatal("a current value was resealed again")
	}
	if _, err := Remove(two, "k2"); err == nil {
		t.Fatal("Remove took the current key")
	}
	if _, err := Activate(two, "k9"); err == nil {
		t.Fatal("Activate took an unknown key")
	}
	one, err := Remove(two, "k1")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(one)
	if err != nil || r.Has("k1") || r.Current() != "k2" {
		t.Fatalf("after Remove: %v %v", r.KeyIDs(), err)
	}
	if pt, err := r.Open(re, []byte("b")); err != nil || string(pt) != "Beat" {
		t.Fatalf("resealed value after retiring k1: %v", err)
	}
}
