package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// DefaultLease is the lease of a lock when LockRequest.Lease is zero.
const DefaultLease = 10 * time.Minute

// lockFile is the file of a lock commit's tree holding the LockInfo.
const lockFile = "lock.json"

// LockInfo is the content of an app's lock: who holds it and until when.
// It is the file lock.json in the tree of the commit refs/pipe/locks/<app>
// points at (`git show refs/pipe/locks/<app>:lock.json`).
type LockInfo struct {
	SchemaVersion  int       `json:"schemaVersion"`
	App            string    `json:"app"`
	Owner          string    `json:"owner"`
	CIRunURL       string    `json:"ciRunURL,omitempty"`
	DeploymentID   string    `json:"deploymentID,omitempty"`
	Token          string    `json:"token"`
	StartedAt      time.Time `json:"startedAt"`
	RenewedAt      time.Time `json:"renewedAt,omitzero"`
	LeaseExpiresAt time.Time `json:"leaseExpiresAt"`
	// TakeoverOf is the expired lock this one replaced, if any.
	TakeoverOf *LockInfo `json:"takeoverOf,omitempty"`
}

func (l LockInfo) describe() string {
	s := l.Owner
	if s == "" {
		s = "an unknown owner"
	}
	if l.DeploymentID != "" {
		s += " (deployment " + l.DeploymentID + ")"
	}
	if l.CIRunURL != "" {
		s += ", run " + l.CIRunURL
	}
	return s
}

// LockRequest says who takes a lock and for how long.
type LockRequest struct {
	Owner        string
	CIRunURL     string
	DeploymentID string
	// Lease is how long the lock holds without renewal (DefaultLease if 0).
	Lease time.Duration
}

// Lock is a held lock. TakeoverOf is the expired lock that was taken over,
// to be recorded in the deployment's record (Record.LockTakeover).
type Lock struct {
	App        string
	Info       LockInfo
	TakeoverOf *LockInfo
	commit     plumbing.Hash
	lease      time.Duration
}

// ForceUnlockRequest says who removes a lock and why, for the record.
type ForceUnlockRequest struct {
	Actor    string
	Reason   string
	CIRunURL string
}

