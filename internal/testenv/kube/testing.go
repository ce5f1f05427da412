package kube

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// shared is the control plane Main started for this test binary. It is the
// one piece of package state: TestMain and the tests of a package meet here.
var shared struct {
	sync.Mutex
	c *Cluster
}

// Main runs a package's tests against one control plane: call it as
// TestMain's only statement. It builds the binaries if needed, starts the
// control plane, sets KUBECONFIG for the tests, runs them, prints the tail of
// every process log when a test failed, stops the control plane and exits.
//
// A failure to build or start is a failure of the package's tests, not a
// skip. PIPE_TESTENV_SKIP=1 skips the package instead (exit 0, with a
// message); PIPE_TESTENV_KEEP=1 keeps the cluster's directory (logs, etcd
// data) after the run.
func Main(m *testing.M) {
	os.Exit(runMain(m))
}

// Run is Main without the exit, for a TestMain that hands the run to
// another wrapper (testscript.Main, for scripts that drive the real pipe
// binary against the control plane): it starts the control plane, runs m
// and stops it, returning m's exit code.
func Run(m interface{ Run() int }) int { return runMain(m) }

func runMain(m interface{ Run() int }) int {
	if os.Getenv("PIPE_TESTENV_SKIP") == "1" {
		fmt.Fprintln(os.Stderr, "kube: PIPE_TESTENV_SKIP=1: not running this package's tests, which need the local Kubernetes control plane")
		return 0
	}
	keep := os.Getenv("PIPE_TESTENV_KEEP") == "1"
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05.000 ")+format+"\n", args...)
	}
	// A cold build takes several minutes; go test's -timeout still applies.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	c, err := Start(ctx, Options{Keep: keep, Logf: logf})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n(PIPE_TESTENV_SKIP=1 skips the packages that need the control plane)\n", err)
		return 1
	}
	shared.Lock()
	shared.c = c
	shared.Unlock()
	os.Setenv("KUBECONFIG", c.Kubeconfig())

	code := m.Run()

	if code != 0 {
		fmt.Fprintf(os.Stderr, "kube: tests failed; control plane logs in %s (PIPE_TESTENV_KEEP=1 keeps them after the run)\n", c.LogDir())
		c.WriteLogTails(os.Stderr, 40)
	}
	start := time.Now()
	c.Stop()
	logf("kube: control plane stopped in %s", time.Since(start).Round(time.Millisecond))
	if keep {
		fmt.Fprintf(os.Stderr, "kube: PIPE_TESTENV_KEEP=1: kept %s\n", c.Dir)
	}
	return code
}

// Shared returns the control plane Main started; the test fails at once if
// TestMain did not call Main.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.c == nil {
		t.Fatal("kube.Shared: no control plane: the package's TestMain must call kube.Main(m)")
	}
	return shared.c
}

// NewNamespace creates a namespace with a unique name derived from the
// test's and returns the name; it is deleted when the test ends (kept when
// the test failed and PIPE_TESTENV_KEEP=1).
func (c *Cluster) NewNamespace(t testing.TB) string {
	t.Helper()
	name := namespaceName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}
	if err := c.client.Create(ctx, "/api/v1/namespaces", ns, nil); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("PIPE_TESTENV_KEEP") == "1" {
			t.Logf("kept namespace %s (PIPE_TESTENV_KEEP=1)", name)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// The namespace controller deletes the contents in the background.
		if err := c.client.Delete(ctx, "/api/v1/namespaces/"+name); err != nil {
			t.Errorf("delete namespace %s: %v", name, err)
		}
	})
	return name
}

// namespaceName turns a test name into a DNS-1123 label with a random suffix.
func namespaceName(testName string) string {
	var sb strings.Builder
	dash := false
	for _, r := range strings.ToLower(testName) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			sb.WriteRune(r)
			dash = false
		} else if !dash && sb.Len() > 0 {
			sb.WriteByte('-')
			dash = true
		}
	}
	base := strings.Trim(sb.String(), "-")
	if len(base) > 45 {
		base = strings.TrimRight(base[:45], "-")
	}
	if base == "" {
		base = "test"
	}
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	return base + "-" + hex.EncodeToString(suffix[:])
}
