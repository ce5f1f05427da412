package tfbin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// CleanEnv returns the environment to run tofu and terraform in, writing its
// one file into dir (which must exist; a test's t.TempDir, say):
//
//   - the current environment without any TF_* or CHECKPOINT_* variable, so
//     the caller's TF_LOG, TF_DATA_DIR, TF_WORKSPACE, TF_PLUGIN_CACHE_DIR,
//     TF_VAR_*, TF_CLI_ARGS*... do not leak into a test;
//   - TF_CLI_CONFIG_FILE=<dir>/empty.tfrc, an empty CLI configuration, so
//     neither ~/.terraformrc nor a missing file named by the caller's
//     TF_CLI_CONFIG_FILE (which makes both print a warning) is read: no
//     provider installation overrides, credentials or plugin cache;
//   - TF_IN_AUTOMATION=1 (no "next, run terraform apply" hints), TF_INPUT=0
//     (never prompt: a missing variable is an error, not a hang) and
//     CHECKPOINT_DISABLE=1 (no version check over the network).
//
// Callers add their own TF_VAR_* or TF_LOG after it.
func CleanEnv(dir string) ([]string, error) {
	rc := filepath.Join(dir, "empty.tfrc")
	if err := os.WriteFile(rc, nil, 0o644); err != nil {
		return nil, fmt.Errorf("writing the empty CLI configuration for tofu/terraform: %w", err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TF_") || strings.HasPrefix(kv, "CHECKPOINT_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"TF_CLI_CONFIG_FILE="+rc,
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
		"CHECKPOINT_DISABLE=1",
	), nil
}

// Env is CleanEnv for a test: its file lives in a t.TempDir. Set it as the
// Env of every exec.Cmd that runs the binaries of ForTest.
func Env(t testing.TB) []string {
	t.Helper()
	env, err := CleanEnv(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return env
}

var forTest struct {
	once sync.Once
	bins *Binaries
	err  error
}

// ForTest returns the paths of tofu and terraform, building them the first
// time a test process asks (Ensure, under the cache's lock; progress on
// stderr). A failed build fails the test; it is never a skip. A cold build
// takes minutes, within go test's -timeout: CI runs
// `go run ./internal/testenv/cmd/testenv build` first.
func ForTest(t testing.TB) *Binaries {
	t.Helper()
	forTest.once.Do(func() {
		logf := func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05.000 ")+format+"\n", args...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		forTest.bins, forTest.err = Ensure(ctx, logf)
	})
	if forTest.err != nil {
		t.Fatalf("tfbin: tofu %s and terraform %s are needed and could not be built: %v\n"+
			"(run `go run ./internal/testenv/cmd/testenv build-terraform` to retry the build on its own)",
			TofuVersion, TerraformVersion, forTest.err)
	}
	b := *forTest.bins
	return &b
}
