package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// recordOnHolder adds an event to the record of the deployment that held a
// lock; failing to is reported, not an error: the lock operation is done.
func (s *GitStore) recordOnHolder(ctx context.Context, app string, holder *LockInfo, ev Event) {
	if holder.DeploymentID == "" {
		return
	}
	err := s.refresh(ctx, app)
	if err == nil {
		err = s.addEvent(ctx, app, holder.DeploymentID, ev)
	}
	if err != nil {
		s.notice(LevelWarn, app, fmt.Sprintf("could not record %s on deployment %s: %v", ev.Kind, holder.DeploymentID, err))
	}
}

// LockHolder implements Store.
func (s *GitStore) LockHolder(ctx context.Context, app string) (*LockInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	li, _, err := s.currentLock(ctx, app, true)
	return li, err
}

// currentLock returns the app's lock and the commit its ref points at (nil
// and zero when unlocked). With the remote in use the remote's ref is
// authoritative (fetched when fetch is set, else as last fetched).
func (s *GitStore) currentLock(ctx context.Context, app string, fetch bool) (*LockInfo, plumbing.Hash, error) {
	ref, err := LockRef(app)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	var h plumbing.Hash
	switch {
	case s.pushes() && fetch:
		remote, err := s.fetch(ctx, func(n plumbing.ReferenceName) bool { return n == ref })
		if err != nil {
			return nil, plumbing.ZeroHash, err
		}
		h = remote[ref]
	case s.pushes():
		h = s.ref(trackingRef(s.opts.Remote, ref))
	default:
		h = s.ref(ref)
	}
	if h.IsZero() {
		return nil, h, nil
	}
	return s.readLock(app, ref, h), h, nil
}

// readLock reads a lock commit. A lock commit whose lock.json cannot be read
// still counts as held, with a lease of DefaultLease from its commit time,
// so that a broken lock neither lets two deployments in nor blocks the app
// forever; a ref that is not a commit at all counts as an expired lock.
func (s *GitStore) readLock(app string, ref plumbing.ReferenceName, h plumbing.Hash) *LockInfo {
	fallback := &LockInfo{App: app, Owner: "unknown (unreadable lock " + short(h) + ")"}
	c, err := s.commit(h)
	if err != nil {
		// pipe only ever writes commits here: nobody holds this.
		s.notice(LevelWarn, app, fmt.Sprintf("%s points at %s, not a lock commit; treated as an expired lock", ref, short(h)))
		return fallback
	}
	fallback.StartedAt = c.Committer.When
	fallback.LeaseExpiresAt = c.Committer.When.Add(DefaultLease)
	f, err := c.File(lockFile)
	if err != nil {
		s.notice(LevelWarn, app, fmt.Sprintf("%s: commit %s has no %s; treated as held until %s", ref, short(h), lockFile, fallback.LeaseExpiresAt.Format(time.RFC3339)))
		return fallback
	}
	data, err := f.Contents()
	var li LockInfo
	if err == nil {
		err = json.Unmarshal([]byte(data), &li)
	}
	if err != nil || li.LeaseExpiresAt.IsZero() {
		s.notice(LevelWarn, app, fmt.Sprintf("%s: %s is not a valid lock (%v); treated as held until %s", ref, lockFile, err, fallback.LeaseExpiresAt.Format(time.RFC3339)))
		return fallback
	}
	return &li
}

// lockCommit writes a lock commit holding info.
func (s *GitStore) lockCommit(info LockInfo, msg string, parent plumbing.Hash) (plumbing.Hash, error) {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return plumbing.ZeroHash, err
	}
	blob, err := s.writeBlob(append(data, '\n'))
	if err != nil {
		return plumbing.ZeroHash, err
	}
	tree, err := storeObject(s.st, &object.Tree{Entries: []object.TreeEntry{{Name: lockFile, Mode: filemode.Regular, Hash: blob}}})
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return s.storeCommit(tree, msg, parent)
}

// casLock moves a lock ref from expected to next: on the remote when
// pushing (then the local tracking copy follows), else locally.
func (s *GitStore) casLock(ctx context.Context, ref plumbing.ReferenceName, expected, next plumbing.Hash) error {
	if !s.pushes() {
		if cur := s.ref(ref); cur != expected {
			return &conflictError{ref: ref, current: cur}
		}
		return s.setRef(ref, expected, next)
	}
	if err := s.casPush(ctx, ref, expected, next); err != nil {
		return err
	}
	tr := trackingRef(s.opts.Remote, ref)
	if next.IsZero() {
		return s.st.RemoveReference(tr)
	}
	return s.st.SetReference(plumbing.NewHashReference(tr, next))
}

func randomToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
