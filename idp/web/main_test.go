package web_test

import (
	"flag"
	"io"
	"log/slog"
	"os"
	"testing"
)

// TestMain silences the OIDC library's request logging unless -v.
func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	os.Exit(m.Run())
}
