package rp

import "testing"

func TestSafeReturn(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "root", in: "/", want: "/"},
		{name: "path with query", in: "/cases/42?tab=history", want: "/cases/42?tab=history"},
		{name: "fragment dropped", in: "/cases#top", want: "/cases"},
		{name: "empty", in: "", want: "/"},
		{name: "relative without slash", in: "cases", want: "/"},
		{name: "protocol-relative", in: "//evil.example", want: "/"},
		{name: "absolute http", in: "http://evil.example/", want: "/"},
		{name: "javascript", in: "javascript:alert(1)", want: "/"},
		{name: "backslash", in: `/\evil.example`, want: "/"},
		{name: "tab", in: "/\t/evil.example", want: "/"},
		{name: "newline", in: "/x\r\nSet-Cookie: a=b", want: "/"},
		{name: "encoded double slash", in: "/%2F/evil.example", want: "/"},
		{name: "login", in: "/login?return=/", want: "/"},
		{name: "callback", in: "/auth/callback?code=x", want: "/"},
		{name: "logout", in: "/logout", want: "/"},
		{name: "too long", in: "/" + string(make([]byte, 3000)), want: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := safeReturn(tt.in); got != tt.want {
				t.Errorf("safeReturn(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCookieToken(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "plain", in: "kc-status", want: "kc-status"},
		{name: "separators", in: "a b;c=d/e", want: "a_b_c_d_e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cookieToken(tt.in); got != tt.want {
				t.Errorf("cookieToken(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
