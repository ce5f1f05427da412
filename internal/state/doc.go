// Package state owns pipe's system of record: deployment records, their
// history and the per-application deployment lock, all kept in the Git
// repository itself (there is no database).
//
// Records are Git notes. Each application has its own notes ref,
// <NotesRef>/apps/<app> (refs/notes/pipe/apps/<app> with the default
// [Options].NotesRef), whose notes are attached to the commits that
// were deployed; a note holds one JSON object per line, one per deployment of
// that commit (JSON Lines, so `git notes show` prints it readably and `git
// notes append` from a person or a script cannot corrupt it). Reading an
// application's history or its last successful deployment therefore reads one
// notes tree: its cost follows the number of that application's records, not
// the repository's history nor the other applications' records.
//
// Writes are compare-and-swap updates of the remote ref: a rejected update is
// fetched, merged (records are a union; the same record changed on both sides
// is resolved by [Winner]) and retried with jittered backoff, a bounded number
// of times. The lock is a ref refs/pipe/locks/<app> created, renewed and
// deleted by compare-and-swap on the remote, with a lease that a later
// deployment may take over once it has expired.
//
// The package never reads the environment, the clock, flags or stdout: the
// caller passes [Options] (clock, remote, [Credentials], event callback).
// See docs/state.md for the record schema, the ref layout and how to read
// records with plain git.
package state
