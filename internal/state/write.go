package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// editFunc changes the note of one commit; it returns nil for no change.
type editFunc func(cur *note) (*note, error)

// writeNote applies edit to the note on commit key in app's notes ref and
// publishes the result: a compare-and-swap push of the remote ref from the
// value last seen to the new commit. When the remote moved, the local ref
// is put back, the remote's records are fetched and merged in, the edit is
// applied again on top, and the push retried with jittered exponential
// backoff, at most MaxAttempts times.
func (s *GitStore) writeNote(ctx context.Context, app, key, msg string, edit editFunc) error {
	ref, err := NotesRef(app)
	if err != nil {
		return err
	}
	if !s.fetched[ref] {
		if err := s.refresh(ctx, app); err != nil {
			return err
		}
	}
	tracking := trackingRef(s.opts.Remote, ref)
	for attempt := 1; ; attempt++ {
		before := s.ref(ref)
		tip, err := s.applyEdit(app, before, key, msg, edit)
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
				s.notice(LevelDebug, app, fmt.Sprintf("pushed %s after %d attempts", ref, attempt))
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
			return &Error{Op: fmt.Sprintf("push records of app %q", app), Err: ErrConflict,
				Msg:  fmt.Sprintf("%s changed under each of %d attempts", ref, attempt),
				Hint: "other jobs are writing this app's records at a high rate; retry the command"}
		}
		s.notice(LevelInfo, app, fmt.Sprintf("%s was updated by another job; merging and retrying (attempt %d of %d)", ref, attempt+1, s.opts.MaxAttempts))
		if err := s.opts.Sleep(ctx, s.backoff(attempt)); err != nil {
			return err
		}
		remote, err := s.fetch(ctx, func(n plumbing.ReferenceName) bool { return n == ref })
		if err != nil {
			return err
		}
		if err := s.integrateRemote(app, ref, remote[ref]); err != nil {
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
	ref, _ := NotesRef(app)
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
		n, err := s.readNote(blobs, func(m string) { s.notice(LevelWarn, app, ref.String()+": note on "+key+": "+m) })
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
		return plumbing.ZeroHash, err
	}
	blob, err := storeBlob(s.st, data)
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
		n, err := s.readNote(bs, func(string) {})
		if err != nil {
			return nil, err
		}
		data, err := n.encode()
		if err != nil {
			return nil, err
		}
		if out[k], err = storeBlob(s.st, data); err != nil {
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
	return storeObject(s.st, &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: tree, ParentHashes: ps})
}

// integrateRemote brings the remote's value of a notes ref into the local
// ref: adopt it when the local ref is absent or behind, keep the local one
// when it is ahead, merge the two trees when they diverged.
func (s *GitStore) integrateRemote(app string, ref plumbing.ReferenceName, remote plumbing.Hash) error {
	local := s.ref(ref)
	switch {
	case remote.IsZero() || remote == local:
		return nil
	case local.IsZero() || s.isAncestor(local, remote):
		return s.setRef(ref, local, remote)
	case s.isAncestor(remote, local):
		return nil
	}
	merged, err := s.mergeCommits(app, remote, local)
	if err != nil {
		return err
	}
	s.notice(LevelDebug, app, fmt.Sprintf("merged local and remote %s", ref))
	return s.setRef(ref, local, merged)
}

// isAncestor reports whether a is b or one of b's recent ancestors (a
// bounded walk: an older common history is merged instead, which is
// harmless since merging is a union).
func (s *GitStore) isAncestor(a, b plumbing.Hash) bool {
	seen := map[plumbing.Hash]bool{}
	s.markAncestors(b, seen)
	return seen[a]
}

// mergeCommits merges the notes trees of two commits into a merge commit
// whose first parent is the remote's.
func (s *GitStore) mergeCommits(app string, remote, local plumbing.Hash) (plumbing.Hash, error) {
	ref, _ := NotesRef(app)
	warn := func(m string) { s.notice(LevelWarn, app, ref.String()+": "+m) }
	rt, ok1 := s.notesTreeAt(remote, ref, warn)
	lt, ok2 := s.notesTreeAt(local, ref, warn)
	switch {
	case !ok1 && !ok2:
		return plumbing.ZeroHash, &Error{Op: "merge records of app " + app, Err: ErrCorruptRef}
	case !ok2:
		return remote, nil
	case !ok1:
		return plumbing.ZeroHash, &Error{Op: "merge records of app " + app, Err: ErrCorruptRef,
			Msg: "the remote " + ref.String() + " is not a notes commit"}
	}
	tree, err := s.mergeTrees(app, rt, lt)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return s.storeCommit(tree, fmt.Sprintf("pipe: merge concurrent records of app %s", app), remote, local)
}

