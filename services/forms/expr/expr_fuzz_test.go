package expr

import (
	"slices"
	"testing"
)

// FuzzParse checks the condition parser on arbitrary source: no panic; a
// parsed condition evaluates without panicking against any answers, keeps
// its source text, reads only the fields it names, and composes: not (c)
// is the opposite of c, and (c) and true / (c) or false are c.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`herkunft == "ausserkantonal" and not (anzahl_hunde < 2)`,
		`contains(zusatz, "garage") or answered(bemerkung)`,
		`a != b && !c || d >= -1.5`, `x <= "a\"b"`, `((a))`, `true`, `false == false`, `1 < 2 < 3`,
		`contains(a "x")`, `answered()`, `"unterminated`, `a ==`, `(a`, `a)`, `-`, `1.2.3`, `٣ == 3`,
		`a === b`, `a & b`, `ä.b_c == "ü"`, "a\x00", `"\`, `not not not a`, `contains(a, "x") == true`,
	} {
		f.Add(s, "ausserkantonal", "2")
	}
	f.Fuzz(func(t *testing.T, src, v1, v2 string) {
		e, err := Parse(src)
		if err != nil {
			if e != nil {
				t.Fatalf("Parse(%q) returned an expression with the error %v", src, err)
			}
			return
		}
		if e.String() != src {
			t.Fatalf("String() = %q, want %q", e.String(), src)
		}
		var asked []string
		lookup := func(field string) []string {
			asked = append(asked, field)
			switch len(asked) % 3 {
			case 0:
				return nil
			case 1:
				return []string{v1}
			}
			return []string{v2, v1}
		}
		got := e.Eval(lookup)
		for _, a := range asked {
			if !slices.Contains(e.Refs(), a) {
				t.Fatalf("Eval of %q looked up %q, which is not in Refs() = %q", src, a, e.Refs())
			}
		}
		fixed := func(field string) []string {
			if len(field)%2 == 0 {
				return []string{v1}
			}
			return []string{v2}
		}
		want := e.Eval(fixed)
		if e.Eval(fixed) != want {
			t.Fatalf("Eval of %q is not deterministic", src)
		}
		_ = got
		for _, c := range []struct {
			src  string
			want bool
		}{
			{"not (" + src + "\n)", !want},
			{"(" + src + "\n) and true", want},
			{"(" + src + "\n) or false", want},
		} {
			w, err := Parse(c.src)
			if err != nil {
				t.Fatalf("Parse(%q) = %v, but %q parsed", c.src, err, src)
			}
			if g := w.Eval(fixed); g != c.want {
				t.Fatalf("%q evaluates to %v, want %v", c.src, g, c.want)
			}
		}
	})
}
