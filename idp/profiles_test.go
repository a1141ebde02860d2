package idp

import "testing"

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"Swiss national", "031 123 45 67", "+41311234567", true},
		{"Swiss mobile with dots", "079.123.45.67", "+41791234567", true},
		{"international", "+41 31 123 45 67", "+41311234567", true},
		{"00 prefix", "0041 31 123 45 67", "+41311234567", true},
		{"trunk zero after the country code", "+41 (0)31 123 45 67", "+41311234567", true},
		{"trunk zero written out", "+41 031 123 45 67", "+41311234567", true},
		{"German", "+49 30 1234567", "+49301234567", true},
		{"Liechtenstein", "+423 234 56 78", "+4232345678", true},
		{"Swiss too short", "031 123 45 6", "", false},
		{"Swiss too long", "+41 31 123 45 678", "", false},
		{"letters", "031 ABC", "", false},
		{"no prefix", "1234567", "", false},
		{"too long", "+49 123 456 789 012 345", "", false},
		{"plus inside", "031+1234567", "", false},
		{"empty", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := normalizePhone(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("normalizePhone(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestDefaultProfileID(t *testing.T) {
	a, b := DefaultProfileID("acct-1"), DefaultProfileID("acct-2")
	if a != DefaultProfileID("acct-1") || a == b || len(a) != 23 {
		t.Fatalf("DefaultProfileID: %q %q", a, b)
	}
}
