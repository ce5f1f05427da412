package deploy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/state"
)

// renewStore fails every renewal with err.
type renewStore struct {
	recordStore
	err   error
	mu    sync.Mutex
	tries int
}

func (s *renewStore) Renew(context.Context, *state.Lock) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tries++
	return s.err
}

// A holder whose renewals keep failing (the remote is unreachable, not
// "lost") stops before its lease ends, with the cause named, instead of
// deploying on past it.
func TestRenewFailuresStopBeforeTheLeaseEnds(t *testing.T) {
	store := &renewStore{err: errors.New("push refs/pipe/locks/web: connection refused")}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var warned []string
	var mu sync.Mutex
	lease := 3 * time.Second // renewed every second
	start := time.Now()
	stop := (&Env{}).renew(ctx, store, &state.Lock{}, lease, cancel, func(m string) { mu.Lock(); warned = append(warned, m); mu.Unlock() })
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(2 * lease):
		t.Fatal("the run went on past its lease")
	}
	if took := time.Since(start); took >= lease {
		t.Errorf("stopped after %s, not before the %s lease ended", took, lease)
	}
	cause := context.Cause(ctx)
	if !errors.Is(cause, execute.ErrLeaseExpired) || !errors.Is(cause, state.ErrLockLost) || !strings.Contains(cause.Error(), "connection refused") {
		t.Errorf("cause = %v", cause)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warned) == 0 || !strings.Contains(warned[0], "could not renew the lock (will retry") {
		t.Errorf("warnings = %q", warned)
	}
}

// A lost lock stops the run at once.
func TestRenewLostLockStops(t *testing.T) {
	store := &renewStore{err: state.ErrLockLost}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stop := (&Env{}).renew(ctx, store, &state.Lock{}, 3*time.Second, cancel, func(string) {})
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("not stopped")
	}
	if !errors.Is(context.Cause(ctx), state.ErrLockLost) || errors.Is(context.Cause(ctx), execute.ErrLeaseExpired) {
		t.Errorf("cause = %v", context.Cause(ctx))
	}
	if store.tries != 1 {
		t.Errorf("%d tries", store.tries)
	}
}

// hangingStore's renewals never answer (a push to an unreachable remote
// without a timeout of its own).
type hangingStore struct{ recordStore }

func (s *hangingStore) Renew(ctx context.Context, _ *state.Lock) error {
	<-ctx.Done()
	return ctx.Err()
}

// A renewal that hangs stops the run before the lease ends, as a failing
// one does.
func TestRenewHangingStopsBeforeTheLeaseEnds(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	lease := 3 * time.Second
	start := time.Now()
	stop := (&Env{}).renew(ctx, &hangingStore{}, &state.Lock{}, lease, cancel, func(string) {})
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(2 * lease):
		t.Fatal("the run went on past its lease")
	}
	if took := time.Since(start); took >= lease {
		t.Errorf("stopped after %s, not before the %s lease ended", took, lease)
	}
	if c := context.Cause(ctx); !errors.Is(c, execute.ErrLeaseExpired) || !strings.Contains(c.Error(), "no answer before the lease ends") {
		t.Errorf("cause = %v", c)
	}
}
