package webkit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	type body struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	tests := []struct {
		name, ctype, body string
		status            int // 0 = accepted
		detail            string
	}{
		{name: "ok", ctype: "application/json", body: `{"name":"a","count":2}`},
		{name: "charset", ctype: "application/json; charset=utf-8", body: `{"name":"a"}`},
		{name: "wrong type", ctype: "text/plain", body: `{}`, status: 415},
		{name: "unknown member", ctype: "application/json", body: `{"nam":"a"}`, status: 422, detail: `unknown field "nam"`},
		{name: "wrong member type", ctype: "application/json", body: `{"count":"x"}`, status: 422, detail: "wrong type"},
		{name: "syntax", ctype: "application/json", body: `{"name":`, status: 400},
		{name: "two values", ctype: "application/json", body: `{} {}`, status: 400},
		{name: "empty", ctype: "application/json", body: ``, status: 400, detail: "empty"},
		{name: "too large", ctype: "application/json", body: `{"name":"` + strings.Repeat("x", 200) + `"}`, status: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.ctype)
			w := httptest.NewRecorder()
			var b body
			ok := Decode(w, r, &b, 100)
			if tt.status == 0 {
				if !ok {
					t.Fatalf("refused: %s", w.Body)
				}
				return
			}
			if ok || w.Code != tt.status {
				t.Fatalf("Decode = %v, status %d; want refusal with %d", ok, w.Code, tt.status)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q", ct)
			}
			var p Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != tt.status || p.Instance != "/x" {
				t.Errorf("problem %+v (%v)", p, err)
			}
			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail %q lacks %q", p.Detail, tt.detail)
			}
		})
	}
}
