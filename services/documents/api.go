package documents

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/documents/seal"
	"github.com/kanton/kundencenter/store/sqldb"
	"github.com/kanton/kundencenter/webkit"
)

// DeliverRequest is the body of POST /api/v1/documents (eCH-0039 metadata).
type DeliverRequest struct {
	MessageID         string            `json:"messageId"`
	UUID              string            `json:"uuid,omitempty"`
	Owner             Owner             `json:"owner"`
	Service           string            `json:"service"`
	BusinessProcessID string            `json:"businessProcessId,omitempty"`
	Reference         string            `json:"reference,omitempty"`
	Title             map[string]string `json:"title"`
	DocumentKind      string            `json:"documentKind"`
	Issuer            string            `json:"issuer"`
	PDF               []byte            `json:"pdf,omitempty"` // base64 in JSON
	Seal              bool              `json:"seal,omitempty"`
	Generate          *GenerateRequest  `json:"generate,omitempty"`
}

// GenerateRequest asks the service to render a result document and seal it.
type GenerateRequest struct {
	Template string         `json:"template"`
	Lang     string         `json:"lang,omitempty"`
	Fields   GenerateFields `json:"fields"`
}

// DeliverResponse is the answer of a delivery.
type DeliverResponse struct {
	ID     string `json:"id"`
	SHA256 string `json:"sha256"`
	URL    string `json:"url"`
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// validate returns the field errors of a delivery.
func (q *DeliverRequest) validate() []webkit.FieldError {
	var errs []webkit.FieldError
	add := func(p, d string) { errs = append(errs, webkit.FieldError{Pointer: p, Detail: d}) }
	if q.MessageID == "" || len(q.MessageID) > 200 {
		add("/messageId", "required, at most 200 characters")
	}
	if q.UUID != "" && !uuidRE.MatchString(q.UUID) {
		add("/uuid", "a lower-case UUID")
	}
	switch q.Owner.Kind {
	case "person":
		if q.Owner.Sub == "" || q.Owner.ID != "" {
			add("/owner/sub", "a person owner needs sub (and no id)")
		}
	case "organisation":
		if q.Owner.ID == "" || q.Owner.Sub != "" {
			add("/owner/id", "an organisation owner needs id (and no sub)")
		}
	default:
		add("/owner/kind", `"person" or "organisation"`)
	}
	if q.Service == "" {
		add("/service", "required")
	}
	if !slices.Contains(documentKinds, q.DocumentKind) {
		add("/documentKind", "one of "+strings.Join(documentKinds, ", "))
	}
	if q.Generate == nil {
		if q.Title["de"] == "" {
			add("/title/de", "required")
		}
		if q.Issuer == "" {
			add("/issuer", "required")
		}
	}
	for lang := range q.Title {
		if !slices.Contains([]string{"de", "fr", "it", "en"}, lang) {
			add("/title/"+lang, "languages are de, fr, it, en")
		}
	}
	switch {
	case q.Generate != nil && len(q.PDF) > 0:
		add("/generate", "either pdf or generate, not both")
	case q.Generate == nil && len(q.PDF) == 0:
		add("/pdf", "pdf (base64) or generate is required")
	case q.Generate != nil:
		g := q.Generate
		if g.Template != TemplateWohnsitz {
			add("/generate/template", "unknown template; known: "+TemplateWohnsitz)
		}
		if g.Lang != "" && !slices.Contains([]string{"de", "fr", "it", "en"}, g.Lang) {
			add("/generate/lang", "de, fr, it or en")
		}
		f := g.Fields
		for p, v := range map[string]string{"givenName": f.GivenName, "familyName": f.FamilyName, "address": f.Address} {
			if strings.TrimSpace(v) == "" {
				add("/generate/fields/"+p, "required")
			}
		}
		for p, v := range map[string]string{"birthDate": f.BirthDate, "since": f.Since} {
			if _, err := time.Parse(time.DateOnly, v); err != nil {
				add("/generate/fields/"+p, "a date YYYY-MM-DD")
			}
		}
	}
	slices.SortFunc(errs, func(a, b webkit.FieldError) int { return strings.Compare(a.Pointer, b.Pointer) })
	return errs
}

// errProblem carries a problem out of deliver.
type errProblem struct{ p webkit.Problem }

func (e errProblem) Error() string { return e.p.Error() }

// deliverAPI is POST /api/v1/documents.
func (s *service) deliverAPI(w http.ResponseWriter, r *http.Request) {
	var q DeliverRequest
	// base64 grows the PDF by a third; metadata needs little.
	if !webkit.Decode(w, r, &q, s.cfg.MaxPDFBytes/3*4+64<<10) {
		return
	}
	caller, _ := api.CallerFrom(r.Context())
	resp, created, err := s.deliver(r.Context(), caller.ClientID, q)
	var pe errProblem
	switch {
	case errors.As(err, &pe):
		webkit.WriteProblem(w, r, pe.p)
	case err != nil:
		s.log.ErrorContext(r.Context(), "document delivery failed", "client_id", caller.ClientID, "error", err)
		webkit.WriteProblem(w, r, webkit.Internal)
	case created:
		w.Header().Set("Location", resp.URL)
		webkit.WriteJSON(w, http.StatusCreated, resp)
	default:
		webkit.WriteJSON(w, http.StatusOK, resp)
	}
}

// deliver stores (and if asked, renders and seals) a document for a back
// office; a repeated messageId with the same request answers as before, with
// another request it is a conflict.
func (s *service) deliver(ctx context.Context, clientID string, q DeliverRequest) (DeliverResponse, bool, error) {
	if errs := q.validate(); len(errs) > 0 {
		p := webkit.Invalid.With("the delivery has invalid members")
		p.Errors = errs
		return DeliverResponse{}, false, errProblem{p}
	}
	if int64(len(q.PDF)) > s.cfg.MaxPDFBytes {
		return DeliverResponse{}, false, errProblem{webkit.TooLarge.With(fmt.Sprintf("the PDF exceeds %d bytes", s.cfg.MaxPDFBytes))}
	}
	if len(q.PDF) > 0 && !bytes.HasPrefix(q.PDF, []byte("%PDF-")) {
		return DeliverResponse{}, false, errProblem{webkit.Unsupported.With("the document is not a PDF file (it must start with %PDF-)")}
	}
	canon, _ := json.Marshal(q)
	sum := sha256.Sum256(canon)
	reqHash := hex.EncodeToString(sum[:])
	if prev, err := s.store.ByMessage(ctx, clientID, q.MessageID); err == nil {
		return s.repeat(prev, reqHash)
	} else if !errors.Is(err, ErrNotFound) {
		return DeliverResponse{}, false, err
	}

	now := s.cfg.Now()
	id := q.UUID
	if id == "" {
		id = newID()
	}
	lang := "de"
	content, title, issuer := q.PDF, q.Title, q.Issuer
	sealIt := q.Seal
	if g := q.Generate; g != nil {
		if g.Lang != "" {
			lang = g.Lang
		}
		if issuer == "" {
			issuer = s.cfg.Issuer
		}
		var err error
		content, _, err = generateWohnsitz(lang, issuer, s.base+VerifyPath, g.Fields, now)
		if err != nil {
			return DeliverResponse{}, false, err
		}
		if len(title) == 0 {
			title = wohnsitzTitles()
		}
		sealIt = true
	}
	if sealIt {
		sealed, err := s.cfg.Sealer.Seal(ctx, content, s.appearance(lang, issuer))
		if err != nil {
			if errors.Is(err, seal.ErrNotPDF) {
				return DeliverResponse{}, false, errProblem{webkit.Unsupported.With("the PDF cannot be read for sealing: " + err.Error())}
			}
			return DeliverResponse{}, false, fmt.Errorf("seal: %w", err)
		}
		content = sealed
	}
	d := Document{
		ID: id, ClientID: clientID, MessageID: q.MessageID, RequestHash: reqHash, Owner: q.Owner,
		Service: q.Service, BusinessProcessID: q.BusinessProcessID, Reference: q.Reference, Title: title,
		Kind: q.DocumentKind, Issuer: issuer, Size: int64(len(content)), SHA256: sha256Hex(content), Sealed: sealIt,
		DeliveredAt: now,
	}
	if keep, ok := s.cfg.Retention[d.Kind]; ok && keep > 0 {
		until := now.Add(keep)
		d.ExpiresAt = &until
	}
	var note []byte
	if s.cfg.Notifier != nil {
		note, _ = json.Marshal(api.Notification{
			MessageID: d.ID, Kind: api.NotifyDocumentDelivered, Reference: d.Reference, Link: s.base + "/d/" + d.ID,
			Recipient: api.Recipient{Kind: d.Owner.Kind, Sub: d.Owner.Sub, ID: d.Owner.ID},
		})
	}
	stored, created, err := s.store.Insert(ctx, d, content, note)
	if errors.Is(err, ErrConflict) {
		return DeliverResponse{}, false, errProblem{webkit.Conflict.With("a document with this uuid exists")}
	}
	if err != nil {
		return DeliverResponse{}, false, err
	}
	if !created { // a concurrent delivery of the same message won
		return s.repeat(stored, reqHash)
	}
	s.log.InfoContext(ctx, "document delivered", "id", d.ID, "client_id", clientID, "kind", d.Kind, "sealed", d.Sealed, "bytes", d.Size)
	return s.response(stored), true, nil
}

// repeat answers a delivery whose messageId is known.
func (s *service) repeat(prev Document, reqHash string) (DeliverResponse, bool, error) {
	if prev.RequestHash != reqHash {
		return DeliverResponse{}, false, errProblem{webkit.Conflict.With("this messageId was delivered with another body")}
	}
	return s.response(prev), false, nil
}

func (s *service) response(d Document) DeliverResponse {
	return DeliverResponse{ID: d.ID, SHA256: d.SHA256, URL: s.base + "/d/" + d.ID}
}

// sealTexts are the texts of the visible seal per language.
var sealTexts = map[string][2]string{
	"de": {"Elektronisch gesiegelt", "Prüfen: "},
	"fr": {"Scellé électroniquement", "Vérifier : "},
	"it": {"Sigillato elettronicamente", "Verificare: "},
	"en": {"Electronically sealed", "Verify: "},
}

// appearance is the visible seal block in lang.
func (s *service) appearance(lang, issuer string) seal.Appearance {
	tx, ok := sealTexts[lang]
	if !ok {
		tx = sealTexts["de"]
	}
	link := s.base + VerifyPath
	return seal.Appearance{Title: tx[0], Lines: []string{issuer, tx[1] + link}, Link: link}
}

// sendNotification is the job that tells the owner through the IdP.
func (s *service) sendNotification(ctx context.Context, payload []byte) error {
	if s.cfg.Notifier == nil {
		return nil
	}
	var n api.Notification
	if err := json.Unmarshal(payload, &n); err != nil {
		return fmt.Errorf("notification payload: %w", err)
	}
	err := s.cfg.Notifier.Notify(ctx, n)
	if err != nil && !api.Retryable(err) {
		return fmt.Errorf("notification refused: %w", sqldb.Permanent(err))
	}
	return err
}

// DocumentView is the answer of GET /api/v1/documents/{id}.
type DocumentView struct {
	ID                string            `json:"id"`
	MessageID         string            `json:"messageId"`
	Owner             Owner             `json:"owner"`
	Service           string            `json:"service"`
	BusinessProcessID string            `json:"businessProcessId,omitempty"`
	Reference         string            `json:"reference,omitempty"`
	Title             map[string]string `json:"title"`
	DocumentKind      string            `json:"documentKind"`
	Issuer            string            `json:"issuer"`
	SHA256            string            `json:"sha256"`
	HashAlgorithm     string            `json:"hashAlgorithm"`
	Size              int64             `json:"size"`
	Sealed            bool              `json:"sealed"`
	DeliveredAt       time.Time         `json:"deliveredAt"`
	ReadAt            *time.Time        `json:"readAt,omitempty"`
	URL               string            `json:"url"`
}

// getAPI is GET /api/v1/documents/{id}: the metadata of a document the
// calling back office delivered (others are 404), including whether the
// owner has opened it.
func (s *service) getAPI(w http.ResponseWriter, r *http.Request) {
	caller, _ := api.CallerFrom(r.Context())
	d, err := s.store.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, ErrNotFound) || (err == nil && d.ClientID != caller.ClientID) {
		webkit.WriteProblem(w, r, webkit.NotFound.With("no document with this id was delivered by this client"))
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "document lookup failed", "error", err)
		webkit.WriteProblem(w, r, webkit.Internal)
		return
	}
	webkit.WriteJSON(w, http.StatusOK, DocumentView{ID: d.ID, MessageID: d.MessageID, Owner: d.Owner, Service: d.Service,
		BusinessProcessID: d.BusinessProcessID, Reference: d.Reference, Title: d.Title, DocumentKind: d.Kind, Issuer: d.Issuer,
		SHA256: d.SHA256, HashAlgorithm: "SHA-256", Size: d.Size, Sealed: d.Sealed, DeliveredAt: d.DeliveredAt, ReadAt: d.ReadAt,
		URL: s.base + "/d/" + d.ID})
}
