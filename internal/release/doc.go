// Package release holds the release-artifact conventions of pipe: how the
// archives and the checksums file published for a version are named, and in
// which format each platform's archive comes.
//
// These names are public API. install.sh downloads artifacts by them, users'
// scripts and mirrors depend on them, and goreleaser.yaml produces them. The
// tests in this package parse goreleaser.yaml and check its name templates
// against the helpers here, and run install.sh end to end against a local
// HTTP server serving artifacts named by these helpers, so that the three
// cannot drift apart.
package release
