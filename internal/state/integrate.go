package state

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
)

// integrateRemote brings the remote's value of a notes ref into the local
// ref: adopt it when the local ref is absent or behind, keep the local one
// when it is ahead, merge the two trees when they diverged.
func (s *GitStore) integrateRemote(app string, ref plumbing.ReferenceName, remote plumbing.Hash) error {
	return s.integrate(app, ref, remote, func(remote, local plumbing.Hash) (plumbing.Hash, error) {
		return s.mergeCommits(app, remote, local)
	})
}

// integrate is integrateRemote with the merge of diverged commits given.
func (s *GitStore) integrate(app string, ref plumbing.ReferenceName, remote plumbing.Hash, merge func(remote, local plumbing.Hash) (plumbing.Hash, error)) error {
	local := s.ref(ref)
	switch {
	case remote.IsZero() || remote == local:
		return nil
	case local.IsZero() || s.isAncestor(local, remote):
		return s.setRef(ref, local, remote)
	case s.isAncestor(remote, local):
		return nil
	}
	merged, err := merge(remote, local)
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
	ref, _ := s.NotesRef(app)
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
	if rc, err := s.commit(remote); err == nil && rc.TreeHash == tree {
		return remote, nil // local adds nothing (an old local ref): take the remote's
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
		na, err := s.readNote(app, key, ab, noop)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		nb, err := s.readNote(app, key, bb, noop)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		m, _ := mergeNotes(na, nb)
		data, err := m.encode()
		if err != nil {
			return plumbing.ZeroHash, s.sizeError("merge records", app, fmt.Errorf("%s: %w", s.noteName(app, key), err))
		}
		if out[key], err = s.writeBlob(data); err != nil {
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