// mergeTrees unions two notes trees; notes on the same commit that differ
// are merged record by record (mergeNotes).
func (s *GitStore) mergeTrees(app string, a, b *notesTree) (plumbing.Hash, error) {
	out, err := s.flatten(app, a)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	for key, bb := range b.notes {
		ab, ok := a.notes[key]
		if ok && len(ab) == 1 && len(bb) == 1 && ab[0] == bb[0] {
			continue
		}
		if !ok && len(bb) == 1 {
			out[key] = bb[0]
			continue
		}
		noop := func(string) {}
		na, err := s.readNote(ab, noop)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		nb, err := s.readNote(bb, noop)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		m, _ := mergeNotes(na, nb)
		data, err := m.encode()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if out[key], err = storeBlob(s.st, data); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	nonNotes := append([]nonNote(nil), a.nonNotes...)
	for _, nn := range b.nonNotes {
		dup := false
		for _, x := range a.nonNotes {
			if x.path == nn.path && x.hash == nn.hash {
				dup = true
			}
		}
		if !dup {
			nonNotes = append(nonNotes, nn)
		}
	}
	return writeNotesTree(s.st, out, nonNotes)
}

// Begin implements Store.
func (s *GitStore) Begin(ctx context.Context, rec *Record) error {
	if rec.Status == "" {
		rec.Status = StatusPlanned
	}
	if rec.Status != StatusPlanned && rec.Status != StatusRunning {
		return fmt.Errorf("begin record of app %q: status %s, want PLANNED or RUNNING", rec.App, rec.Status)
	}
	now := s.opts.Now().UTC()
	if rec.ID == "" {
		rec.ID = NewID(now)
	}
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = now
	}
	rec.SchemaVersion = SchemaVersion
	rec.Revision = 1
	return s.put(ctx, rec, now, true)
}

// Update implements Store.
func (s *GitStore) Update(ctx context.Context, rec *Record) error {
	if rec.ID == "" {
		return fmt.Errorf("update record of app %q: no id (call Begin first)", rec.App)
	}
	if rec.FutureSchema {
		return &Error{Op: "update record " + rec.ID, Err: ErrFutureSchema,
			Msg: fmt.Sprintf("schemaVersion %d", rec.SchemaVersion), Hint: "upgrade pipe to write this record"}
	}
	rec.SchemaVersion = SchemaVersion
	rec.Revision++
	return s.put(ctx, rec, s.opts.Now().UTC(), false)
}

// put writes rec into the note of its target commit, replacing the version
// there unless that version is newer (Winner).
func (s *GitStore) put(ctx context.Context, rec *Record, now time.Time, create bool) error {
	if err := validateForWrite(rec); err != nil {
		return err
	}
	rec.UpdatedAt = now
	stored := rec.Clone()
	stored.edited = true
	key := strings.ToLower(rec.Target.Hash)
	msg := fmt.Sprintf("pipe: %s %s %s\n\nrecord %s, revision %d", rec.App, rec.Status, short(plumbing.NewHash(key)), rec.ID, rec.Revision)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeNote(ctx, rec.App, key, msg, func(cur *note) (*note, error) {
		next := &note{junk: cur.junk}
		found := false
		for _, r := range cur.records {
			if r.ID != stored.ID {
				next.records = append(next.records, r)
				continue
			}
			found = true
			if sameRecord(r, stored) {
				return nil, nil // already there: a retried write whose push had landed
			}
			if create {
				return nil, fmt.Errorf("begin record %s: a record with this id exists", r.ID)
			}
			if Winner(r, stored) == r {
				return nil, &Error{Op: fmt.Sprintf("update record %s of app %q", r.ID, r.App), Err: ErrConflict,
					Msg:  fmt.Sprintf("another writer stored a newer version (revision %d, %s)", r.Revision, r.Status),
					Hint: "two processes are writing the same deployment: check that each holds the app's lock"}
			}
			next.records = append(next.records, mergeRecord(r, stored))
		}
		if !found {
			next.records = append(next.records, stored)
		}
		return next, nil
	})
}

// sameRecord reports whether two records have the same content.
func sameRecord(a, b *Record) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

func validateForWrite(r *Record) error {
	switch {
	case r.App == "":
		return errors.New("record has no app")
	case len(r.Target.Hash) != 40 || !isHex(strings.ToLower(r.Target.Hash)):
		return fmt.Errorf("record %s of app %q: target commit %q is not a 40-hex hash", r.ID, r.App, r.Target.Hash)
	case !r.Status.Known():
		return fmt.Errorf("record %s of app %q: unknown status %q", r.ID, r.App, r.Status)
	}
	for _, st := range r.Stages {
		if !st.Status.Known() {
			return fmt.Errorf("record %s of app %q: stage %s has unknown status %q", r.ID, r.App, st.ID, st.Status)
		}
	}
	return nil
}

// addEvent appends an audit event to a record, wherever its note is.
func (s *GitStore) addEvent(ctx context.Context, app, id string, ev Event) error {
	a, err := s.readApp(app)
	if err != nil {
		return err
	}
	var target *Record
	for _, r := range a.records {
		if r.ID == id {
			target = r
		}
	}
	if target == nil {
		return &Error{Op: fmt.Sprintf("record %s of app %q", id, app), Err: ErrNotFound}
	}
	key := strings.ToLower(target.Target.Hash)
	msg := fmt.Sprintf("pipe: %s %s on record %s", app, ev.Kind, id)
	return s.writeNote(ctx, app, key, msg, func(cur *note) (*note, error) {
		next := &note{junk: cur.junk}
		changed := false
		for _, r := range cur.records {
			if r.ID == id {
				c := r.Clone()
				c.Events = unionEvents(c.Events, []Event{ev})
				c.edited = true
				r = c
				changed = true
			}
			next.records = append(next.records, r)
		}
		if !changed {
			return nil, nil
		}
		return next, nil
	})
}
