package provider_test

import (
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"testing"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// TestMain silences the OIDC library's request logging (it logs through the
// default slog logger) unless the tests run with -v.
func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	os.Exit(m.Run())
}
