package web

import (
	"fmt"
	"html"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/kanton/kundencenter/docs"
	"github.com/kanton/kundencenter/templates"
)

// guideView is page "guide": the integration guide for the canton's
// service teams (docs/integrating-services.md, in English).
type guideView struct {
	templates.Page
	Body template.HTML
}

// guideHTML is the guide, rendered once, without its "# " title: the page
// shows its own, in the page's language.
var guideHTML = sync.OnceValue(func() template.HTML {
	src := docs.IntegrationGuide
	if strings.HasPrefix(src, "# ") {
		_, src, _ = strings.Cut(src, "\n")
	}
	return markdownHTML(src)
})

func (h *Handler) guide(w http.ResponseWriter, r *http.Request) {
	v := &guideView{Body: guideHTML()}
	v.Title = "guide.title"
	h.Render(w, r, http.StatusOK, "guide", h.Lang(w, r), v)
}

var (
	mdHeading = regexp.MustCompile(`^(#{1,6}) +(.+)$`)
	mdBold    = regexp.MustCompile(`\*\*(.+?)\*\*`)
	mdLink    = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
	mdSlug    = regexp.MustCompile(`[^a-z0-9]+`)
)

// markdownHTML renders the small Markdown subset our own documents use:
// ATX headings, paragraphs, "- " lists (continued by indented lines),
// fenced code blocks, `code`, **bold** and [links](…). Every text is
// escaped; only http(s) links and in-page anchors become links (relative
// links into the repository become plain text), so the output is safe
// whatever the document says.
func markdownHTML(src string) template.HTML {
	var out, para strings.Builder
	inList, inCode := false, false
	var item []string
	flushPara := func() {
		if para.Len() > 0 {
			fmt.Fprintf(&out, "<p>%s</p>\n", mdInline(para.String()))
			para.Reset()
		}
	}
	flushItem := func() {
		if item != nil {
			fmt.Fprintf(&out, "<li>%s</li>\n", mdInline(strings.Join(item, " ")))
			item = nil
		}
	}
	endList := func() {
		flushItem()
		if inList {
			out.WriteString("</ul>\n")
			inList = false
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case inCode && strings.HasPrefix(trimmed, "```"):
			out.WriteString("</code></pre>\n")
			inCode = false
		case inCode:
			out.WriteString(html.EscapeString(line) + "\n")
		case strings.HasPrefix(trimmed, "```"):
			flushPara()
			endList()
			out.WriteString(`<pre class="code" tabindex="0"><code>`)
			inCode = true
		case trimmed == "":
			flushPara()
			endList()
		case mdHeading.MatchString(line):
			flushPara()
			endList()
			m := mdHeading.FindStringSubmatch(line)
			id := strings.Trim(mdSlug.ReplaceAllString(strings.ToLower(m[2]), "-"), "-")
			fmt.Fprintf(&out, "<h%d id=\"%s\">%s</h%d>\n", len(m[1]), id, mdInline(m[2]), len(m[1]))
		case strings.HasPrefix(line, "- "):
			flushPara()
			flushItem()
			if !inList {
				out.WriteString("<ul>\n")
				inList = true
			}
			item = []string{strings.TrimPrefix(line, "- ")}
		case inList && item != nil && strings.HasPrefix(line, " "):
			item = append(item, trimmed)
		default:
			endList()
			if para.Len() > 0 {
				para.WriteByte(' ')
			}
			para.WriteString(trimmed)
		}
	}
	flushPara()
	endList()
	if inCode {
		out.WriteString("</code></pre>\n")
	}
	return template.HTML(out.String()) //nolint:gosec // every text above is escaped
}

// mdInline renders `code`, **bold** and [links](…) of one paragraph.
func mdInline(s string) string {
	var codes []string
	parts := strings.Split(s, "`")
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 && i < len(parts)-1 { // inside a code span
			codes = append(codes, "<code>"+html.EscapeString(p)+"</code>")
			fmt.Fprintf(&b, "\x00%d\x00", len(codes)-1)
			continue
		}
		if i%2 == 1 {
			b.WriteByte('`') // an unpaired backtick
		}
		b.WriteString(html.EscapeString(p))
	}
	t := mdBold.ReplaceAllString(b.String(), "<strong>$1</strong>")
	t = mdLink.ReplaceAllStringFunc(t, func(m string) string {
		sm := mdLink.FindStringSubmatch(m)
		href := html.UnescapeString(sm[2])
		if strings.HasPrefix(href, "https://") || strings.HasPrefix(href, "http://") ||
			(strings.HasPrefix(href, "#") && !strings.ContainsAny(href, `"<>`)) {
			return `<a href="` + html.EscapeString(href) + `">` + sm[1] + `</a>`
		}
		return sm[1]
	})
	for i, c := range codes {
		t = strings.Replace(t, fmt.Sprintf("\x00%d\x00", i), c, 1)
	}
	return t
}
