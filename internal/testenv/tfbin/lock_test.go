package tfbin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/kube"
)

// logRecorder collects Ensure's progress lines.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func (r *logRecorder) contains(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// fakeInstall puts stand-ins for both programs into cache as a finished
// build would.
func fakeInstall(t *testing.T, cache string) {
	t.Helper()
	built := filepath.Join(t.TempDir(), "built")
	if err := os.WriteFile(built, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []program{tofuProgram, terraformProgram} {
		if err := kube.InstallCachedBinary(cache, p.name, p.version, built); err != nil {
			t.Fatal(err)
		}
	}
}

func wantPaths(t *testing.T, cache string, bins *Binaries) {
	t.Helper()
	want := Binaries{
		Tofu:      filepath.Join(cache, "tofu-"+TofuVersion, "tofu"),
		Terraform: filepath.Join(cache, "terraform-"+TerraformVersion, "terraform"),
	}
	if bins == nil || *bins != want {
		t.Fatalf("Ensure returned %+v, want %+v", bins, want)
	}
}

func TestEnsureCacheHit(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("PIPE_TESTENV_CACHE", cache)
	fakeInstall(t, cache)
	var rec logRecorder
	start := time.Now()
	bins, err := Ensure(context.Background(), rec.logf)
	if err != nil {
		t.Fatal(err)
	}
	wantPaths(t, cache, bins)
	if len(rec.lines) != 0 {
		t.Errorf("a cache hit logged %q", rec.lines)
	}
	if _, err := os.Stat(filepath.Join(cache, lockName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a cache hit took the lock (%s: %v)", lockName, err)
	}
	t.Logf("cache hit in %s", time.Since(start))
}

// TestEnsureWaitsForTheBuilder: a second process finds the lock held, waits,
// and then uses what the first one installed instead of building again.
func TestEnsureWaitsForTheBuilder(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("PIPE_TESTENV_CACHE", cache)
	unlock, err := kube.LockFile(context.Background(), filepath.Join(cache, lockName), nil)
	if err != nil {
		t.Fatal(err)
	}
	var rec logRecorder
	type result struct {
		bins *Binaries
		err  error
	}
	done := make(chan result, 1)
	go func() {
		bins, err := Ensure(context.Background(), rec.logf)
		done <- result{bins, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !rec.contains("waiting") {
		if time.Now().After(deadline) {
			unlock()
			t.Fatalf("Ensure did not report waiting for the lock; log %q", rec.lines)
		}
		time.Sleep(10 * time.Millisecond)
	}
	fakeInstall(t, cache)
	unlock()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		wantPaths(t, cache, r.bins)
	case <-time.After(10 * time.Second):
		t.Fatal("Ensure still waiting 10s after the lock was released")
	}
	if rec.contains("testenv: building ") || rec.contains("testenv: downloading ") {
		t.Errorf("Ensure built although the lock holder had installed both: %q", rec.lines)
	}
}

func TestEnsureCancelledWhileWaiting(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("PIPE_TESTENV_CACHE", cache)
	unlock, err := kube.LockFile(context.Background(), filepath.Join(cache, lockName), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var rec logRecorder
	bins, err := Ensure(ctx, rec.logf)
	if !errors.Is(err, context.DeadlineExceeded) || bins != nil {
		t.Fatalf("Ensure = %+v, %v; want the context's deadline error", bins, err)
	}
	if rec.contains("testenv: building ") {
		t.Errorf("Ensure built without the lock: %q", rec.lines)
	}
	if _, complete := kube.CachedBinary(cache, "tofu", TofuVersion); complete {
		t.Error("tofu is installed although nothing was built")
	}
}
