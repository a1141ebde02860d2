package provider_test

import (
	"errors"
	"testing"

	"github.com/kanton/kundencenter/idp/idptest"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// TestMain silences the OIDC library's request logging (it logs through the
// default slog logger) unless the tests run with -v.
func TestMain(m *testing.M) { idptest.Main(m) }
