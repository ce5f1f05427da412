package source

import (
	"os"
	"path/filepath"
	"testing"
)

func TestExportTree(t *testing.T) {
	dir := t.TempDir()
	runGit(t, dir, nil, "init", "-q", "-b", "main")
	files := map[string]string{"apps/web/app.pipecd.yaml": "name: web\n", "apps/web/deploy.yaml": "kind: Deployment\n", "run.sh": "#!/bin/sh\n", "top.txt": "v1\n"}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("apps/web/deploy.yaml", filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	runGit(t, dir, nil, "add", "-A")
	runGit(t, dir, nil, "commit", "-q", "-m", "one")
	// A later change in the working tree and in a new commit must not leak
	// into the export of the first commit.
	if err := os.WriteFile(filepath.Join(dir, "top.txt"), []byte("v2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runGit(t, dir, nil, "commit", "-q", "-am", "two")

	r := openT(t, dir)
	out := t.TempDir()
	if err := r.ExportTree(resolveT(t, r, "HEAD~1"), out); err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if st, err := os.Stat(filepath.Join(out, "run.sh")); err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Errorf("run.sh should be executable: %v %v", st, err)
	}
	if target, err := os.Readlink(filepath.Join(out, "link.yaml")); err != nil || target != "apps/web/deploy.yaml" {
		t.Errorf("link.yaml -> %q, %v", target, err)
	}
}
