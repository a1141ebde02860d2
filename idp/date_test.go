package idp

import "testing"

// TestParseDate: the Swiss date field (TT.MM.JJJJ) is tolerant of how
// people type a date and names what is wrong otherwise.
func TestParseDate(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"31.12.1980", "1980-12-31", ""},
		{"1.2.1990", "1990-02-01", ""},
		{" 01.02.1990 ", "1990-02-01", ""},
		{"1. 2. 1990", "1990-02-01", ""},
		{"01/02/1990", "1990-02-01", ""},
		{"01-02-1990", "1990-02-01", ""},
		{"01 02 1990", "1990-02-01", ""},
		{"01021990", "1990-02-01", ""},
		{"1990-02-01", "1990-02-01", ""}, // the stored form
		{"29.02.2024", "2024-02-29", ""},
		{"29.02.2023", "", ErrDateUnreal},
		{"31.04.2030", "", ErrDateUnreal},
		{"00.01.2030", "", ErrDateUnreal},
		{"12.13.2030", "", ErrDateUnreal},
		{"31.12.80", "", ErrDateYear},
		{"31.12.19800", "", ErrDateYear},
		{"1980", "", ErrDateFormat},
		{"31.12", "", ErrDateFormat},
		{"morgen", "", ErrDateFormat},
		{"31. Dezember 1980", "", ErrDateFormat},
		{"2030/12/31", "", ErrDateFormat},
		{"12/31/2030x", "", ErrDateFormat},
	}
	for _, tc := range tests {
		d, bad := ParseDate(tc.in)
		got := ""
		if bad == "" {
			got = d.Format("2006-01-02")
		}
		if got != tc.want || bad != tc.err {
			t.Errorf("ParseDate(%q) = %q, %q; want %q, %q", tc.in, got, bad, tc.want, tc.err)
		}
	}
	if s := SwissDate("1980-12-31"); s != "31.12.1980" {
		t.Errorf("SwissDate = %q", s)
	}
	if s := SwissDate("31.2.1980"); s != "31.2.1980" {
		t.Errorf("SwissDate changed what was typed: %q", s)
	}
}
