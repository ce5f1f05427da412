//go:build unix

package config

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A repository's config files are read confined to it, as regular files:
// a config symlinked to a named pipe does not hang loading, one symlinked
// outside is not read.
func TestLoadRepoRefusesUnsafeFiles(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.yaml")
	if err := os.WriteFile(secret, []byte("apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec: {name: hunter2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"fifo", "out", ".pipe"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(outside, "pipe"), 0o644); err != nil {
		t.Skip("no named pipes here:", err)
	}
	must(t, os.Symlink(filepath.Join(outside, "pipe"), filepath.Join(root, "fifo", "app.pipecd.yaml")))
	must(t, syscall.Mkfifo(filepath.Join(root, ".pipe", "config.yaml"), 0o644))
	must(t, os.Symlink(secret, filepath.Join(root, "out", "app.pipecd.yaml")))

	done := make(chan *Repo, 1)
	go func() {
		r, err := LoadRepo(root)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	var r *Repo
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("loading hung on a named pipe")
	}
	if r == nil {
		return
	}
	got := map[string]string{}
	for _, d := range r.Diagnostics() {
		got[d.File] = d.Message
	}
	for file, want := range map[string]string{
		"fifo/app.pipecd.yaml": "outside the repository",
		".pipe/config.yaml":    "not a regular file",
		"out/app.pipecd.yaml":  "outside the repository",
	} {
		if !strings.Contains(got[file], want) {
			t.Errorf("%s: %q, want it to say %q", file, got[file], want)
		}
	}
	if len(r.Apps) != 0 {
		t.Errorf("apps read through unsafe files: %v", r.Apps[0].Name)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