// Lock implements Store.
func (s *GitStore) Lock(ctx context.Context, app string, req LockRequest) (*Lock, error) {
	ref, err := LockRef(app)
	if err != nil {
		return nil, err
	}
	lease := req.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 1; ; attempt++ {
		cur, curHash, err := s.currentLock(ctx, app, true)
		if err != nil {
			return nil, err
		}
		now := s.opts.Now().UTC()
		info := LockInfo{SchemaVersion: 1, App: app, Owner: req.Owner, CIRunURL: req.CIRunURL,
			DeploymentID: req.DeploymentID, Token: randomToken(), StartedAt: now, LeaseExpiresAt: now.Add(lease)}
		if cur != nil {
			if now.Before(cur.LeaseExpiresAt) {
				return nil, &LockedError{App: app, Holder: *cur, Now: now}
			}
			prev := *cur
			prev.TakeoverOf = nil
			info.TakeoverOf = &prev
		}
		msg := fmt.Sprintf("pipe lock: %s held by %s", app, info.describe())
		if cur != nil {
			msg = fmt.Sprintf("pipe lock: %s taken over by %s from %s (lease expired %s)", app, info.describe(),
				cur.describe(), cur.LeaseExpiresAt.Format(time.RFC3339))
		}
		c, err := s.lockCommit(info, msg, curHash)
		if err != nil {
			return nil, err
		}
		err = s.casLock(ctx, ref, curHash, c)
		var conflict *conflictError
		if errors.As(err, &conflict) && attempt < s.opts.MaxAttempts {
			if err := s.opts.Sleep(ctx, s.backoff(1)); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		l := &Lock{App: app, Info: info, TakeoverOf: info.TakeoverOf, commit: c, lease: lease}
		if cur != nil {
			s.notice(LevelWarn, app, fmt.Sprintf("took over the expired lock of %s", cur.describe()))
			s.recordOnHolder(ctx, app, cur, Event{Time: now, Kind: EventLockTakeover, Actor: req.Owner,
				Message: fmt.Sprintf("lease expired at %s; lock taken over by %s", cur.LeaseExpiresAt.Format(time.RFC3339), info.describe())})
		}
		return l, nil
	}
}

// Renew implements Store.
func (s *GitStore) Renew(ctx context.Context, l *Lock) error {
	ref, err := LockRef(l.App)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now().UTC()
	info := l.Info
	info.RenewedAt = now
	info.LeaseExpiresAt = now.Add(l.lease)
	c, err := s.lockCommit(info, fmt.Sprintf("pipe lock: %s renewed by %s", l.App, info.describe()), l.commit)
	if err != nil {
		return err
	}
	if err := s.casLock(ctx, ref, l.commit, c); err != nil {
		return s.lockLost(ctx, l, "renew", err)
	}
	l.Info, l.commit = info, c
	return nil
}

// Unlock implements Store.
func (s *GitStore) Unlock(ctx context.Context, l *Lock) error {
	ref, err := LockRef(l.App)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.casLock(ctx, ref, l.commit, plumbing.ZeroHash); err != nil {
		return s.lockLost(ctx, l, "release", err)
	}
	return nil
}

// lockLost turns a failed compare-and-swap of our own lock into ErrLockLost
// naming who holds it now.
func (s *GitStore) lockLost(ctx context.Context, l *Lock, op string, err error) error {
	var conflict *conflictError
	if !errors.As(err, &conflict) {
		return err
	}
	e := &Error{Op: fmt.Sprintf("%s lock of app %q", op, l.App), Err: ErrLockLost,
		Msg: "the lock was removed (forced unlock)"}
	if cur, _, rerr := s.currentLock(ctx, l.App, true); rerr == nil && cur != nil {
		e.Msg = "the lock is now held by " + cur.describe()
	}
	return e
}

// ForceUnlock implements Store.
func (s *GitStore) ForceUnlock(ctx context.Context, app string, req ForceUnlockRequest) (*LockInfo, error) {
	ref, err := LockRef(app)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 1; ; attempt++ {
		cur, curHash, err := s.currentLock(ctx, app, true)
		if err != nil || cur == nil {
			return nil, err
		}
		err = s.casLock(ctx, ref, curHash, plumbing.ZeroHash)
		var conflict *conflictError
		if errors.As(err, &conflict) && attempt < s.opts.MaxAttempts {
			continue
		}
		if err != nil {
			return nil, err
		}
		msg := fmt.Sprintf("lock of %s removed by %s", cur.describe(), orDefault(req.Actor, "an operator"))
		if req.Reason != "" {
			msg += ": " + req.Reason
		}
		if req.CIRunURL != "" {
			msg += " (run " + req.CIRunURL + ")"
		}
		s.notice(LevelWarn, app, msg)
		s.recordOnHolder(ctx, app, cur, Event{Time: s.opts.Now().UTC(), Kind: EventForceUnlock, Actor: req.Actor, Message: msg})
		return cur, nil
	}
}

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

// readLock reads a lock commit. A lock that cannot be read still counts as
// held, with a lease of DefaultLease from its commit time, so that a broken
// lock neither lets two deployments in nor blocks the app forever.
func (s *GitStore) readLock(app string, ref plumbing.ReferenceName, h plumbing.Hash) *LockInfo {
	fallback := &LockInfo{App: app, Owner: "unknown (unreadable lock " + short(h) + ")"}
	c, err := s.commit(h)
	if err != nil {
		s.notice(LevelWarn, app, fmt.Sprintf("%s points at %s, not a lock commit; treated as held for %s from now", ref, short(h), DefaultLease))
		fallback.LeaseExpiresAt = s.opts.Now().Add(DefaultLease)
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
	blob, err := storeBlob(s.st, append(data, '\n'))
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
