package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

func testClient(attempts int, sleeps *[]time.Duration) *Client {
	o := Options{Retry: Backoff{Attempts: attempts, Initial: 100 * time.Millisecond, Max: 300 * time.Millisecond,
		Sleep: func(_ context.Context, d time.Duration) error { *sleeps = append(*sleeps, d); return nil }},
		RequestTimeout: 50 * time.Millisecond}
	return &Client{opts: o.withDefaults(), host: "https://k8s"}
}

func TestRetry(t *testing.T) {
	var sleeps []time.Duration
	c := testClient(5, &sleeps)
	var events []Event
	s := newSink(func(e Event) { events = append(events, e) })
	calls := 0
	err := c.do(context.Background(), s, Key{Kind: "ConfigMap", Name: "x"}, "apply", func(context.Context) error {
		calls++
		return fmt.Errorf("dial: %w", syscall.ECONNREFUSED)
	})
	if calls != 5 || !transient(err) {
		t.Errorf("%d calls, err %v", calls, err)
	}
	if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}; fmt.Sprint(sleeps) != fmt.Sprint(want) {
		t.Errorf("backoff %v, want %v", sleeps, want)
	}
	if len(events) != 4 || events[0].Action != ActionRetrying || !strings.Contains(events[0].Message, "attempt 2 of 5") {
		t.Errorf("events %+v", events)
	}
	e := explainError(request{op: "apply", key: Key{Kind: "ConfigMap", Namespace: "n", Name: "x"}, host: "https://k8s"}, err)
	if !errors.Is(e, ErrUnreachable) || !strings.Contains(e.Error(), "did not answer (5 attempts)") {
		t.Errorf("explained: %v", e)
	}

	// Not transient: no retry.
	calls = 0
	err = c.do(context.Background(), s, Key{}, "apply", func(context.Context) error {
		calls++
		return apierrors.NewBadRequest("no")
	})
	if calls != 1 || err == nil {
		t.Errorf("bad request retried: %d calls", calls)
	}

	// Succeeds on the second try.
	calls = 0
	err = c.do(context.Background(), s, Key{}, "apply", func(context.Context) error {
		calls++
		if calls == 1 {
			return apierrors.NewTooManyRequests("busy", 1)
		}
		return nil
	})
	if calls != 2 || err != nil {
		t.Errorf("%d calls, %v", calls, err)
	}
}

func TestRequestTimeout(t *testing.T) {
	var sleeps []time.Duration
	c := testClient(2, &sleeps)
	calls := 0
	err := c.do(context.Background(), nil, Key{}, "apply", func(ctx context.Context) error {
		calls++
		<-ctx.Done() // a hung apiserver
		return ctx.Err()
	})
	if calls != 2 || !transient(err) || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Errorf("%d calls, %v", calls, err)
	}
	// The caller's own deadline is not retried.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls = 0
	err = c.do(ctx, nil, Key{}, "apply", func(ctx context.Context) error { calls++; return ctx.Err() })
	if calls != 1 || transient(err) {
		t.Errorf("cancelled: %d calls, %v", calls, err)
	}
}

func TestForEach(t *testing.T) {
	var inFlight, peak atomic.Int32
	errs, complete := forEach(context.Background(), 100, 8, func(ctx context.Context, i int) error {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		inFlight.Add(-1)
		return nil
	})
	if !complete || firstError(errs) != nil || peak.Load() > 8 {
		t.Errorf("complete %v, peak %d", complete, peak.Load())
	}
	// After an error no new calls start.
	var started atomic.Int32
	errs, complete = forEach(context.Background(), 100, 4, func(ctx context.Context, i int) error {
		started.Add(1)
		if i == 10 {
			return errors.New("boom")
		}
		time.Sleep(time.Millisecond)
		return nil
	})
	if complete || firstError(errs) == nil || started.Load() > 20 {
		t.Errorf("complete %v, started %d", complete, started.Load())
	}
}
