package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// editFunc changes the note of one commit; it returns nil for no change.
type editFunc func(cur *note) (*note, error)

// writeNote applies edit to the note on commit key in app's notes ref and
// publishes the result (see publish).
func (s *GitStore) writeNote(ctx context.Context, app, key, msg string, edit editFunc) error {
	return s.publish(ctx, app, func(base plumbing.Hash) (plumbing.Hash, error) {
		return s.applyEdit(app, base, key, msg, edit)
	})
}

// publish moves app's notes ref to the commit build makes on top of its
// current value (see publishTo).
func (s *GitStore) publish(ctx context.Context, app string, build func(base plumbing.Hash) (plumbing.Hash, error)) error {
	ref, err := s.NotesRef(app)
	if err != nil {
		return err
	}
	return s.publishTo(ctx, notesTarget{
		ref: ref, app: app, what: fmt.Sprintf("records of app %q", app),
		refresh:   func(ctx context.Context) error { return s.refresh(ctx, app) },
		integrate: func(remote plumbing.Hash) error { return s.integrateRemote(app, ref, remote) },
		busyHint:  "other jobs are writing this app's records at a high rate; retry the command",
	}, build)
}

// notesTarget is a notes ref publishTo writes: the ref, how messages name
// its content, how it is first fetched and how a remote value that moved is
// merged into the local one.
type notesTarget struct {
	ref       plumbing.ReferenceName
	app       string // for notices; "" for refs of no app
	what      string
	refresh   func(ctx context.Context) error
	integrate func(remote plumbing.Hash) error
	busyHint  string
}

// publishTo moves t's ref to the commit build makes on top of its current
// value (build returns base for no change) and publishes it: a
// compare-and-swap push of the remote ref from the value last seen to the
// new commit. When the remote moved, the local ref is put back, the
// remote's notes are fetched and merged in, build is called again on top,
// and the push retried with jittered exponential backoff, at most
// MaxAttempts times.
func (s *GitStore) publishTo(ctx context.Context, t notesTarget, build func(base plumbing.Hash) (plumbing.Hash, error)) error {
	ref := t.ref
	if !s.fetched[ref] {
		if err := t.refresh(ctx); err != nil {
			return err
		}
	}
	tracking := trackingRef(s.opts.Remote, ref)
	for attempt := 1; ; attempt++ {
		before := s.ref(ref)
		tip, err := build(before)
		if err != nil {
			return err
		}
		if tip != before {
			if err := s.setRef(ref, before, tip); err != nil {
				return &Error{Op: "update " + ref.String(), Err: err}
			}
		}
		if !s.pushes() {
			return nil
		}
		expected := s.ref(tracking)
		err = s.casPush(ctx, ref, expected, tip)
		if err == nil {
			if !tip.IsZero() {
				_ = s.st.SetReference(plumbing.NewHashReference(tracking, tip))
			}
			if attempt > 1 {
				s.notice(LevelDebug, t.app, fmt.Sprintf("pushed %s after %d attempts", ref, attempt))
			}
			return nil
		}
		var conflict *conflictError
		if !errors.As(err, &conflict) {
			return err
		}
		// Another writer got there first: drop our commit, take theirs.
		if tip != before {
			if err := s.setRef(ref, tip, before); err != nil {
				return &Error{Op: "update " + ref.String(), Err: err}
			}
		}
		if attempt >= s.opts.MaxAttempts {
			return &Error{Op: "push " + t.what, Err: ErrConflict,
				Msg: fmt.Sprintf("%s changed under each of %d attempts", ref, attempt), Hint: t.busyHint}
		}
		s.notice(LevelInfo, t.app, fmt.Sprintf("%s was updated by another job; merging and retrying (attempt %d of %d)", ref, attempt+1, s.opts.MaxAttempts))
		if err := s.opts.Sleep(ctx, s.backoff(attempt)); err != nil {
			return err
		}
		remote, err := s.fetch(ctx, func(n plumbing.ReferenceName) bool { return n == ref })
		if err != nil {
			return err
		}
		if err := t.integrate(remote[ref]); err != nil {
			return err
		}
	}
}

// backoff is the wait before attempt+1: exponential from Backoff, capped at
// 3s, with full jitter so that writers that collided spread out.
func (s *GitStore) backoff(attempt int) time.Duration {
	d := s.opts.Backoff << min(attempt-1, 5)
	if d > 3*time.Second {
		d = 3 * time.Second
	}
	return d/2 + rand.N(d/2+1)
}

