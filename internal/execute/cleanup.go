package execute

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gitops-pipe/pipe/internal/state"
)

// DefaultGrace is the cleanup budget after an interruption when none is
// given.
const DefaultGrace = 30 * time.Second

// recordTimeout bounds one write of the record when the run was not
// interrupted: a hung push must not block pipe forever.
const recordTimeout = 2 * time.Minute

// Cleanup is the time left to clean up once a run's context is done (a
// SIGINT/SIGTERM, or the lock's lease running out): the rollback, the
// final record and the unlock share one budget, Grace, counted from the
// moment the context was cancelled, so that all of it fits before the CI
// system escalates (GitHub Actions sends a cancelled job SIGINT, SIGTERM
// 7.5 s later, SIGKILL 2.5 s after that: pipe's default there is 6 s).
type Cleanup struct {
	grace time.Duration
	ctx   context.Context

	mu       sync.Mutex
	deadline time.Time
}

// NewCleanup starts the clock of ctx's cleanup budget; grace <= 0 is
// DefaultGrace.
func NewCleanup(ctx context.Context, grace time.Duration) *Cleanup {
	if grace <= 0 {
		grace = DefaultGrace
	}
	c := &Cleanup{grace: grace, ctx: ctx}
	context.AfterFunc(ctx, func() { c.start() })
	return c
}

func (c *Cleanup) start() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deadline.IsZero() {
		c.deadline = time.Now().Add(c.grace)
	}
	return c.deadline
}

// Interrupted reports whether the run's context is done.
func (c *Cleanup) Interrupted() bool { return c.ctx.Err() != nil }

// Context is the context of one cleanup step: not cancelled with the
// run's, ending at the budget's deadline once the run was interrupted,
// else after recordTimeout. reserve is kept back for the steps after this
// one (the rollback leaves time for the final record and the unlock).
//
// A step begun before the interruption ends at the budget's deadline too.
func (c *Cleanup) Context(reserve time.Duration) (context.Context, context.CancelFunc) {
	base := context.WithoutCancel(c.ctx)
	if c.ctx.Err() != nil {
		return context.WithDeadline(base, c.start().Add(-reserve))
	}
	ctx, cancel := context.WithTimeout(base, recordTimeout)
	var timer *time.Timer
	var mu sync.Mutex
	stop := context.AfterFunc(c.ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		timer = time.AfterFunc(time.Until(c.start().Add(-reserve)), cancel)
	})
	return ctx, func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

// Reserve is the part of the budget the rollback leaves to recording and
// unlocking.
func (c *Cleanup) Reserve() time.Duration { return min(c.grace/3, 5*time.Second) }

// UnlockReserve is the part the final record leaves to the unlock.
func (c *Cleanup) UnlockReserve() time.Duration { return c.Reserve() / 2 }

// ErrLeaseExpired is the cause of a run stopped because its lock could not
// be renewed before the lease ran out: it wraps state.ErrLockLost, since
// another run may take the lock over from then on.
var ErrLeaseExpired = fmt.Errorf("%w: lease expired", state.ErrLockLost)
