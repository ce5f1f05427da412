package state

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// remoteAncestorWindow is how many ancestors of the remote tip are taken as
// known to the remote when collecting the objects of a push. Commits past it
// are sent again (harmless: the server keeps one copy); it only bounds the
// walk when local commits diverged from the remote long ago.
const remoteAncestorWindow = 256

// objectsToPush lists the objects the remote needs to take next when its
// ref is at remoteTip and it also has the commits in also (another branch's
// tip, say): the commits reachable from next that are not those or their
// recent ancestors, and the trees and blobs of those commits that differ
// from their known parent's tree (else remoteTip's). Its cost follows what
// changed, not the size of the tree nor the repository's history.
func (s *GitStore) objectsToPush(next, remoteTip plumbing.Hash, also ...plumbing.Hash) ([]plumbing.Hash, error) {
	known := map[plumbing.Hash]bool{}
	baseTree := plumbing.ZeroHash
	for i, tip := range append([]plumbing.Hash{remoteTip}, also...) {
		if tip.IsZero() {
			continue
		}
		if c, err := s.commit(tip); err == nil {
			if i == 0 {
				baseTree = c.TreeHash
			}
			s.markAncestors(tip, known)
		}
	}
	out := map[plumbing.Hash]bool{}
	queue := []plumbing.Hash{next}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		if known[h] || out[h] {
			continue
		}
		c, err := s.commit(h)
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", h, err)
		}
		out[h] = true
		base := baseTree
		if len(c.ParentHashes) > 0 && known[c.ParentHashes[0]] {
			if p, err := s.commit(c.ParentHashes[0]); err == nil {
				base = p.TreeHash
			}
		}
		if err := s.treeDiffObjects(c.TreeHash, base, out); err != nil {
			return nil, err
		}
		queue = append(queue, c.ParentHashes...)
	}
	hs := make([]plumbing.Hash, 0, len(out))
	for h := range out {
		hs = append(hs, h)
	}
	return hs, nil
}

// markAncestors marks tip and up to remoteAncestorWindow of its ancestors
// (each tip has its own budget).
func (s *GitStore) markAncestors(tip plumbing.Hash, known map[plumbing.Hash]bool) {
	queue := []plumbing.Hash{tip}
	for marked := 0; len(queue) > 0 && marked < remoteAncestorWindow; {
		h := queue[0]
		queue = queue[1:]
		if known[h] {
			continue
		}
		known[h] = true
		marked++
		c, err := s.commit(h)
		if err != nil {
			continue
		}
		queue = append(queue, c.ParentHashes...)
	}
}

// treeDiffObjects adds tree and every object under it that base (the same
// path in the remote's tree; zero for none) does not have at that path.
func (s *GitStore) treeDiffObjects(tree, base plumbing.Hash, out map[plumbing.Hash]bool) error {
	if tree == base || out[tree] {
		return nil
	}
	t, err := object.GetTree(s.st, tree)
	if err != nil {
		return fmt.Errorf("tree %s: %w", tree, err)
	}
	out[tree] = true
	var baseEntries map[string]object.TreeEntry
	if !base.IsZero() {
		if bt, err := object.GetTree(s.st, base); err == nil {
			baseEntries = make(map[string]object.TreeEntry, len(bt.Entries))
			for _, e := range bt.Entries {
				baseEntries[e.Name] = e
			}
		}
	}
	for _, e := range t.Entries {
		be, inBase := baseEntries[e.Name]
		if inBase && be.Hash == e.Hash {
			continue
		}
		switch {
		case e.Mode == filemode.Dir:
			sub := plumbing.ZeroHash
			if inBase && be.Mode == filemode.Dir {
				sub = be.Hash
			}
			if err := s.treeDiffObjects(e.Hash, sub, out); err != nil {
				return err
			}
		case e.Mode == filemode.Submodule:
			// a gitlink names a commit of another repository: nothing to send
		default:
			out[e.Hash] = true
		}
	}
	return nil
}
