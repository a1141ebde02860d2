package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/portal"
	"github.com/kanton/kundencenter/templates"

	"github.com/kanton/kundencenter/idp/web/kit"
)

// overviewView is page "overview" ("Übersicht"): one box per service
// (open cases, new documents, drafts about to expire), fetched from the
// services with a short timeout, plus what waits at the IdP itself.
type overviewView struct {
	templates.Page
	Boxes       []overviewBox
	Invitations []overviewItem // organisation invitations to answer
	RepRequests []overviewItem // representations accepted by the representative, waiting for my confirmation
}

type overviewBox struct {
	Kind      string // status, documents, forms
	TitleKey  string // message key of the box title
	EmptyKey  string // message key when Count is 0
	Available bool
	Count     int
	Items     []overviewItem
	URL       string // the service's start page
}

type overviewItem struct {
	Title, Detail, URL string
	Date               time.Time
}

// overview shows the Übersicht for the logged-in person.
func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.Session(r)
	if !ok {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(templates.PathOverview), http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	v := &overviewView{}
	if s := h.Cfg.Portal.Summaries; s != nil {
		for _, b := range s.Fetch(ctx, sess.AccountID) {
			v.Boxes = append(v.Boxes, overviewBoxOf(b))
		}
	}
	if o := h.Cfg.Orgs; o != nil {
		if invs, err := o.MyInvitations(ctx, sess.AccountID); err == nil {
			for _, i := range invs {
				v.Invitations = append(v.Invitations, overviewItem{Title: i.Org.Name, URL: "/orgs", Date: i.Invitation.ExpiresAt})
			}
		} else {
			h.Log.WarnContext(ctx, "overview: invitations", "err", err, "request_id", kit.RequestID(ctx))
		}
		if reps, err := o.MyRepresentations(ctx, sess.AccountID); err == nil {
			for _, x := range reps {
				if x.AsPrincipal && x.State == delegation.RepAccepted {
					v.RepRequests = append(v.RepRequests, overviewItem{Title: x.OtherName,
						URL: "/representations/" + url.PathEscape(x.Representation.ID)})
				}
			}
		} else {
			h.Log.WarnContext(ctx, "overview: representations", "err", err, "request_id", kit.RequestID(ctx))
		}
	}
	h.Render(w, r, http.StatusOK, "overview", h.Lang(w, r), v)
}

func overviewBoxOf(b portal.Box) overviewBox {
	ob := overviewBox{Kind: b.Service.Kind, TitleKey: "overview." + b.Service.Kind, EmptyKey: "overview." + b.Service.Kind + "_empty",
		Available: b.Available, Count: b.Count, URL: b.Service.BaseURL + "/"}
	for _, it := range b.Items {
		detail := it.Reference
		if it.Status != "" {
			if detail != "" {
				detail += " · "
			}
			detail += it.Status
		}
		ob.Items = append(ob.Items, overviewItem{Title: it.Title, Detail: detail, URL: it.URL, Date: it.Date})
	}
	return ob
}
