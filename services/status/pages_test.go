package status

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/services/rp"
)

// TestVisibility is the matrix of who sees which case: the session's
// owner-or-acting decides (the IdP puts "represents" into the login only
// while the membership with the service or the covering representation
// holds, so ending either leaves a session without it).
func TestVisibility(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, backend)
			_, annaRef := h.create(createBody("wohnsitzbestaetigung", "anna"))
			org := createBody("wohnsitzbestaetigung", "")
			org["owner"] = map[string]string{"kind": "organisation", "id": "org-1"}
			_, orgRef := h.create(org)
			_, benRef := h.create(createBody("wohnsitzbestaetigung", "ben"))

			anna := rp.Session{Subject: "anna", Name: "Anna"}
			member := rp.Session{Subject: "carla", Name: "Carla"}
			memberActing := member
			memberActing.Acting = &rp.Represents{Kind: rp.ActingOrganisation, ID: "org-1", Name: "Muster AG", Roles: []string{"member"}}
			otherOrg := member
			otherOrg.Acting = &rp.Represents{Kind: rp.ActingOrganisation, ID: "org-2", Name: "Andere AG"}
			rep := rp.Session{Subject: "dora", Name: "Dora"}
			repActing := rep
			repActing.Acting = &rp.Represents{Kind: rp.ActingPerson, Sub: "anna", Name: "Anna"}
			annaForOrg := anna // the owner acting for an organisation sees its cases, not her own
			annaForOrg.Acting = memberActing.Acting

			tests := []struct {
				name string
				sess rp.Session
				sees []string
			}{
				{name: "owner", sess: anna, sees: []string{annaRef}},
				{name: "owner acting for an organisation", sess: annaForOrg, sees: []string{orgRef}},
				{name: "member acting for the organisation (service assigned)", sess: memberActing, sees: []string{orgRef}},
				{name: "member without the service, or after leaving (no represents)", sess: member},
				{name: "member of another organisation", sess: otherOrg},
				{name: "representative acting (service covered)", sess: repActing, sees: []string{annaRef}},
				{name: "representative for himself, outside the covered services, or after the end", sess: rep},
				{name: "someone else", sess: rp.Session{Subject: "ben"}, sees: []string{benRef}},
				{name: "empty subject", sess: rp.Session{}},
			}
			all := []string{annaRef, orgRef, benRef}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					_, list := h.page(tt.sess, "/")
					for _, ref := range all {
						want := containsString(tt.sees, ref)
						if got := strings.Contains(list, ref); got != want {
							t.Errorf("list shows %s: %t, want %t", ref, got, want)
						}
						code, _ := h.page(tt.sess, "/cases/"+ref)
						if (code == http.StatusOK) != want {
							t.Errorf("case %s: %d, visible want %t", ref, code, want)
						}
					}
				})
			}
		})
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var refRe = regexp.MustCompile(`Referenz (\d{4}-\d{6}-\d)`)

// TestListPages pages through 45 cases, newest change first: a change
// moves a case to the top.
func TestListPages(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, backend)
			type made struct {
				tick    int
				id, ref string
			}
			var cases []made
			for i := range 45 {
				id, ref := h.create(createBody("wohnsitzbestaetigung", "anna"))
				cases = append(cases, made{tick: i / 5, id: id, ref: ref})
				if i%5 == 4 {
					h.clock.Add(time.Microsecond) // five cases share each time: the id breaks the tie
				}
			}
			h.clock.Add(time.Second)
			h.post(cases[3].id, event(Eingegangen, 1), 201)
			cases[3].tick = 100
			slices.SortFunc(cases, func(a, b made) int {
				if a.tick != b.tick {
					return b.tick - a.tick
				}
				return strings.Compare(b.id, a.id)
			})
			var want []string
			for _, c := range cases {
				want = append(want, c.ref)
			}
			sess := rp.Session{Subject: "anna"}
			var got []string
			path := "/"
			for pages := 0; path != ""; pages++ {
				if pages > 3 {
					t.Fatal("too many pages")
				}
				_, body := h.page(sess, path)
				for _, m := range refRe.FindAllStringSubmatch(body, -1) {
					got = append(got, m[1])
				}
				path = ""
				if m := regexp.MustCompile(`href="(/\?after=[^"]+)" rel="next"`).FindStringSubmatch(body); m != nil {
					path = strings.ReplaceAll(m[1], "&amp;", "&")
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("pages show\n%v\nwant\n%v", got, want)
			}
			if code, _ := h.page(sess, "/?after=garbage"); code != http.StatusOK {
				t.Fatalf("bad cursor: %d", code)
			}
		})
	}
}

