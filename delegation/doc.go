// Package delegation will answer one question: may actor A act as subject
// S at service X, with which roles? It will own organisations, memberships,
// invitations, representations and service assignments. Nothing is
// implemented yet; see the open issues on organisations and representation.
package delegation
