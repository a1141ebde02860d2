package delegation

import "testing"

func TestParseUID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		// Real UIDs from the UID register (uid.admin.ch).
		{"Google Switzerland GmbH", "CHE-116.281.710", "CHE-116.281.710", true},
		{"register entry 1", "CHE-105.909.036", "CHE-105.909.036", true},
		{"register entry 2", "CHE-116.068.369", "CHE-116.068.369", true},
		{"BFS worked example", "CHE-109.322.551", "CHE-109.322.551", true},
		{"python-stdnum example", "CHE-100.155.212", "CHE-100.155.212", true},
		{"compact", "CHE116281710", "CHE-116.281.710", true},
		{"lower case, spaces, suffix", " che 116 281 710 MWST ", "CHE-116.281.710", true},
		{"HR suffix", "CHE-105.909.036 HR", "CHE-105.909.036", true},
		{"check digit 0 (sum 33)", "CHE-100.000.070", "CHE-100.000.070", true},
		{"made-up number", "CHE-116.281.277", "", false},
		{"wrong check digit", "CHE-100.155.213", "", false},
		{"transposed digits", "CHE-116.218.710", "", false},
		{"check digit would be 10 (sum 12)", "CHE-000.000.030", "", false},
		{"eight digits", "CHE-116.281.71", "", false},
		{"ten digits", "CHE-116.281.7100", "", false},
		{"no prefix", "116.281.710", "", false},
		{"other prefix", "DEU-116.281.710", "", false},
		{"letters", "CHE-116.28A.710", "", false},
		{"empty", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseUID(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("ParseUID(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestUIDCheckDigitAll checks the rule on every check digit position: for
// eight digits exactly one ninth digit is valid, or none when the rule
// gives 10.
func TestUIDCheckDigitAll(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"10932255", "11628171", "10000001", "99999999", "00000000"} {
		valid := 0
		for d := '0'; d <= '9'; d++ {
			if _, ok := ParseUID("CHE" + base + string(d)); ok {
				valid++
			}
		}
		if c := uidCheckDigit(base); (c < 0 && valid != 0) || (c >= 0 && valid != 1) {
			t.Errorf("%s: check digit %d, %d valid completions", base, c, valid)
		}
	}
}
