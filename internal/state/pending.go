package state

import (
	"fmt"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/memory"
)

// The objects of branch commits (CommitFiles) are kept in memory until the
// commit is pushed, then written to the repository as one pack: the event
// watcher makes a commit per event, each with a blob and the trees above
// it, and writing each as a loose object cost a file per object (about 5
// ms per commit here). A dry run writes nothing at all.

// pending is a repository's objects not yet written.
type pending struct {
	mu  sync.Mutex
	mem *memory.ObjectStorage
}

// overlay reads the pending objects, then the repository's.
type overlay struct {
	p    *pending
	base storer.EncodedObjectStorer
}

var _ storer.EncodedObjectStorer = overlay{}

func (s *GitStore) objects() overlay {
	s.pend.mu.Lock()
	if s.pend.mem == nil {
		s.pend.mem = &memory.NewStorage().ObjectStorage
	}
	s.pend.mu.Unlock()
	return overlay{p: &s.pend, base: s.st}
}

func (o overlay) NewEncodedObject() plumbing.EncodedObject { return &plumbing.MemoryObject{} }

func (o overlay) SetEncodedObject(obj plumbing.EncodedObject) (plumbing.Hash, error) {
	o.p.mu.Lock()
	defer o.p.mu.Unlock()
	return o.p.mem.SetEncodedObject(obj)
}

func (o overlay) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	o.p.mu.Lock()
	obj, err := o.p.mem.EncodedObject(t, h)
	o.p.mu.Unlock()
	if err == nil {
		return obj, nil
	}
	return o.base.EncodedObject(t, h)
}

func (o overlay) IterEncodedObjects(t plumbing.ObjectType) (storer.EncodedObjectIter, error) {
	return o.base.IterEncodedObjects(t)
}

func (o overlay) HasEncodedObject(h plumbing.Hash) error {
	o.p.mu.Lock()
	err := o.p.mem.HasEncodedObject(h)
	o.p.mu.Unlock()
	if err == nil {
		return nil
	}
	return o.base.HasEncodedObject(h)
}

func (o overlay) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	o.p.mu.Lock()
	n, err := o.p.mem.EncodedObjectSize(h)
	o.p.mu.Unlock()
	if err == nil {
		return n, nil
	}
	return o.base.EncodedObjectSize(h)
}

func (o overlay) AddAlternate(string) error {
	return fmt.Errorf("alternates are not supported")
}

// flushPending writes the pending objects to the repository as one pack.
func (s *GitStore) flushPending() error {
	s.pend.mu.Lock()
	defer s.pend.mu.Unlock()
	if s.pend.mem == nil || len(s.pend.mem.Objects) == 0 {
		return nil
	}
	hashes := make([]plumbing.Hash, 0, len(s.pend.mem.Objects))
	for h := range s.pend.mem.Objects {
		if s.st.HasEncodedObject(h) != nil {
			hashes = append(hashes, h)
		}
	}
	if len(hashes) > 0 {
		w, err := s.st.PackfileWriter()
		if err != nil {
			return &Error{Op: "write objects", Err: err}
		}
		// No delta search: the pack is local and short-lived (git's next gc
		// repacks it); the push computes its own deltas.
		if _, err := packfile.NewEncoder(w, s.pend.mem, false).Encode(hashes, 0); err != nil {
			_ = w.Close()
			return &Error{Op: "write objects", Err: err}
		}
		if err := w.Close(); err != nil {
			return &Error{Op: "write objects", Err: err}
		}
	}
	s.pend.mem = nil
	return nil
}
