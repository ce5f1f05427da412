package fsafe

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newWriter(t *testing.T) (*TreeWriter, string) {
	t.Helper()
	dir := t.TempDir()
	w, err := NewTreeWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, dir
}

func wantError(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not say %q", err, p)
		}
	}
}

func empty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("written outside: %s", filepath.Join(dir, e.Name()))
	}
}

func TestTreeWriter(t *testing.T) {
	w, dir := newWriter(t)
	steps := []error{
		w.Mkdir("chart"),
		w.WriteFile("chart/Chart.yaml", strings.NewReader("name: web\n"), false),
		w.WriteFile("chart/run.sh", strings.NewReader("#!/bin/sh\n"), true),
		w.Mkdir("chart/templates"),
		w.Symlink("../Chart.yaml", "chart/templates/up.yaml"),
		w.Symlink("templates", "chart/tpl"),
		w.Symlink("missing", "chart/dangling"),
		w.Finish(),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "chart", "templates", "up.yaml")); err != nil || string(b) != "name: web\n" {
		t.Errorf("up.yaml = %q, %v", b, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "chart", "run.sh")); err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Errorf("run.sh should be executable: %v, %v", st, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "chart", "Chart.yaml")); err != nil || st.Mode().Perm()&0o111 != 0 {
		t.Errorf("Chart.yaml should not be executable: %v, %v", st, err)
	}
}

func TestTreeWriterRefuses(t *testing.T) {
	outside := t.TempDir()
	for _, c := range []struct {
		name string
		do   func(w *TreeWriter) error
		want []string
	}{
		{"write through a symlink it made", func(w *TreeWriter) error {
			if err := w.Symlink("..", "evil"); err == nil {
				t.Error("a symlink to .. was written")
			}
			// Even a symlink that stays inside is never written through.
			if err := w.Mkdir("d"); err != nil {
				return err
			}
			if err := w.Symlink("d", "in"); err != nil {
				return err
			}
			return w.WriteFile("in/owned.sh", strings.NewReader("x"), true)
		}, []string{"in/owned.sh is below in, which is a symlink or a file"}},
		{"directory over a symlink", func(w *TreeWriter) error {
			if err := w.Symlink("a", "evil"); err != nil {
				return err
			}
			return w.Mkdir("evil")
		}, []string{"tree entry evil appears more than once"}},
		{"file over a file", func(w *TreeWriter) error {
			if err := w.WriteFile("a.yaml", strings.NewReader("one"), false); err != nil {
				return err
			}
			return w.WriteFile("a.yaml", strings.NewReader("two"), false)
		}, []string{"tree entry a.yaml appears more than once"}},
		{"absolute target", func(w *TreeWriter) error { return w.Symlink(outside, "abs") }, []string{"symlink abs -> " + `"` + outside + `" is absolute`}},
		{"climbing target", func(w *TreeWriter) error {
			if err := w.Mkdir("a"); err != nil {
				return err
			}
			return w.Symlink("../../etc/passwd", "a/up")
		}, []string{`symlink a/up -> "../../etc/passwd" leads outside the tree`}},
		{"chain out", func(w *TreeWriter) error {
			if err := w.Symlink("s/../x", "e"); err != nil {
				return err
			}
			if err := w.Symlink(".", "s"); err != nil {
				return err
			}
			return w.Finish()
		}, []string{`symlink e -> "s/../x" leads outside the tree (through other symlinks)`}},
		{"dot-dot name", func(w *TreeWriter) error { return w.Mkdir("a/../..") }, []string{`tree entry "a/../.." has an unsafe name`}},
		{"absolute name", func(w *TreeWriter) error { return w.Mkdir("/tmp/x") }, []string{"unsafe name"}},
		{".git", func(w *TreeWriter) error { return w.Mkdir(".GIT") }, []string{"unsafe name"}},
		{"no parent", func(w *TreeWriter) error {
			return w.WriteFile("a/b", strings.NewReader("x"), false)
		}, []string{"tree entry a/b: its directory a was not written first"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, _ := newWriter(t)
			wantError(t, c.do(w), c.want...)
			empty(t, outside)
		})
	}
}

// A directory of the destination that was there before (not made by the
// writer) is not written into either, even if it is a symlink out.
func TestTreeWriterFoundSymlink(t *testing.T) {
	outside := t.TempDir()
	w, dir := newWriter(t)
	if err := os.Symlink(outside, filepath.Join(dir, "evil")); err != nil {
		t.Fatal(err)
	}
	wantError(t, w.Mkdir("evil"), "tree entry evil appears more than once")
	wantError(t, w.WriteFile("evil/owned.sh", strings.NewReader("x"), true), "evil/owned.sh: its directory evil was not written first")
	wantError(t, w.WriteFile("evil", strings.NewReader("x"), true), "tree entry evil appears more than once")
	empty(t, outside)
}

// A tree larger than the writer's budget stops at it, naming the entry.
func TestTreeWriterBudget(t *testing.T) {
	dir := t.TempDir()
	w, err := NewTreeWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Budget = 1 << 20
	if err := w.WriteFile("a", strings.NewReader(strings.Repeat("x", 600<<10)), false); err != nil {
		t.Fatal(err)
	}
	err = w.WriteFile("b", zeroReader{}, false) // endless
	if !errors.Is(err, ErrBudget) || !strings.Contains(err.Error(), "tree entry b") {
		t.Fatalf("err = %v", err)
	}
	st, err := os.Stat(filepath.Join(dir, "b"))
	if err != nil || st.Size() > 1<<20 {
		t.Errorf("b: %v, %d bytes written", err, st.Size())
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
