//go:build unix

package flock

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLockExcludesAndTimesOut(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(t.Context(), p, "another fetch")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, p, "another fetch"); err == nil || !strings.Contains(err.Error(), "(another fetch holds it)") {
		t.Fatalf("second lock while held: %v", err)
	}
	unlock()
	u2, err := Lock(t.Context(), p, "another fetch")
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	u2()
}
