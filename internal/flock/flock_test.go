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

// A holder that removes the lock file hands the lock to whoever waits on
// the next file at the path, never to two processes at once.
func TestLockFollowsARemovedFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(t.Context(), p, "a trim")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func())
	go func() {
		u, err := Lock(t.Context(), p, "a trim") // waits on the file being removed
		if err != nil {
			t.Error(err)
		}
		got <- u
	}()
	time.Sleep(20 * time.Millisecond) // let it open the file and wait
	if err := Remove(p); err != nil {
		t.Fatal(err)
	}
	unlock()
	waiter := <-got
	// The waiter holds the lock of the file now at p: a third locker
	// must wait for it.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, p, "a trim"); err == nil {
		t.Fatal("two holders of one lock: the waiter kept the removed file's")
	}
	waiter()
	if err := Remove(p + ".none"); err != nil {
		t.Errorf("removing a missing lock file: %v", err)
	}
}
