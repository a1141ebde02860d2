package idptest

import (
	"github.com/kanton/kundencenter/connectors"
	"github.com/kanton/kundencenter/connectors/oidc"
	"github.com/kanton/kundencenter/connectors/swissid"
	"github.com/kanton/kundencenter/idp/web"
)

// federation builds the upstream logins of o.Connectors, as cmd does.
func federation(o Options, issuer string) (*web.Federation, error) {
	if len(o.Connectors) == 0 {
		return nil, nil
	}
	var cs []connectors.Connector
	opts := map[string]web.ConnectorOptions{}
	for _, cfg := range o.Connectors {
		if cfg.RedirectURL == "" {
			cfg.RedirectURL = issuer + web.CallbackPath
		}
		var (
			c   connectors.Connector
			err error
		)
		switch cfg.Type {
		case connectors.TypeSwissID:
			c, err = swissid.New(cfg, nil)
		default:
			c, err = oidc.New(cfg, oidc.Options{})
		}
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
		co := o.ConnectorOptions[cfg.ID]
		if co.Type == "" {
			co.Type = cfg.Type
		}
		opts[cfg.ID] = co
	}
	reg, err := connectors.NewRegistry(cs...)
	if err != nil {
		return nil, err
	}
	return &web.Federation{Flow: &connectors.Flow{Connectors: reg, Ephemeral: o.Eph, Now: o.Now}, Options: opts}, nil
}
