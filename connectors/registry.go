package connectors

import "fmt"

// Registry is the set of configured connectors, in configuration order
// (the order of the buttons on the login page).
type Registry struct {
	list []Connector
	byID map[string]Connector
}

// NewRegistry returns a registry of the given connectors; their IDs must be
// unique.
func NewRegistry(cs ...Connector) (*Registry, error) {
	r := &Registry{byID: make(map[string]Connector, len(cs))}
	for _, c := range cs {
		if _, dup := r.byID[c.ID()]; dup {
			return nil, fmt.Errorf("connectors: ID %q configured twice", c.ID())
		}
		r.byID[c.ID()] = c
		r.list = append(r.list, c)
	}
	return r, nil
}

// Get returns the connector with this ID.
func (r *Registry) Get(id string) (Connector, bool) {
	if r == nil {
		return nil, false
	}
	c, ok := r.byID[id]
	return c, ok
}

// All returns the connectors in configuration order.
func (r *Registry) All() []Connector {
	if r == nil {
		return nil
	}
	return append([]Connector(nil), r.list...)
}
