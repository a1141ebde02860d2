package templates

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// defaultLang is the language of the canton's administration and the
// fallback for everything else.
const defaultLang = "de"

// langs are the supported languages, default first.
var langs = []string{"de", "fr", "it", "en"}

// Langs returns the supported languages, German (the default) first.
func Langs() []string {
	return slices.Clone(langs)
}

// supportedLang returns lang if it is supported and the default otherwise.
func supportedLang(lang string) string {
	if slices.Contains(langs, lang) {
		return lang
	}
	return defaultLang
}

// langAliases maps language tags outside the supported set to the
// supported language a Swiss user most likely reads.
var langAliases = map[string]string{
	"gsw": "de", // Swiss German, sent by some browsers set to "Schweizerdeutsch"
}

// MatchLang returns the first supported language named by the candidates,
// taken in order: an OIDC ui_locales value ("fr-CH it"), a language cookie,
// an Accept-Language header ("de-CH,de;q=0.9,en;q=0.8", weighed by q-value).
// Empty candidates are skipped; without a match it returns "de".
func MatchLang(candidates ...string) string {
	for _, c := range candidates {
		for _, tag := range langTags(c) {
			primary, _, _ := strings.Cut(strings.ReplaceAll(tag, "_", "-"), "-")
			primary = strings.ToLower(primary)
			if alias, ok := langAliases[primary]; ok {
				primary = alias
			}
			if slices.Contains(langs, primary) {
				return primary
			}
		}
	}
	return defaultLang
}

// langTags splits a list of language tags separated by commas or spaces
// into tags ordered by preference: by q-value, highest first, and by
// position among equal q-values. Tags with q=0 or a malformed q are dropped.
func langTags(list string) []string {
	type weighted struct {
		tag string
		q   float64
	}
	var tags []weighted
	for part := range strings.SplitSeq(list, ",") {
		tag, params, hasParams := strings.Cut(part, ";")
		if !hasParams {
			// ui_locales separates tags with spaces (OIDC Core 1.0 §3.1.2.1).
			for f := range strings.FieldsSeq(part) {
				tags = append(tags, weighted{f, 1})
			}
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		if tag = strings.TrimSpace(tag); tag != "" && q > 0 {
			tags = append(tags, weighted{tag, q})
		}
	}
	slices.SortStableFunc(tags, func(a, b weighted) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.tag
	}
	return out
}

// LangLinks builds the language switcher for a page at u shown in current:
// one link per supported language to the same path and query with the
// "lang" query parameter set.
func LangLinks(u *url.URL, current string) []LangLink {
	current = supportedLang(current)
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	links := make([]LangLink, 0, len(langs))
	for _, lang := range langs {
		q := u.Query()
		q.Set("lang", lang)
		links = append(links, LangLink{Lang: lang, URL: p + "?" + q.Encode(), Current: lang == current})
	}
	return links
}

// catalogues maps a language to its messages (key → text).
type catalogues map[string]map[string]string

// loadCatalogues reads i18n/LANG.json for every supported language and
// checks that they are complete: the same keys everywhere, no empty text,
// and the same formatting verbs for a key in every language.
func loadCatalogues(fsys fs.FS) (catalogues, error) {
	cat := catalogues{}
	var errs []error
	for _, lang := range langs {
		msgs, err := readCatalogue(fsys, "i18n/"+lang+".json")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cat[lang] = msgs
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	ref := cat[defaultLang]
	for _, lang := range langs {
		msgs := cat[lang]
		for key, text := range msgs {
			if strings.TrimSpace(text) == "" {
				errs = append(errs, fmt.Errorf("i18n/%s.json: %q is empty", lang, key))
			}
			if lang == defaultLang {
				continue
			}
			refText, ok := ref[key]
			if !ok {
				errs = append(errs, fmt.Errorf("i18n/%s.json: %q is not in i18n/%s.json", lang, key, defaultLang))
				continue
			}
			if a, b := verbs(refText), verbs(text); !slices.Equal(a, b) {
				errs = append(errs, fmt.Errorf("i18n/%s.json: %q has verbs %v, i18n/%s.json has %v", lang, key, b, defaultLang, a))
			}
		}
		for key := range ref {
			if _, ok := msgs[key]; !ok {
				errs = append(errs, fmt.Errorf("i18n/%s.json: %q missing", lang, key))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cat, nil
}

// readCatalogue reads one flat JSON object of strings, refusing duplicate
// keys (encoding/json would silently keep the last one).
func readCatalogue(fsys fs.FS, name string) (map[string]string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open catalogue: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%s: not a JSON object (%v)", name, err)
	}
	msgs := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		key, _ := tok.(string)
		var text string
		if err := dec.Decode(&text); err != nil {
			return nil, fmt.Errorf("%s: %q: %w", name, key, err)
		}
		if _, dup := msgs[key]; dup {
			return nil, fmt.Errorf("%s: duplicate key %q", name, key)
		}
		msgs[key] = text
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: trailing data after the object", name)
	}
	return msgs, nil
}

// verbRE matches a fmt verb, including explicit argument indexes.
var verbRE = regexp.MustCompile(`%(?:\[\d+\])?[-+# 0]*\d*(?:\.\d+)?[a-zA-Z%]`)

// verbs returns the sorted formatting verbs of a message, without "%%".
func verbs(msg string) []string {
	var out []string
	for _, v := range verbRE.FindAllString(msg, -1) {
		if v != "%%" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}
