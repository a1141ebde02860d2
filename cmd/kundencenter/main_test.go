package main

import (
	"os"
	"testing"
)

// TestMain gives the embedded status service (serve) a notification window
// of 1 s instead of 5 s, unless KC_STATUS_NOTIFY_WINDOW is set: the story
// walks wait for the status e-mail, and how a window gathers changes is
// tested in services/status.
func TestMain(m *testing.M) {
	if _, ok := os.LookupEnv("KC_STATUS_NOTIFY_WINDOW"); !ok {
		_ = os.Setenv("KC_STATUS_NOTIFY_WINDOW", "1s")
	}
	os.Exit(m.Run())
}
