package catalogue

import (
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// indexed is the search index of one service: its folded words per
// language and field weight.
type indexed struct {
	service int
	words   map[string][]weighted // lang → words
}

type weighted struct {
	word   string
	weight float64
}

// Field weights: a word of the title counts most, a keyword (synonym) a
// little less, a word of the summary least.
const (
	weightTitle   = 3.0
	weightKeyword = 2.5
	weightSummary = 1.0
	weightCat     = 0.5
)

func (c *Catalogue) buildIndex() {
	c.index = make([]indexed, len(c.Services))
	for i, s := range c.Services {
		ix := indexed{service: i, words: map[string][]weighted{}}
		cat, _ := c.Category(s.Category)
		for _, l := range Langs {
			var ws []weighted
			add := func(text string, w float64) {
				for _, t := range tokens(text) {
					ws = append(ws, weighted{t, w})
				}
			}
			add(s.Title[l], weightTitle)
			for _, k := range s.Keywords[l] {
				add(k, weightKeyword)
			}
			add(s.Summary[l], weightSummary)
			add(cat.Title[l], weightCat)
			ix.words[l] = ws
		}
		c.index[i] = ix
	}
}

// Result is one search hit.
type Result struct {
	Service Service
	Score   float64
}

// Search returns the services matching query, best first. Every word of
// the query is compared with the words of each service's title, keywords,
// summary and category in every language (the user's own language lang
// counts a little more): equal after folding case, umlauts and accents, a
// prefix ("steuer" for "steuererklaerung"), part of a compound word
// ("hund" in "hundeanmeldung") or one or two typos away. A service must
// match every query word that is not a stop word.
func (c *Catalogue) Search(query, lang string) []Result {
	var qs []string
	for _, t := range tokens(query) {
		if !stopWords[t] {
			qs = append(qs, t)
		}
	}
	if len(qs) == 0 {
		return nil
	}
	var out []Result
	for _, ix := range c.index {
		best := 0.0
		for _, l := range Langs {
			score := 0.0
			for _, q := range qs {
				m := 0.0
				for _, w := range ix.words[l] {
					m = max(m, match(q, w.word)*w.weight)
				}
				if m == 0 {
					score = 0
					break
				}
				score += m
			}
			if l == lang {
				score *= 1.1
			}
			best = max(best, score)
		}
		if best > 0 {
			out = append(out, Result{Service: c.Services[ix.service], Score: best})
		}
	}
	slices.SortStableFunc(out, func(a, b Result) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	return out
}

// match rates how well the query word q matches the indexed word w, both
// folded: 1 equal, 0.9 prefix, 0.75 inside a compound, 0.7 one typo, 0.5
// two typos (long words only), 0 no match.
func match(q, w string) float64 {
	switch {
	case q == w:
		return 1
	case len(q) >= 3 && strings.HasPrefix(w, q):
		return 0.9
	case len(q) >= 4 && strings.Contains(w, q):
		return 0.75
	}
	if len(q) < 4 {
		return 0
	}
	limit := 1
	if len(q) >= 8 {
		limit = 2
	}
	// A typo in a prefix of a long compound ("steuererklärnug") counts too.
	cand := w
	if len(w) > len(q)+limit {
		cand = w[:len(q)]
	}
	d := distance(q, cand, limit)
	switch {
	case d == 1:
		return 0.7
	case d == 2 && limit == 2:
		return 0.5
	}
	return 0
}

// distance is the Damerau–Levenshtein (optimal string alignment) distance
// of a and b, or limit+1 when it exceeds limit.
func distance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// tokens splits text into folded words.
func tokens(text string) []string {
	return strings.FieldsFunc(Fold(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// Fold lower-cases s, writes German umlauts as two letters (ä → ae, ö → oe,
// ü → ue, ß → ss) and removes every other accent (é → e, ç → c), so that
// "Zügeln", "ZUEGELN" and "zuegeln" are the same word, and "Déménagement"
// and "demenagement" too.
func Fold(s string) string {
	s = strings.ToLower(s)
	s = strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss",
		// The same umlauts as a vowel with a combining diaeresis.
		"a\u0308", "ae", "o\u0308", "oe", "u\u0308", "ue").Replace(s)
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		return s
	}
	return out
}

// stopWords are folded words of the four languages that say nothing about
// a service.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`der die das den dem des ein eine einen einer und oder fuer mit von zu im in am an auf ich mein meine meinen mich wie was wo
		le la les l un une des du de d et ou pour avec au aux en mon ma mes je comment
		il lo gli i una uno del della dei delle di e o per con al alla il mio mia miei come
		the a an and or for with of to in on my i how what`) {
		m[w] = true
	}
	return m
}()
