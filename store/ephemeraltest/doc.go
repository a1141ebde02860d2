// Package ephemeraltest is the conformance suite for idp.Ephemeral: every
// adapter (store/memory, store/redis) runs Run from its own tests, and Bench
// from its benchmarks, so that they all keep the same contract.
//
// It holds no implementation and no fakes of its own; it only drives the
// store it is given.
package ephemeraltest
