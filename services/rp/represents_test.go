package rp

import (
	"testing"
)

func TestRepresentsClaim(t *testing.T) {
	tests := []struct {
		name      string
		claims    map[string]any
		wantKind  string
		wantOwner string
	}{
		{name: "none", claims: map[string]any{}, wantKind: ActingPerson, wantOwner: "me"},
		{name: "organisation", claims: map[string]any{"represents": map[string]any{
			"kind": "organisation", "id": "org-1", "name": "Muster AG", "roles": []any{"member"}}},
			wantKind: ActingOrganisation, wantOwner: "org-1"},
		{name: "person", claims: map[string]any{"represents": map[string]any{
			"kind": "person", "sub": "p-1", "name": "Paula"}}, wantKind: ActingPerson, wantOwner: "p-1"},
		{name: "organisation without id is ignored", claims: map[string]any{"represents": map[string]any{
			"kind": "organisation", "name": "X"}}, wantKind: ActingPerson, wantOwner: "me"},
		{name: "unknown kind is ignored", claims: map[string]any{"represents": map[string]any{
			"kind": "robot", "id": "r", "sub": "r"}}, wantKind: ActingPerson, wantOwner: "me"},
		{name: "not an object", claims: map[string]any{"represents": "org-1"}, wantKind: ActingPerson, wantOwner: "me"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Session{Subject: "me", Acting: representsClaim(tt.claims)}
			kind, owner := s.Owner()
			if kind != tt.wantKind || owner != tt.wantOwner {
				t.Errorf("Owner() = %q, %q; want %q, %q", kind, owner, tt.wantKind, tt.wantOwner)
			}
		})
	}
}
