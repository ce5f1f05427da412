// Package plan owns deciding what a deployment will do, as a value.
//
// Given an application's config, its desired state at the head commit, the
// desired state of its last successful deployment and, optionally, the live
// state observed in the platform, it
//
//   - decides quick sync or pipeline with a human reason, following
//     PipeCD's planner rule by rule (see PlanKubernetes);
//   - lists the changes per object (added, changed, deleted), each with a
//     unified diff of its normalised YAML in which Secret values are masked;
//   - lays out the stages that would run, with what gates them (analysis
//     checks, waits, approvals) and the least time they take;
//   - records a fingerprint of its inputs (head commit, config, rendered and
//     live objects) so a saved plan can be refused once they changed.
//
// A Plan marshals to versioned JSON (SchemaVersion), reads back with Decode
// and renders for people with WriteText. The Plan value itself is neutral to
// the platform: changes carry a key, an action and a diff text in a named
// language, so Terraform or Lambda plans fit the same value.
//
// The package is pure: no I/O, no clock, no cluster. The live state comes in
// as data (see Live and NewLive); the time comes in through the input.
package plan
