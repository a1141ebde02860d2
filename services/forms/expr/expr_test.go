package expr

import (
	"strings"
	"testing"
)

func TestEval(t *testing.T) {
	answers := map[string][]string{
		"herkunft": {"ausserkantonal"},
		"anzahl":   {"3"},
		"zusatz":   {"garage", "keller"},
		"leer":     {""},
	}
	look := func(f string) []string { return answers[f] }
	tests := []struct {
		src  string
		want bool
	}{
		{`herkunft == "ausserkantonal"`, true},
		{`herkunft != "ausserkantonal"`, false},
		{`anzahl > 2`, true},
		{`anzahl >= 10`, false}, // numeric, not "3" >= "10" as strings
		{`anzahl < 10 and herkunft == "ausserkantonal"`, true},
		{`not (anzahl < 10) or false`, false},
		{`contains(zusatz, "keller")`, true},
		{`contains(zusatz, "estrich")`, false},
		{`answered(leer)`, false},
		{`answered(herkunft) && !answered(fehlt)`, true},
		{`fehlt == ""`, true},
		{`herkunft`, true},
		{`true`, true},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e, err := Parse(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Eval(look); got != tt.want {
				t.Errorf("Eval = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRefs(t *testing.T) {
	e, err := Parse(`a == "x" or (contains(b, "y") and a != c)`)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.Refs(), ","); got != "a,b,c" {
		t.Errorf("Refs = %s", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{``, "ends too early"},
		{`a ==`, "ends too early"},
		{`a = "x"`, "unknown operator"},
		{`"open`, "unterminated string"},
		{`(a == "x"`, "expected )"},
		{`a < b < c`, "cannot be chained"},
		{`contains(a)`, "contains(field"},
		{`answered("a")`, "needs a field name"},
		{`a == "x" b`, "unexpected"},
		{`a # b`, "unexpected character"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := Parse(tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) = %v, want an error containing %q", tt.src, err, tt.want)
			}
		})
	}
}
