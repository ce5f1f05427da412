package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// do runs fn, retrying transient failures (apiserver unreachable, timing
// out, overloaded) with the client's bounded backoff. Each retry is
// reported as an ActionRetrying event for k.
func (c *Client) do(ctx context.Context, s *sink, k Key, what string, fn func(context.Context) error) error {
	b := c.opts.Retry
	wait := b.Initial
	var err error
	for attempt := 1; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
		err = fn(rctx)
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = &timeoutError{after: c.opts.RequestTimeout, err: err}
		}
		if err == nil || !transient(err) || ctx.Err() != nil {
			return err
		}
		if attempt >= b.Attempts {
			return &retriedError{attempts: attempt, err: err}
		}
		s.emit(Event{Action: ActionRetrying, Key: k,
			Message: fmt.Sprintf("%s: %v; retrying in %s (attempt %d of %d)", what, err, wait, attempt+1, b.Attempts)})
		if serr := b.Sleep(ctx, wait); serr != nil {
			return err
		}
		wait *= 2
		if wait > b.Max {
			wait = b.Max
		}
	}
}

// forEach runs fn for every index in [0,n) with at most limit in flight.
// After the first error no new calls start (those in flight finish); it
// returns the errors by index (nil where fn succeeded or did not run) and
// whether every call ran.
func forEach(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) (errs []error, complete bool) {
	return pool(ctx, n, limit, true, fn)
}

// forAll is forEach that does not stop at errors.
func forAll(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) []error {
	errs, _ := pool(ctx, n, limit, false, fn)
	return errs
}

func pool(ctx context.Context, n, limit int, stopOnError bool, fn func(ctx context.Context, i int) error) ([]error, bool) {
	errs := make([]error, n)
	if limit > n {
		limit = n
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		next    int
		stopped bool
	)
	for w := 0; w < limit; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if stopped || next >= n {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				if err := fn(ctx, i); err != nil {
					mu.Lock()
					errs[i] = err
					stopped = stopped || stopOnError
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return errs, next >= n
}

// retriedError is a transient error that outlasted the retries.
type retriedError struct {
	attempts int
	err      error
}

func (e *retriedError) Error() string { return e.err.Error() }
func (e *retriedError) Unwrap() error { return e.err }

// timeoutError is a request that took longer than Options.RequestTimeout.
type timeoutError struct {
	after time.Duration
	err   error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no answer within %s", e.after)
}
func (e *timeoutError) Unwrap() error { return e.err }
func (e *timeoutError) Timeout() bool { return true }
