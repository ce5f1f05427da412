package source

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// crafted writes objects by hand into a non-bare repository, so that its
// trees may hold what git itself never writes.
type crafted struct {
	t    *testing.T
	dir  string
	repo *git.Repository
}

func newCrafted(t *testing.T) *crafted {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	return &crafted{t: t, dir: dir, repo: repo}
}

func (c *crafted) put(typ plumbing.ObjectType, data []byte) plumbing.Hash {
	c.t.Helper()
	o := c.repo.Storer.NewEncodedObject()
	o.SetType(typ)
	o.SetSize(int64(len(data)))
	w, err := o.Writer()
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		c.t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		c.t.Fatal(err)
	}
	h, err := c.repo.Storer.SetEncodedObject(o)
	if err != nil {
		c.t.Fatal(err)
	}
	return h
}

func (c *crafted) blob(s string) plumbing.Hash { return c.put(plumbing.BlobObject, []byte(s)) }

type rawEntry struct {
	mode, name string
	hash       plumbing.Hash
}

// tree encodes the entries in the order given, unchecked.
func (c *crafted) tree(entries ...rawEntry) plumbing.Hash {
	var b bytes.Buffer
	for _, e := range entries {
		b.WriteString(e.mode + " " + e.name + "\x00")
		b.Write(e.hash[:])
	}
	return c.put(plumbing.TreeObject, b.Bytes())
}

func (c *crafted) commit(tree plumbing.Hash) string {
	raw := "tree " + hex.EncodeToString(tree[:]) + "\n" +
		"author a <a@example.com> 1700000000 +0000\ncommitter a <a@example.com> 1700000000 +0000\n\ncrafted\n"
	return c.put(plumbing.CommitObject, []byte(raw)).String()
}

func TestExportTreeRefusesCraftedTrees(t *testing.T) {
	outside := t.TempDir()
	c := newCrafted(t)
	owned := c.tree(rawEntry{"100755", "owned.sh", c.blob("#!/bin/sh\necho owned\n")})
	ok := c.blob("kind: ConfigMap\n")
	for _, tc := range []struct {
		name string
		tree plumbing.Hash
		want []string
	}{
		{"symlink then a directory of its name", c.tree(rawEntry{"40000", "apps", c.tree(
			rawEntry{"120000", "evil", c.blob(outside)},
			rawEntry{"40000", "evil", owned},
		)}), []string{"apps/evil"}},
		{"in-tree symlink then a directory of its name", c.tree(
			rawEntry{"40000", "apps", c.tree(rawEntry{"100644", "a.yaml", ok})},
			rawEntry{"120000", "evil", c.blob("apps")},
			rawEntry{"40000", "evil", owned},
		), []string{"tree entry evil appears more than once"}},
		{"symlink then a file of its name", c.tree(
			rawEntry{"120000", "evil", c.blob(filepath.Join(outside, "owned.sh"))},
			rawEntry{"100755", "evil", c.blob("#!/bin/sh\n")},
		), []string{"evil"}},
		{"two files of one name", c.tree(
			rawEntry{"100644", "a.yaml", ok},
			rawEntry{"100644", "a.yaml", c.blob("kind: Secret\n")},
		), []string{"tree entry a.yaml appears more than once"}},
		{"chained symlinks out", c.tree(
			rawEntry{"120000", "e", c.blob("s/../x")},
			rawEntry{"120000", "s", c.blob(".")},
		), []string{`symlink e -> "s/../x" leads outside the tree (through other symlinks)`}},
		{"dot-dot", c.tree(rawEntry{"100644", "..", ok}), []string{`".." has an unsafe name`}},
		{".git", c.tree(rawEntry{"40000", ".Git", c.tree(rawEntry{"100644", "config", ok})}), []string{`".Git" has an unsafe name`}},
		{"slash in a name", c.tree(rawEntry{"100644", "a/b", ok}), []string{`tree entry "a/b" in / has an unsafe name`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			commit := c.commit(tc.tree)
			r := openT(t, c.dir)
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
	commit0 := c.commit(c.tree(
		rawEntry{"100644", "a.yaml", ok},
		rawEntry{"120000", "abs", c.blob(outside)},
		rawEntry{"40000", "d", c.tree(rawEntry{"120000", "up", c.blob("../../x")})},
	))
	r0 := openT(t, c.dir)
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
	commit := c.commit(c.tree(
		rawEntry{"40000", "apps", c.tree(
			rawEntry{"120000", "link.yaml", c.blob("../base/a.yaml")},
			rawEntry{"40000", "web", c.tree(rawEntry{"120000", "base", c.blob("../../base")})},
		)},
		rawEntry{"40000", "base", c.tree(rawEntry{"100644", "a.yaml", ok})},
	))
	r := openT(t, c.dir)
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
