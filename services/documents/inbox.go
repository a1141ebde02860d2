package documents

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/webkit"
)

// zurich is the time zone dates are shown in.
var zurich = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Zurich"); err == nil {
		return l
	}
	return time.UTC
}()

func day(t time.Time) string      { return t.In(zurich).Format("02.01.2006") }
func dayTime(t time.Time) string  { return t.In(zurich).Format("02.01.2006 15:04") }
func kindKey(kind string) string  { return "documents.kind." + kind }
func docURL(id string) string     { return "/d/" + url.PathEscape(id) }
func humanSize(n int64) string    { return strconv.FormatFloat(float64(n)/1024, 'f', 1, 64) + " KB" }
func tokenHash(tok string) string { return sha256Hex([]byte(tok)) }

// messagePage shows a short message (not found, gone, …).
type messagePage struct {
	page.Layout
	MessageKey string
}

// notFound answers 404 with the same page whatever the reason (unknown,
// not visible, deleted, share link gone), so nothing can be probed.
func (s *service) notFound(w http.ResponseWriter, r *http.Request) {
	l := s.pages.Layout(r, "documents.notfound.title")
	if sess, ok := rp.SessionFrom(r.Context()); ok {
		l.User, l.For, l.CSRF = sess.DisplayName(), sess.For, sess.CSRF
	}
	s.pages.Render(w, r, http.StatusNotFound, "documents/message", messagePage{Layout: l, MessageKey: "documents.notfound.text"})
}

func (s *service) fail(w http.ResponseWriter, r *http.Request, err error) {
	id := webkit.LogID(r.Context())
	s.log.ErrorContext(r.Context(), "document service failed", "request_id", id, "path", r.URL.Path, "error", err)
	l := s.pages.Layout(r, "documents.error.title")
	s.pages.Render(w, r, http.StatusInternalServerError, "documents/message", messagePage{Layout: l, MessageKey: "documents.error.text"})
}

// layout is the page layout with the logged-in person.
func (s *service) layout(r *http.Request, sess *rp.Session, titleKey string) page.Layout {
	l := s.pages.Layout(r, titleKey)
	l.User, l.For, l.CSRF = sess.DisplayName(), sess.For, sess.CSRF
	return l
}

// inboxPage is the view model of "Meine Dokumente".
type inboxPage struct {
	page.Layout
	Documents []docRow
}

type docRow struct {
	Title, KindKey, Date, Reference, URL string
	New                                  bool
}

// inbox lists the documents of the session's owner, newest first.
func (s *service) inbox(w http.ResponseWriter, r *http.Request) {
	sess, _ := rp.SessionFrom(r.Context())
	docs, err := s.store.List(r.Context(), ownerOf(sess))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := inboxPage{Layout: s.layout(r, sess, "site.documents")}
	for _, d := range docs {
		p.Documents = append(p.Documents, docRow{Title: d.title(p.Lang), KindKey: kindKey(d.Kind), Date: day(d.DeliveredAt),
			Reference: d.Reference, URL: docURL(d.ID), New: d.ReadAt == nil})
	}
	s.pages.Render(w, r, http.StatusOK, "documents/inbox", p)
}

// ownDocument loads the document of the path if the session may see it.
func (s *service) ownDocument(w http.ResponseWriter, r *http.Request) (*rp.Session, Document, bool) {
	sess, _ := rp.SessionFrom(r.Context())
	d, err := s.store.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, ErrNotFound) || (err == nil && !visible(sess, d)) {
		s.notFound(w, r)
		return nil, d, false
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, d, false
	}
	return sess, d, true
}

// detailPage is the view model of a document's page.
type detailPage struct {
	page.Layout
	ID, Title, KindKey, Date, Reference, Issuer, SHA256, Size, DownloadURL string
	Sealed                                                                 bool
	Shares                                                                 []shareRow
	NewLink                                                                string // a share link just created (shown once)
	ErrorKey                                                               string
}

type shareRow struct {
	ID, Created, Expires, StateKey, Downloads string
	Active                                    bool
	Log                                       []string
}

// detail shows a document: metadata, SHA-256, download, share links.
func (s *service) detail(w http.ResponseWriter, r *http.Request) {
	sess, d, ok := s.ownDocument(w, r)
	if !ok {
		return
	}
	s.renderDetail(w, r, sess, d, http.StatusOK, "", "")
}

