package webkit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fuzzBody has the member types the back-office APIs use.
type fuzzBody struct {
	Name    string            `json:"name"`
	Count   int               `json:"count"`
	Flag    bool              `json:"flag"`
	At      time.Time         `json:"at"`
	Tags    []string          `json:"tags"`
	Texts   map[string]string `json:"texts"`
	Nested  *fuzzNested       `json:"nested"`
	Amount  float64           `json:"amount"`
	Pointer *string           `json:"pointer"`
}

type fuzzNested struct {
	Sub string `json:"sub"`
	N   uint8  `json:"n"`
}

// FuzzDecode checks the JSON body reader of the back-office APIs on
// arbitrary bodies and content types: no panic; a refused body writes a
// problem and leaves the target exactly as it was (no partially decoded
// request); an accepted body writes nothing, and the decoded value
// written out and read again is the same value.
func FuzzDecode(f *testing.F) {
	for _, b := range []string{
		`{"name":"a","count":2}`, `{"count":"x"}`, `{"name":"a","count":"x"}`, `{"nam":"a"}`, `{"name":"a","nam":"b"}`,
		`{"name":`, `{} {}`, `{"name":"a"} x`, ``, `null`, `[]`, `"x"`, `{"at":"2026-12-03T19:00:00Z"}`,
		`{"at":"gestern"}`, `{"tags":["a",1]}`, `{"texts":{"de":"x","fr":2}}`, `{"nested":{"sub":"s","n":300}}`,
		`{"nested":{"sub":"s","x":1}}`, `{"amount":1e400}`, `{"pointer":null,"name":"\u0000\ud800"}`,
		`{"name":"` + strings.Repeat("x", 300) + `"}`, `{"NAME":"case-insensitive"}`, `{"name":"a","name":"b"}`,
	} {
		f.Add("application/json", []byte(b))
	}
	f.Add("application/json; charset=utf-8", []byte(`{"flag":true}`))
	f.Add("text/plain", []byte(`{}`))
	f.Add("Application/JSON ;x", []byte(`{}`))
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		s := "before"
		v := fuzzBody{Name: "before", Count: -7, Tags: []string{"before"}, Texts: map[string]string{"de": "vorher"},
			Nested: &fuzzNested{Sub: "before"}, Pointer: &s}
		before, _ := json.Marshal(v)
		ok := Decode(w, r, &v, 256)
		after, _ := json.Marshal(v)
		if !ok {
			if string(before) != string(after) || s != "before" {
				t.Fatalf("refused body %q changed the target:\n%s\n%s", body, before, after)
			}
			if w.Code < 400 || w.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("refused body %q: status %d, %q", body, w.Code, w.Header().Get("Content-Type"))
			}
			return
		}
		if w.Body.Len() != 0 || w.Code != http.StatusOK {
			t.Fatalf("accepted body %q, but a response was written: %d %s", body, w.Code, w.Body)
		}
		r2 := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(string(after)))
		r2.Header.Set("Content-Type", "application/json")
		var v2 fuzzBody
		if !Decode(httptest.NewRecorder(), r2, &v2, 1<<20) {
			t.Fatalf("the decoded value written out is refused: %s", after)
		}
		again, _ := json.Marshal(v2)
		if string(again) != string(after) && !reflect.DeepEqual(v, v2) {
			t.Fatalf("round trip changed the value:\n%s\n%s", after, again)
		}
	})
}

// TestDecodeRefusedLeavesTarget: a body refused for a wrong member type or
// an unknown nested member used to leave the members before the error
// decoded (found by FuzzDecode).
func TestDecodeRefusedLeavesTarget(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{"nested":{"sub":"s","n":300}}`, `{"nested":{"sub":"s","x":1}}`,
		`{"texts":{"de":"x","fr":2}}`, `{"name":"a"} {}`} {
		r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		v := fuzzBody{Name: "before", Texts: map[string]string{"de": "vorher"}}
		if Decode(httptest.NewRecorder(), r, &v, 256) {
			t.Fatalf("Decode(%s) accepted", body)
		}
		if v.Name != "before" || v.Nested != nil || len(v.Texts) != 1 || v.Texts["de"] != "vorher" {
			t.Errorf("Decode(%s) refused, but changed the target to %+v", body, v)
		}
	}
}
