// Package jsrp holds a test only: an independent, strict OpenID Connect
// relying party written with the npm package openid-client (testdata/,
// installed by `npm ci` in scripts/test) is run against the provider, so
// that protocol regressions a standard client would trip on cannot land.
package jsrp