func (s *service) renderDetail(w http.ResponseWriter, r *http.Request, sess *rp.Session, d Document, status int, newLink, errKey string) {
	shares, err := s.store.Shares(r.Context(), d.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := detailPage{Layout: s.layout(r, sess, "documents.detail.title"), ID: d.ID, KindKey: kindKey(d.Kind),
		Date: day(d.DeliveredAt), Reference: d.Reference, Issuer: d.Issuer, SHA256: d.SHA256, Size: humanSize(d.Size),
		DownloadURL: docURL(d.ID) + "/download", Sealed: d.Sealed, NewLink: newLink, ErrorKey: errKey}
	p.Title = d.title(p.Lang)
	now := s.cfg.Now()
	for _, sh := range shares {
		row := shareRow{ID: sh.ID, Created: dayTime(sh.CreatedAt), Expires: dayTime(sh.ExpiresAt), Active: sh.usable(now)}
		row.Downloads = strconv.FormatInt(sh.Downloads, 10)
		if sh.MaxDownloads > 0 {
			row.Downloads += " / " + strconv.FormatInt(sh.MaxDownloads, 10)
		}
		switch {
		case sh.RevokedAt != nil:
			row.StateKey = "documents.share.revoked"
		case !now.Before(sh.ExpiresAt):
			row.StateKey = "documents.share.expired"
		case !row.Active:
			row.StateKey = "documents.share.usedup"
		default:
			row.StateKey = "documents.share.active"
		}
		for _, at := range sh.Log {
			row.Log = append(row.Log, dayTime(at))
		}
		p.Shares = append(p.Shares, row)
	}
	s.pages.Render(w, r, status, "documents/detail", p)
}

// asciiName turns a title into an ASCII file name (umlauts transliterated).
var asciiName = strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "Ä", "Ae", "Ö", "Oe", "Ü", "Ue", "é", "e", "è", "e",
	"ê", "e", "à", "a", "â", "a", "ç", "c", "ô", "o", "î", "i", "ï", "i", "ß", "ss", " ", "-")

// serveBytes sends stored bytes unchanged as an attachment, with their
// SHA-256 as Repr-Digest (RFC 9530).
func serveBytes(w http.ResponseWriter, d Document, title string, b []byte) {
	name := strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			return c
		}
		return -1
	}, asciiName.Replace(title))
	if name == "" {
		name = "dokument"
	}
	sum, _ := hex.DecodeString(d.SHA256)
	h := w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.pdf"; filename*=UTF-8''%s.pdf`, name, url.PathEscape(title)))
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// download sends the document byte for byte and marks it read.
func (s *service) download(w http.ResponseWriter, r *http.Request) {
	_, d, ok := s.ownDocument(w, r)
	if !ok {
		return
	}
	b, err := s.store.Content(r.Context(), d.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.store.MarkRead(r.Context(), d.ID, s.cfg.Now()); err != nil {
		s.log.WarnContext(r.Context(), "mark read failed", "error", err)
	}
	serveBytes(w, d, d.title(page.Lang(r)), b)
}

// delete removes a document.
func (s *service) delete(w http.ResponseWriter, r *http.Request) {
	_, d, ok := s.ownDocument(w, r)
	if !ok {
		return
	}
	if err := s.store.Delete(r.Context(), d.ID); err != nil && !errors.Is(err, ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "document deleted by its owner", "id", d.ID)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// Share link bounds.
const (
	minShareDays, maxShareDays = 1, 30
	maxShareDownloads          = 1000
)

// createShare makes a share link: a 256-bit random token (only its hash is
// stored), expiry of 1–30 days, optional download limit. The link is shown
// once, on the answer.
func (s *service) createShare(w http.ResponseWriter, r *http.Request) {
	sess, d, ok := s.ownDocument(w, r)
	if !ok {
		return
	}
	days, err := strconv.Atoi(r.PostFormValue("days"))
	if err != nil || days < minShareDays || days > maxShareDays {
		s.renderDetail(w, r, sess, d, http.StatusUnprocessableEntity, "", "documents.share.error.days")
		return
	}
	var limit int64
	if v := strings.TrimSpace(r.PostFormValue("limit")); v != "" {
		limit, err = strconv.ParseInt(v, 10, 64)
		if err != nil || limit < 1 || limit > maxShareDownloads {
			s.renderDetail(w, r, sess, d, http.StatusUnprocessableEntity, "", "documents.share.error.limit")
			return
		}
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.cfg.Now()
	sh := Share{ID: newID(), DocumentID: d.ID, CreatedAt: now, ExpiresAt: now.AddDate(0, 0, days), MaxDownloads: limit}
	if err := s.store.CreateShare(r.Context(), sh, tokenHash(tok)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "share link created", "document", d.ID, "share", sh.ID, "days", days, "limit", limit)
	s.renderDetail(w, r, sess, d, http.StatusOK, s.base+"/s/"+tok, "")
}

// revokeShare ends a share link at once.
func (s *service) revokeShare(w http.ResponseWriter, r *http.Request) {
	_, d, ok := s.ownDocument(w, r)
	if !ok {
		return
	}
	err := s.store.RevokeShare(r.Context(), d.ID, r.PathValue("share"), s.cfg.Now())
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, docURL(d.ID), http.StatusSeeOther)
}
