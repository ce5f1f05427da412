package ctxtime

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	start := time.Now()
	if err := Sleep(context.Background(), 20*time.Millisecond); err != nil || time.Since(start) < 20*time.Millisecond {
		t.Fatalf("Sleep: %v after %v", err, time.Since(start))
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	why := errors.New("stage cancelled")
	cancel(why)
	start = time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("Sleep on an ended context: %v after %v", err, time.Since(start))
	}
	if !errors.Is(context.Cause(ctx), why) {
		t.Fatal("the cause is lost")
	}
}
