// Package faults is the failure suite: its tests run IdP instances on
// private PostgreSQL and Redis servers (testenv/servers) and break them —
// Redis killed, flushed and restarted from its snapshot, PostgreSQL stopped
// at once and restarted, an instance shut down — under a bounded load, and
// assert what must survive: no refresh family burned by a transient
// failure, nothing revoked comes back, no accepted write lost, and a
// multi-store change (password reset) completes everywhere. Each fault's
// error rate is reported with t.Log.
//
// Run it with one command (CI runs it too, in about a minute):
//
//	scripts/failure-suite        # go test -count=1 ./faults/ -v
//
// It holds no production code.
package faults
