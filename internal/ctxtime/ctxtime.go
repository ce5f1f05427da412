// Package ctxtime waits for a duration or for a context to end, whichever
// comes first: the pause between polls and retries of every client.
package ctxtime

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx ends: it returns nil after d, ctx.Err()
// if ctx ended first (context.Cause(ctx) tells why).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
