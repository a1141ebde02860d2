package status

import "testing"

func TestReference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		year  int
		n     int64
		want  string
		valid bool
	}{
		{name: "first", year: 2026, n: 1},
		{name: "example", year: 2026, n: 123},
		{name: "seven digits", year: 2027, n: 1234567},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := FormatReference(tt.year, tt.n)
			if !ValidReference(ref) {
				t.Fatalf("%s not valid", ref)
			}
			// Every single-digit change and every swap of neighbouring
			// digits is caught.
			for i := 0; i < len(ref); i++ {
				if ref[i] == '-' {
					continue
				}
				for d := byte('0'); d <= '9'; d++ {
					if d == ref[i] {
						continue
					}
					bad := ref[:i] + string(d) + ref[i+1:]
					if ValidReference(bad) {
						t.Errorf("%s (one digit changed) passes", bad)
					}
				}
				if j := i + 1; j < len(ref) && ref[j] != '-' && ref[j] != ref[i] {
					bad := ref[:i] + string(ref[j]) + string(ref[i]) + ref[j+1:]
					if ValidReference(bad) {
						t.Errorf("%s (swap) passes", bad)
					}
				}
			}
		})
	}
	for _, bad := range []string{"", "2026-000123", "2026-00012-3", "x026-000123-4", "2026-000123-44"} {
		if ValidReference(bad) {
			t.Errorf("ValidReference(%q) = true", bad)
		}
	}
	if got := FormatReference(2026, 123); got[:12] != "2026-000123-" {
		t.Errorf("FormatReference = %s", got)
	}
}
