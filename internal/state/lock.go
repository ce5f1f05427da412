package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
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

// describe names the holder for messages; what the lock ref says is
// escaped (SafeText): anyone with push access writes it.
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
	return SafeText(s)
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
		parent := curHash
		if _, err := s.commit(curHash); err != nil {
			parent = plumbing.ZeroHash // a broken lock ref: no history to keep
		}
		c, err := s.lockCommit(info, msg, parent)
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
		if errors.As(err, &conflict) {
			// Others kept taking and releasing the lock between our read
			// and our write: if one holds it now, say so (the caller waits
			// or reports the holder) rather than fail as if the remote broke.
			now, _, rerr := s.currentLock(ctx, app, true)
			if rerr == nil && now != nil && s.opts.Now().UTC().Before(now.LeaseExpiresAt) {
				return nil, &LockedError{App: app, Holder: *now, Now: s.opts.Now().UTC()}
			}
			// Free again: the churn of other lockers, not a broken remote.
			// Keep trying, within a bound.
			if rerr == nil && attempt < 3*s.opts.MaxAttempts {
				if err := s.opts.Sleep(ctx, s.backoff(1)); err != nil {
					return nil, err
				}
				continue
			}
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
