package templates

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// staticFS holds the assets served under /static/.
//
//go:embed static
var staticFS embed.FS

// staticPrefix is the URL path under which Static serves the assets.
const staticPrefix = "/static/"

// asset is one static file with its content-hashed name.
type asset struct {
	name   string // e.g. "app.css"
	hashed string // e.g. "app.3f2a9c0d1e7b4a66.css"
	hash   string
	ctype  string
	data   []byte
}

// assetTable indexes the assets by plain and by hashed name.
type assetTable struct {
	byName   map[string]*asset
	byHashed map[string]*asset
}

// assets loads the embedded assets once. They are part of the binary, so a
// failure to read them is a build defect and panics.
var assets = sync.OnceValue(func() assetTable {
	tab := assetTable{byName: map[string]*asset{}, byHashed: map[string]*asset{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		a := &asset{
			name:  strings.TrimPrefix(p, "static/"),
			hash:  hex.EncodeToString(sum[:8]),
			ctype: mime.TypeByExtension(path.Ext(p)),
			data:  data,
		}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		ext := path.Ext(a.name)
		a.hashed = strings.TrimSuffix(a.name, ext) + "." + a.hash + ext
		tab.byName[a.name] = a
		tab.byHashed[a.hashed] = a
		return nil
	})
	if err != nil {
		panic("templates: read embedded static assets: " + err.Error())
	}
	return tab
})

// assetExists reports whether a static asset of that name exists.
func assetExists(name string) bool {
	_, ok := assets().byName[name]
	return ok
}

// AssetURL returns the URL of a static asset with its content hash in the
// name, e.g. "/static/app.3f2a9c0d1e7b4a66.css", so that it can be cached
// for a year. An unknown name gets its plain URL (and Parse refuses
// templates that use one).
func AssetURL(name string) string {
	if a, ok := assets().byName[name]; ok {
		return staticPrefix + a.hashed
	}
	return staticPrefix + name
}

// Static serves the assets under /static/ (mount it as
// mux.Handle("GET /static/", templates.Static())). A content-hashed name is
// cached for a year as immutable; a plain name or an outdated hash (a page
// rendered by an older instance during a deployment) gets the current
// content without long caching.
func Static() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, staticPrefix)
		tab := assets()
		a, immutable := tab.byHashed[name]
		if !immutable {
			a = tab.byName[name]
			if a == nil {
				a = tab.byName[unhashed(name)]
			}
		}
		if a == nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", `"`+a.hash+`"`)
		if immutable {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.data))
	})
}

// unhashed removes the hash segment from "base.hash.ext".
func unhashed(name string) string {
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	i := strings.LastIndexByte(stem, '.')
	if i < 0 {
		return name
	}
	return stem[:i] + ext
}
