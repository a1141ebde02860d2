package signin

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp/web/kit"
	"github.com/kanton/kundencenter/idp/web/kit/viewtest"
	"github.com/kanton/kundencenter/templates"
)

// profileChoiceCases are the login's profile choice with sample views.
func profileChoiceCases() []viewtest.Case {
	rows := []kit.ProfileRow{
		{ID: "pmain", Main: true, Person: "Anna Muster", Address: "Hauptgasse 12, 4500 Solothurn", Email: "anna@example.ch",
			EditURL: "/account/profiles/pmain"},
		{ID: "pbiz", Name: "Geschäftlich", Person: "Anna Muster-Keller", Email: "anna@muster-ag.ch", Phone: "+41621234567",
			EditURL: "/account/profiles/pbiz"},
	}
	return []viewtest.Case{
		{Name: "profile_choice", Page: "profile_choice", View: func() any {
			return &profileChoiceView{Page: viewtest.SamplePage("/login/profile?authRequestID=ar-1"), AuthRequestID: "ar-1",
				ClientName: "Baugesuche", Profiles: rows, Selected: "pbiz"}
		}},
		{Name: "profile_choice_error", Page: "profile_choice", View: func() any {
			p := viewtest.SamplePage("/login/profile")
			p.Errors = []templates.FieldError{{Field: "profile", Key: "err.profile_choice"}}
			return &profileChoiceView{Page: p, AuthRequestID: "ar-1", Profiles: rows}
		}},
	}
}

var profileKeyLike = regexp.MustCompile(`\b(?:profiles?|profile_choice|mydata|err|field)\.[a-z_]+\b`)

// TestProfileChoiceViews renders the profile choice in every language: no
// key left untranslated, the error linked to its field (a radio group, no
// single label), the remembered profile pre-selected, no inline code.
func TestProfileChoiceViews(t *testing.T) {
	t.Parallel()
	viewtest.AllLanguages(t, profileChoiceCases(), profileKeyLike, func(t *testing.T, c viewtest.Case, out string) {
		if strings.Contains(out, "<script") {
			t.Error("inline code in the output")
		}
		viewtest.FieldsWired(t, c, out, "profile")
		if c.Name == "profile_choice" && !strings.Contains(out, `value="pbiz" checked`) {
			t.Error("the remembered profile is not pre-selected")
		}
	})
}
