// Package plan owns what a deployment will do, as a value, whatever the
// platform kind.
//
// A platform (internal/platform/<kind>) renders or opens the desired state,
// observes the live state when asked, and calls New, which
//
//   - decides quick sync or pipeline with a human reason, following
//     PipeCD's planner rule by rule: first the rules every kind shares
//     (--strategy, no pipeline, alwaysUsePipeline, commitMatcher), then
//     the kind's own (Kind.Decide);
//   - lays out the stages that would run, with what gates them (analysis
//     checks, waits, approvals) and the least time they take;
//   - records the fingerprint of the head commit and the config.
//
// The platform then fills in the changes per object (added, changed,
// deleted), each with a diff text in which secret values are masked, and
// the fingerprint of its desired and live state (Digest,
// NewLiveFingerprint), so that a saved plan can be refused once they
// changed (Verify).
//
// A Plan marshals to versioned JSON (SchemaVersion), reads back with Decode
// and renders for people with WriteText. The Plan value itself is neutral to
// the platform: changes carry a key, an action and a diff text in a named
// language, and the platform's own facts go in Details.
//
// The package is pure: no I/O, no clock, no cluster. What the platform
// observed and the time come in through the input.
package plan
