package source

import (
	"os"
	"path/filepath"
	"testing"
)

func TestExportWorkTreeIsTheWorkingTreeAsGitSeesIt(t *testing.T) {
	dir := t.TempDir()
	runGit(t, "", nil, "init", "-q", "-b", "main", dir)
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".gitignore", "secret.env\n")
	write("apps/web/app.yaml", "v1\n")
	write("apps/web/gone.yaml", "x\n")
	write("apps/web/same.yaml", "same\n")
	runGit(t, dir, nil, "add", "-A")
	runGit(t, dir, nil, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "v1")
	write("apps/web/app.yaml", "v2 in the working tree\n")
	write("apps/web/new/untracked.yaml", "new\n")
	write("secret.env", "TOKEN=x\n")
	if err := os.Remove(filepath.Join(dir, "apps/web/gone.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "apps/web/link.yaml")); err != nil {
		t.Fatal(err)
	}

	r := openT(t, dir)
	out := t.TempDir()
	if err := r.ExportWorkTree(resolveT(t, r, "HEAD"), out); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"apps/web/app.yaml":           "v2 in the working tree\n",
		"apps/web/same.yaml":          "same\n",
		"apps/web/new/untracked.yaml": "new\n",
	} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"apps/web/gone.yaml", "secret.env", "apps/web/link.yaml", ".git"} {
		if _, err := os.Lstat(filepath.Join(out, name)); !os.IsNotExist(err) {
			t.Errorf("%s is in the copy (%v): deleted, ignored, a symlink out, or Git's own", name, err)
		}
	}
	// The working tree is untouched.
	if got, _ := os.ReadFile(filepath.Join(dir, "apps/web/app.yaml")); string(got) != "v2 in the working tree\n" {
		t.Errorf("the working tree changed: %q", got)
	}
}
