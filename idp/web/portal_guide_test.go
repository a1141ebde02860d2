package web

import (
	"strings"
	"testing"
)

// TestMarkdownHTML: the guide's Markdown subset renders to HTML, and no
// text of the document can inject markup or a script link.
func TestMarkdownHTML(t *testing.T) {
	src := "## 2. Register the <b>client</b>\n\nFirst line\ncontinued with `a<b>` and **bold**, [spec](https://openid.net/x?a=1&b=2),\n" +
		"[repo](../examples/rp/main.go), [bad](javascript:alert) and [`code link`](#x).\n\n" +
		"- one\n  more of one\n- two <script>\n\n```sh\nkundencenter admin <x> & y\n```\nafter"
	got := string(markdownHTML(src))
	for _, want := range []string{
		`<h2 id="2-register-the-b-client-b">2. Register the &lt;b&gt;client&lt;/b&gt;</h2>`,
		`<p>First line continued with <code>a&lt;b&gt;</code> and <strong>bold</strong>, <a href="https://openid.net/x?a=1&amp;b=2">spec</a>,` +
			` repo, bad and <a href="#x"><code>code link</code></a>.</p>`,
		"<ul>\n<li>one more of one</li>\n<li>two &lt;script&gt;</li>\n</ul>",
		"<pre class=\"code\" tabindex=\"0\"><code>kundencenter admin &lt;x&gt; &amp; y\n</code></pre>",
		"<p>after</p>",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "javascript:") || strings.Contains(got, "<script") || strings.Contains(got, "../examples") {
		t.Errorf("unsafe or broken output:\n%s", got)
	}
}
