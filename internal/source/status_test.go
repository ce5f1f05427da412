package source

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestDirtyPaths(t *testing.T) {
	dir := t.TempDir()
	runGit(t, dir, nil, "init", "-q", "-b", "main")
	for _, name := range []string{"apps/web/app.pipecd.yaml", "apps/api/app.pipecd.yaml"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("a\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runGit(t, dir, nil, "add", "-A")
	runGit(t, dir, nil, "commit", "-q", "-m", "one")
	r := openT(t, dir)
	if got, err := r.DirtyPaths(); err != nil || len(got) != 0 {
		t.Fatalf("clean tree: %v, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "apps/web/app.pipecd.yaml"), []byte("b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "apps/web/new.yaml"), []byte("c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := r.DirtyPaths()
	if err != nil || !slices.Equal(got, []string{"apps/web/app.pipecd.yaml", "apps/web/new.yaml"}) {
		t.Errorf("DirtyPaths = %v, %v", got, err)
	}
}
