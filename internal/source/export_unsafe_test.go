package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitops-pipe/pipe/internal/gitcraft"
)

func TestExportTreeRefusesCraftedTrees(t *testing.T) {
	outside := t.TempDir()
	c := gitcraft.New(t, false)
	owned := c.Tree(gitcraft.E("100755", "owned.sh", c.Blob("#!/bin/sh\necho owned\n")))
	ok := c.Blob("kind: ConfigMap\n")
	for _, tc := range []struct {
		name string
		tree plumbing.Hash
		want []string
	}{
		{"symlink then a directory of its name", c.Tree(gitcraft.E("40000", "apps", c.Tree(
			gitcraft.E("120000", "evil", c.Blob(outside)),
			gitcraft.E("40000", "evil", owned),
		))), []string{"apps/evil"}},
		{"in-tree symlink then a directory of its name", c.Tree(
			gitcraft.E("40000", "apps", c.Tree(gitcraft.E("100644", "a.yaml", ok))),
			gitcraft.E("120000", "evil", c.Blob("apps")),
			gitcraft.E("40000", "evil", owned),
		), []string{"tree entry evil appears more than once"}},
		{"symlink then a file of its name", c.Tree(
			gitcraft.E("120000", "evil", c.Blob(filepath.Join(outside, "owned.sh"))),
			gitcraft.E("100755", "evil", c.Blob("#!/bin/sh\n")),
		), []string{"evil"}},
		{"two files of one name", c.Tree(
			gitcraft.E("100644", "a.yaml", ok),
			gitcraft.E("100644", "a.yaml", c.Blob("kind: Secret\n")),
		), []string{"tree entry a.yaml appears more than once"}},
		{"chained symlinks out", c.Tree(
			gitcraft.E("120000", "e", c.Blob("s/../x")),
			gitcraft.E("120000", "s", c.Blob(".")),
		), []string{`symlink e -> "s/../x" leads outside the tree (through other symlinks)`}},
		{"dot-dot", c.Tree(gitcraft.E("100644", "..", ok)), []string{`".." has an unsafe name`}},
		{".git", c.Tree(gitcraft.E("40000", ".Git", c.Tree(gitcraft.E("100644", "config", ok)))), []string{`".Git" has an unsafe name`}},
		{"slash in a name", c.Tree(gitcraft.E("100644", "a/b", ok)), []string{`tree entry "a/b" in / has an unsafe name`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			commit := c.Commit(tc.tree)
			r := openT(t, c.Dir)
			out := t.TempDir()
			err := r.ExportTree(resolveT(t, r, commit), out)
			if err == nil {
				t.Fatal("export succeeded")
			}
			t.Logf("error: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 0 {
				t.Errorf("written outside: %v", entries)
			}
		})
	}

	// A symlink that is absolute or climbs out by its own target is left
	// out: the rest of the tree exports, nothing is written outside.
	commit0 := c.Commit(c.Tree(
		gitcraft.E("100644", "a.yaml", ok),
		gitcraft.E("120000", "abs", c.Blob(outside)),
		gitcraft.E("40000", "d", c.Tree(gitcraft.E("120000", "up", c.Blob("../../x")))),
	))
	r0 := openT(t, c.Dir)
	out0 := t.TempDir()
	if err := r0.ExportTree(resolveT(t, r0, commit0), out0); err != nil {
		t.Fatalf("export with links out: %v", err)
	}
	for _, p := range []string{"abs", "d/up"} {
		if _, err := os.Lstat(filepath.Join(out0, p)); !os.IsNotExist(err) {
			t.Errorf("%s exported (%v)", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out0, "a.yaml")); err != nil {
		t.Error(err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside: %v", entries)
	}

	// In-tree symlinks, to files and to directories, and at depth, export.
	commit := c.Commit(c.Tree(
		gitcraft.E("40000", "apps", c.Tree(
			gitcraft.E("120000", "link.yaml", c.Blob("../base/a.yaml")),
			gitcraft.E("40000", "web", c.Tree(gitcraft.E("120000", "base", c.Blob("../../base")))),
		)),
		gitcraft.E("40000", "base", c.Tree(gitcraft.E("100644", "a.yaml", ok))),
	))
	r := openT(t, c.Dir)
	out := t.TempDir()
	if err := r.ExportTree(resolveT(t, r, commit), out); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"apps/link.yaml", "apps/web/base/a.yaml"} {
		if b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(p))); err != nil || string(b) != "kind: ConfigMap\n" {
			t.Errorf("%s = %q, %v", p, b, err)
		}
	}
}