// TestListIndex checks that PostgreSQL answers the list from the index
// status_cases_list.
func TestListIndex(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "postgres")
	if _, err := h.db.Exec(t.Context(), `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	rows, err := h.db.Query(t.Context(), `EXPLAIN SELECT `+caseColumns+` FROM status_cases WHERE owner_kind = ? AND owner_id = ? AND viewable
		AND (changed_at < ? OR (changed_at = ? AND id < ?)) ORDER BY changed_at DESC, id DESC LIMIT 21`,
		"person", "anna", h.clock.Now(), h.clock.Now(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if !strings.Contains(plan.String(), "status_cases_list") || strings.Contains(plan.String(), "Sort") {
		t.Fatalf("plan does not use the index without sorting:\n%s", plan.String())
	}
}

// multipartBody builds the answer form.
func multipartBody(t *testing.T, csrf, text string, files map[string][]byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf", csrf)
	_ = mw.WriteField("text", text)
	for name, data := range files {
		w, _ := mw.CreateFormFile("files", name)
		_, _ = w.Write(data)
	}
	_ = mw.Close()
	return mw.FormDataContentType(), &buf
}

func TestAnswer(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, backend)
			id, ref := h.create(createBody("wohnsitzbestaetigung", "anna"))
			_, openRef := h.create(createBody("wohnsitzbestaetigung", "anna"))
			h.post(id, event(Rueckfrage, 1), 201)
			anna := rp.Session{Subject: "anna", Name: "Anna", CSRF: "tok"}
			pdf := []byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n")
			png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")
			big := append([]byte("%PDF-1.7\n"), make([]byte, 2<<20)...)
			tests := []struct {
				name  string
				sess  rp.Session
				ref   string
				csrf  string
				text  string
				files map[string][]byte
				want  int
				has   string
			}{
				{name: "no csrf", sess: anna, ref: ref, csrf: "", text: "x", want: 403},
				{name: "wrong csrf", sess: anna, ref: ref, csrf: "nope", text: "x", want: 403},
				{name: "empty", sess: anna, ref: ref, csrf: "tok", want: 422, has: "Bitte geben Sie eine Antwort ein"},
				{name: "executable named pdf", sess: anna, ref: ref, csrf: "tok", text: "x", files: map[string][]byte{"a.pdf": []byte("MZ\x90\x00")}, want: 422, has: "nur PDF-, JPEG- oder PNG"},
				{name: "too large", sess: anna, ref: ref, csrf: "tok", text: "x", files: map[string][]byte{"big.pdf": big}, want: 413, has: "zu gross"},
				{name: "not the owner", sess: rp.Session{Subject: "ben", CSRF: "tok"}, ref: ref, csrf: "tok", text: "x", want: 404},
				{name: "no open Rückfrage", sess: anna, ref: openRef, csrf: "tok", text: "x", want: 409, has: "keine Rückfrage mehr offen"},
				{name: "text and files", sess: anna, ref: ref, csrf: "tok", text: "Hier die Unterlagen.", files: map[string][]byte{"ausweis.pdf": pdf, "foto.png": png}, want: 303},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ct, body := multipartBody(t, tt.csrf, tt.text, tt.files)
					req, _ := http.NewRequest("POST", h.srv.URL+"/cases/"+tt.ref+"/answer", body)
					req.Header.Set("Content-Type", ct)
					req.Header.Set(testSessionHeader, encode(t, tt.sess))
					req.Header.Set("Sec-Fetch-Site", "same-origin")
					resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					var out bytes.Buffer
					_, _ = out.ReadFrom(resp.Body)
					if resp.StatusCode != tt.want || !strings.Contains(out.String(), tt.has) {
						t.Fatalf("%d, want %d with %q:\n%s", resp.StatusCode, tt.want, tt.has, out.String())
					}
				})
			}
			// The answer shows on the page and, with its files, in the API.
			if _, page := h.page(anna, "/cases/"+ref+"?answered=1"); !strings.Contains(page, "Hier die Unterlagen.") || !strings.Contains(page, "ausweis.pdf") || !strings.Contains(page, "übermittelt") {
				t.Fatalf("page lacks the answer:\n%s", page)
			}
			v := h.get(id)
			if len(v.Answers) != 1 || len(v.Answers[0].Files) != 2 || v.Answers[0].SubmittedBy != "anna" {
				t.Fatalf("answers %+v", v.Answers)
			}
			f := v.Answers[0].Files[0]
			code, data := h.call("GET", strings.TrimPrefix(f.URL, h.svc.base), writer, nil)
			if code != 200 || data != string(pdf) || f.ContentType != "application/pdf" {
				t.Fatalf("file: %d %q %s", code, data, f.ContentType)
			}
			// Cross-site posts are refused whatever the token.
			ct, body := multipartBody(t, "tok", "x", nil)
			req, _ := http.NewRequest("POST", h.srv.URL+"/cases/"+ref+"/answer", body)
			req.Header.Set("Content-Type", ct)
			req.Header.Set(testSessionHeader, encode(t, anna))
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			if code, _ := h.send(req); code != http.StatusForbidden {
				t.Fatalf("cross-site: %d", code)
			}
			if v := h.get(id); len(v.Answers) != 1 {
				t.Fatalf("answers after the refused posts %+v", v.Answers)
			}
		})
	}
}
