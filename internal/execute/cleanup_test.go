package execute

import (
	"context"
	"testing"
	"time"
)

// Before an interruption a cleanup step is bounded by recordTimeout;
// after one, every step shares one deadline, counted from the
// interruption, and a reserve is kept back for the later steps.
func TestCleanupSharesOneBudget(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := NewCleanup(ctx, 6*time.Second)
	if c.Interrupted() {
		t.Fatal("interrupted before the cancel")
	}
	cctx, done := c.Context(0)
	d, ok := cctx.Deadline()
	done()
	if !ok || time.Until(d) < recordTimeout-time.Second {
		t.Errorf("before an interruption: deadline in %s, want about %s", time.Until(d), recordTimeout)
	}
	cancel()
	if !c.Interrupted() {
		t.Fatal("not interrupted after the cancel")
	}
	first, done1 := c.Context(0)
	defer done1()
	if first.Err() != nil {
		t.Fatal("a cleanup step is cancelled with the run")
	}
	d1, _ := first.Deadline()
	time.Sleep(50 * time.Millisecond)
	second, done2 := c.Context(0)
	defer done2()
	d2, _ := second.Deadline()
	if !d1.Equal(d2) {
		t.Errorf("deadlines %s and %s: the budget restarted", d1, d2)
	}
	if left := time.Until(d1); left > 6*time.Second || left < 5*time.Second {
		t.Errorf("%s left of a 6s budget", left)
	}
	rb, done3 := c.Context(c.Reserve())
	defer done3()
	d3, _ := rb.Deadline()
	if got := d1.Sub(d3); got != 2*time.Second {
		t.Errorf("reserve = %s, want 2s (a third of 6s)", got)
	}
}

// A step begun before the interruption ends at the budget's deadline
// (less its reserve), not after recordTimeout.
func TestCleanupStepBegunBeforeTheInterruption(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := NewCleanup(ctx, 600*time.Millisecond)
	step, done := c.Context(c.UnlockReserve())
	defer done()
	start := time.Now()
	cancel()
	select {
	case <-step.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the step outlived the cleanup budget")
	}
	if took := time.Since(start); took > 600*time.Millisecond {
		t.Errorf("ended after %s, past the 600ms budget", took)
	}
}
