// Package source owns pipe's view of the Git repository: opening the clone
// pipe runs in, resolving revisions (branches, tags, hashes, HEAD~n,
// origin/main) to commits, the commit metadata, merge bases for pull-request
// plans, the files that differ between two commits' trees and, from those,
// which applications a change touches under PipeCD's trigger.onCommit rules.
//
// All Git access goes through go-git; pipe never runs the git binary (tests
// and benchmarks use it only as the reference to compare with). Commits and
// trees are read from memory-mapped pack files with go-git's delta plumbing
// (packs.go), go-git's storage reading references and everything else.
// Comparing two revisions walks only the parts of their trees that differ, so
// its cost follows the size of the change, not the size of the repository or
// the number of commits between the revisions.
package source
