package templates

import (
	"bytes"
	"errors"
	"html/template"
	"strings"
	"testing"
	"testing/fstest"
)

func TestParseServices(t *testing.T) {
	p, err := ParseServices()
	if err != nil {
		t.Fatalf("ParseServices: %v", err)
	}
	for _, name := range ServicePageNames {
		if _, ok := p.pages[name]; !ok {
			t.Errorf("page %q not parsed", name)
		}
	}
	if got := p.Message("fr", "greeting", "Anna Muster"); got != "Bonjour Anna Muster" {
		t.Errorf(`Message("fr", "greeting") = %q`, got)
	}
	if got := p.Message("rm", "logout"); got != "Abmelden" {
		t.Errorf("unknown language falls back to German: got %q", got)
	}
	if err := p.Render(&bytes.Buffer{}, "nope", nil); !errors.Is(err, ErrUnknownServicePage) {
		t.Errorf("Render(unknown) = %v, want ErrUnknownServicePage", err)
	}
	if _, err := ServiceStatic().Open("services.css"); err != nil {
		t.Errorf("ServiceStatic: %v", err)
	}
}

func TestParseServicesFSFailsFast(t *testing.T) {
	base := func() fstest.MapFS {
		fsys := fstest.MapFS{
			"services/messages.json": {Data: []byte(`{"de":{"t":"T","x":"X"},"fr":{"t":"T","x":"X"},"it":{"t":"T","x":"X"},"en":{"t":"T","x":"X"}}`)},
			"services/layout.html":   {Data: []byte(`{{define "layout"}}<title>{{t .Lang "t"}}</title><link href="{{asset "a.css"}}">{{template "content" .}}{{end}}`)},
			"services/static/a.css":  {Data: []byte(`body{}`)},
		}
		for _, n := range ServicePageNames {
			fsys["services/"+n+".html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{t .Lang "x"}}{{end}}`)}
		}
		return fsys
	}
	tests := []struct {
		name   string
		change func(fstest.MapFS)
		want   string // substring of the error; "" = no error
	}{
		{name: "complete", change: func(fstest.MapFS) {}},
		{name: "missing page", change: func(f fstest.MapFS) { delete(f, "services/status.html") }, want: "service page status"},
		{name: "missing translation", change: func(f fstest.MapFS) {
			f["services/messages.json"] = &fstest.MapFile{Data: []byte(`{"de":{"t":"T","x":"X"},"fr":{"t":"T"},"it":{"t":"T","x":"X"},"en":{"t":"T","x":"X"}}`)}
		}, want: `"x" missing in "fr"`},
		{name: "unknown key", change: func(f fstest.MapFS) {
			f["services/forms.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{t .Lang "nope"}}{{end}}`)}
		}, want: `unknown message key "nope"`},
		{name: "service folder", change: func(f fstest.MapFS) {
			f["services/forms/messages.json"] = &fstest.MapFile{Data: []byte(`{"de":{"forms.y":"Y"},"fr":{"forms.y":"Y"},"it":{"forms.y":"Y"},"en":{"forms.y":"Y"}}`)}
			f["services/forms/_part.html"] = &fstest.MapFile{Data: []byte(`{{define "part"}}{{t .Lang "forms.y"}}{{end}}`)}
			f["services/forms/draft.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{template "part" .}}{{end}}`)}
		}},
		{name: "service folder page unknown key", change: func(f fstest.MapFS) {
			f["services/forms/draft.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{t .Lang "forms.nope"}}{{end}}`)}
		}, want: `service page forms/draft: unknown message key "forms.nope"`},
		{name: "key defined twice", change: func(f fstest.MapFS) {
			f["services/forms/messages.json"] = &fstest.MapFile{Data: []byte(`{"de":{"x":"Y"}}`)}
		}, want: `key "x" (de) defined twice`},
		{name: "no content", change: func(f fstest.MapFS) {
			f["services/error.html"] = &fstest.MapFile{Data: []byte(`hello`)}
		}, want: "service page error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := base()
			tt.change(fsys)
			p, err := ParseServicesFS(fsys)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ParseServicesFS: %v", err)
				}
				var buf bytes.Buffer
				if err := p.Render(&buf, "status", struct{ Lang string }{"de"}); err != nil {
					t.Fatalf("Render: %v", err)
				}
				if got := buf.String(); !strings.Contains(got, "/static/a.css?v=") || !strings.Contains(got, "<title>T</title>") || !strings.HasSuffix(got, "\">X") {
					t.Errorf("rendered %q", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseServicesFS error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestServicePortalKeys makes sure the services' catalogue has every message
// key of the portal navigation and footer shared with the IdP.
func TestServicePortalKeys(t *testing.T) {
	p, err := ParseServices()
	if err != nil {
		t.Fatal(err)
	}
	t2, err := template.New("x").Funcs(template.FuncMap{"t": p.translate, "asset": p.asset}).ParseFS(pageFS, "layout/portal.html")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.checkKeys(t2); err != nil {
		t.Error(err)
	}
	for _, item := range PortalNav(PortalLinks{IdP: "i", Status: "s", Forms: "f", Documents: "d"}, "", "", "de") {
		if _, err := p.translate("de", item.Key); err != nil {
			t.Error(err)
		}
	}
	for _, item := range PortalFooter(PortalLinks{IdP: "i"}, "", "de") {
		if _, err := p.translate("de", item.Key); err != nil {
			t.Error(err)
		}
	}
}
