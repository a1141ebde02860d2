package web_test

import (
	"testing"

	"github.com/kanton/kundencenter/idp/idptest"
)

// TestMain silences the OIDC library's request logging unless -v.
func TestMain(m *testing.M) { idptest.Main(m) }