// applyEdit commits the edited note on top of base (zero: a new notes ref)
// and returns the new tip, or base when nothing changed.
func (s *GitStore) applyEdit(app string, base plumbing.Hash, key, msg string, edit editFunc) (plumbing.Hash, error) {
	ref, _ := s.NotesRef(app)
	nt := &notesTree{notes: map[string][]plumbing.Hash{}}
	baseTree := plumbing.ZeroHash
	if !base.IsZero() {
		c, err := s.commit(base)
		if err != nil {
			return plumbing.ZeroHash, &Error{Op: "write records of app " + app, Err: ErrCorruptRef,
				Msg:  fmt.Sprintf("%s points at %s, which is not a commit", ref, short(base)),
				Hint: fmt.Sprintf("inspect it (git cat-file -t %s) and move it aside (git update-ref -d %s); pipe does not overwrite it", ref, ref)}
		}
		baseTree = c.TreeHash
		t, err := readNotesTree(s.st, c.TreeHash, func(m string) { s.notice(LevelWarn, app, ref.String()+": "+m) })
		if err != nil {
			return plumbing.ZeroHash, &Error{Op: "write records of app " + app, Err: fmt.Errorf("%w: %w", ErrCorruptRef, err)}
		}
		nt = t
	}
	cur := &note{}
	if blobs := nt.notes[key]; len(blobs) > 0 {
		n, err := s.readNote(app, key, blobs, func(m string) { s.notice(LevelWarn, app, ref.String()+": note on "+key+": "+m) })
		if err != nil {
			return plumbing.ZeroHash, err
		}
		cur = n
	}
	flat, err := s.flatten(app, nt)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	next, err := edit(cur)
	if err != nil || next == nil {
		return base, err
	}
	data, err := next.encode()
	if err != nil {
		return plumbing.ZeroHash, s.sizeError("write records", app, fmt.Errorf("%s: %w", s.noteName(app, key), err))
	}
	blob, err := s.writeBlob(data)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	flat[key] = blob
	tree, err := writeNotesTree(s.st, flat, nt.nonNotes)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if tree == baseTree {
		return base, nil
	}
	return s.storeCommit(tree, msg, base)
}

// flatten maps each noted object to one blob. An object noted at two
// fan-out depths (which git reads as the concatenation of both) gets one
// note holding the records of both.
func (s *GitStore) flatten(app string, nt *notesTree) (map[string]plumbing.Hash, error) {
	out := make(map[string]plumbing.Hash, len(nt.notes))
	for k, bs := range nt.notes {
		if len(bs) == 1 {
			out[k] = bs[0]
			continue
		}
		n, err := s.readNote(app, k, bs, func(string) {})
		if err != nil {
			return nil, err
		}
		data, err := n.encode()
		if err != nil {
			return nil, s.sizeError("write records", app, fmt.Errorf("%s: %w", s.noteName(app, k), err))
		}
		if out[k], err = s.writeBlob(data); err != nil {
			return nil, err
		}
		s.notice(LevelInfo, app, fmt.Sprintf("note on %s was stored twice (two fan-out depths); joined into one", k))
	}
	return out, nil
}

// storeCommit writes a commit of tree with the given parents.
func (s *GitStore) storeCommit(tree plumbing.Hash, msg string, parents ...plumbing.Hash) (plumbing.Hash, error) {
	var ps []plumbing.Hash
	for _, p := range parents {
		if !p.IsZero() {
			ps = append(ps, p)
		}
	}
	sig := object.Signature{Name: s.opts.Committer.Name, Email: s.opts.Committer.Email, When: s.opts.Now()}
	return storeObject(s.st, &object.Commit{Author: sig, Committer: sig, Message: string(s.mask([]byte(msg))), TreeHash: tree, ParentHashes: ps})
}

// writeBlob stores the content of a note or a lock, masked (Options.Mask).
func (s *GitStore) writeBlob(data []byte) (plumbing.Hash, error) {
	return storeBlob(s.st, s.mask(data))
}

// mask applies Options.Mask.
func (s *GitStore) mask(data []byte) []byte {
	if s.opts.Mask == nil {
		return data
	}
	return s.opts.Mask(data)
}

// masked returns r as it is stored: with Options.Mask applied (r itself
// when that changes nothing), so that a written record compares equal to
// what a read gives back.
func (s *GitStore) masked(r *Record) *Record {
	if s.opts.Mask == nil {
		return r
	}
	c := r.Clone()
	c.edited = true // rendered from its fields, not as it was read
	data, err := encodeRecord(c)
	if err != nil {
		return r
	}
	m := s.opts.Mask(data)
	if bytes.Equal(m, data) {
		return r
	}
	mr, ok := decodeRecordJSON(m)
	if !ok {
		return r
	}
	return mr
}
