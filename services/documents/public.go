package documents

import (
	"errors"
	"io"
	"net/http"

	"github.com/kanton/kundencenter/services/documents/seal"
	"github.com/kanton/kundencenter/services/page"
)

// verifyPage is the view model of the public verification page.
type verifyPage struct {
	page.Layout
	MaxMB    int64
	ErrorKey string
	Result   *verifyResult
}

type verifyResult struct {
	Valid, Intact, Trusted, Timestamped, OnRecord bool
	Signer, Organization, SignedAt, IssuedAt      string
	SHA256, FileName                              string
	ProblemKeys                                   []string
}

// verifyForm shows the upload form (public, no login).
func (s *service) verifyForm(w http.ResponseWriter, r *http.Request) {
	s.pages.Render(w, r, http.StatusOK, "documents/verify", verifyPage{Layout: s.pages.Layout(r, "documents.verify.title"),
		MaxMB: s.cfg.MaxPDFBytes >> 20})
}

// verify checks an uploaded PDF: the seal (our verifier) and whether its
// hash is on record here.
func (s *service) verify(w http.ResponseWriter, r *http.Request) {
	p := verifyPage{Layout: s.pages.Layout(r, "documents.verify.title"), MaxMB: s.cfg.MaxPDFBytes >> 20}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxPDFBytes+64<<10)
	f, hdr, err := r.FormFile("file")
	if err != nil {
		p.ErrorKey = "documents.verify.error.nofile"
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			p.ErrorKey = "documents.verify.error.toobig"
		}
		s.pages.Render(w, r, http.StatusUnprocessableEntity, "documents/verify", p)
		return
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		p.ErrorKey = "documents.verify.error.toobig"
		s.pages.Render(w, r, http.StatusUnprocessableEntity, "documents/verify", p)
		return
	}
	res := s.cfg.Verifier.Verify(b)
	sum := sha256Hex(b)
	vr := &verifyResult{Valid: res.Valid, Intact: res.Intact, Trusted: res.Trusted, Timestamped: !res.SignedAt.IsZero(),
		Signer: res.Signer, Organization: res.Organization, SHA256: sum, FileName: hdr.Filename}
	if vr.Timestamped {
		vr.SignedAt = dayTime(res.SignedAt)
	}
	at, _, on, err := s.store.Issued(r.Context(), sum)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if on {
		vr.OnRecord, vr.IssuedAt = true, dayTime(at)
	}
	for _, code := range res.Problems {
		vr.ProblemKeys = append(vr.ProblemKeys, "documents.verify.problem."+code)
	}
	p.Result = vr
	s.log.InfoContext(r.Context(), "document verified", "valid", res.Valid, "on_record", on, "problems", res.Problems)
	s.pages.Render(w, r, http.StatusOK, "documents/verify", p)
}

// problemCodes are the verifier's codes, each with a message.
var problemCodes = []string{seal.NoSignature, seal.Malformed, seal.DigestMismatch, seal.BadSignature, seal.NotCovered,
	seal.Untrusted, seal.NotDocSigning, seal.NoTimestamp, seal.BadTimestamp, seal.NotPAdESBaseline, seal.SigningTimeAttr}

// sharePage is the view model of a share link's landing page.
type sharePage struct {
	page.Layout
	Title, Issuer, Date, SHA256, Size, Expires, DownloadURL string
}

// sharedDocument finds the usable share link of the path and its document;
// anything else (guessed, altered, expired, used up, revoked) is 404.
func (s *service) sharedDocument(w http.ResponseWriter, r *http.Request) (Share, Document, bool) {
	tok := r.PathValue("token")
	sh, err := s.store.ShareByToken(r.Context(), tokenHash(tok))
	if err == nil && !sh.usable(s.cfg.Now()) {
		err = ErrNotFound
	}
	var d Document
	if err == nil {
		d, err = s.store.Get(r.Context(), sh.DocumentID)
	}
	if errors.Is(err, ErrNotFound) {
		s.notFound(w, r)
		return sh, d, false
	}
	if err != nil {
		s.fail(w, r, err)
		return sh, d, false
	}
	return sh, d, true
}

// shareLanding shows what was shared, with a download button (public).
func (s *service) shareLanding(w http.ResponseWriter, r *http.Request) {
	sh, d, ok := s.sharedDocument(w, r)
	if !ok {
		return
	}
	p := sharePage{Layout: s.pages.Layout(r, "documents.shared.title"), Issuer: d.Issuer, Date: day(d.DeliveredAt),
		SHA256: d.SHA256, Size: humanSize(d.Size), Expires: dayTime(sh.ExpiresAt), DownloadURL: "/s/" + r.PathValue("token") + "/download"}
	p.Title = d.title(p.Lang)
	s.pages.Render(w, r, http.StatusOK, "documents/shared", p)
}

// shareDownload sends the shared bytes and logs the download for the owner.
func (s *service) shareDownload(w http.ResponseWriter, r *http.Request) {
	sh, d, ok := s.sharedDocument(w, r)
	if !ok {
		return
	}
	if err := s.store.UseShare(r.Context(), sh.ID, s.cfg.Now()); errors.Is(err, ErrShareGone) || errors.Is(err, ErrNotFound) {
		s.notFound(w, r)
		return
	} else if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.store.Content(r.Context(), d.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	serveBytes(w, d, d.title(page.Lang(r)), b)
}
