package render

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// craftedRepo is a local repository whose objects are written by hand, so
// that its trees may hold what Git itself never writes (two entries with
// one name, symlinks out of the tree).
type craftedRepo struct {
	t    *testing.T
	dir  string
	repo *git.Repository
}

func newCraftedRepo(t *testing.T) *craftedRepo {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	return &craftedRepo{t: t, dir: dir, repo: repo}
}

func (c *craftedRepo) put(typ plumbing.ObjectType, data []byte) plumbing.Hash {
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

func (c *craftedRepo) blob(s string) plumbing.Hash { return c.put(plumbing.BlobObject, []byte(s)) }

// entry is one raw tree entry: mode as Git writes it ("100644", "120000",
// "40000"), its name and its object.
type entry struct {
	mode, name string
	hash       plumbing.Hash
}

// tree encodes the entries in the order given (no sorting, no checks).
func (c *craftedRepo) tree(entries ...entry) plumbing.Hash {
	var b bytes.Buffer
	for _, e := range entries {
		b.WriteString(e.mode + " " + e.name + "\x00")
		b.Write(e.hash[:])
	}
	return c.put(plumbing.TreeObject, b.Bytes())
}

// commit makes a commit of tree and returns its hash as hex.
func (c *craftedRepo) commit(tree plumbing.Hash) string {
	raw := "tree " + hex.EncodeToString(tree[:]) + "\n" +
		"author a <a@example.com> 1700000000 +0000\ncommitter a <a@example.com> 1700000000 +0000\n\ncrafted\n"
	h := c.put(plumbing.CommitObject, []byte(raw))
	return h.String()
}

const craftedChart = "apiVersion: v2\nname: web\nversion: 0.1.0\n"

// nothingWritten fails when dir holds anything.
func nothingWritten(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("written outside the fetched tree: %s", filepath.Join(dir, e.Name()))
	}
}

func TestGitFetchRefusesWritingThroughASymlink(t *testing.T) {
	outside := t.TempDir()
	up := strings.Repeat("../", strings.Count(outside, string(filepath.Separator))+2)
	for _, target := range []string{outside, filepath.ToSlash(up + outside), "."} {
		c := newCraftedRepo(t)
		// A symlink chart/evil, then a directory chart/evil holding
		// owned.sh: written naively, owned.sh lands where evil points.
		chart := c.tree(
			entry{"100644", "Chart.yaml", c.blob(craftedChart)},
			entry{"120000", "evil", c.blob(target)},
			entry{"40000", "evil", c.tree(entry{"100755", "owned.sh", c.blob("#!/bin/sh\necho owned\n")})},
		)
		commit := c.commit(c.tree(entry{"40000", "chart", chart}))
		tmp := t.TempDir()
		f := &GoGitFetcher{TempDir: tmp}
		_, _, err := f.Fetch(context.Background(), c.dir, commit, "chart")
		if err == nil {
			t.Fatalf("evil -> %s: fetch succeeded", target)
		}
		wantErr(t, err, "chart/evil")
		nothingWritten(t, outside)
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("temporary trees left behind: %v", left)
		}

		// Through the renderer: the chart is refused, nothing is written.
		r := &Renderer{Git: f}
		root := writeFiles(t, t.TempDir(), map[string]string{"app/.keep": ""})
		in := gitInput(c.dir, commit)
		in.HelmChart.Path = "chart"
		wantErr(t, renderErr(t, r, app(root, "app", in)), "chart/evil")
		nothingWritten(t, outside)
		if _, err := os.Lstat(filepath.Join(root, "app", "owned.sh")); err == nil {
			t.Errorf("owned.sh written in the repository")
		}
	}
}

func TestGitFetchSymlinks(t *testing.T) {
	outside := t.TempDir()
	c := newCraftedRepo(t)
	tpl := c.blob("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n")
	for _, tc := range []struct {
		name, target string
		ok           bool
	}{
		{"in-tree", "../shared/cm.yaml", true},
		{"same-dir", "cm.yaml", true},
		{"absolute", outside, false},
		{"climbing", "../../../etc/passwd", false},
		{"back-in", "../../chart/templates/cm.yaml", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chart := c.tree(
				entry{"100644", "Chart.yaml", c.blob(craftedChart)},
				entry{"40000", "templates", c.tree(
					entry{"100644", "cm.yaml", tpl},
					entry{"120000", "link.yaml", c.blob(tc.target)},
				)},
			)
			commit := c.commit(c.tree(
				entry{"40000", "chart", chart},
				entry{"40000", "shared", c.tree(entry{"100644", "cm.yaml", tpl})},
			))
			f := &GoGitFetcher{TempDir: t.TempDir()}
			dir, cleanup, err := f.Fetch(context.Background(), c.dir, commit, "chart")
			if !tc.ok {
				if err == nil {
					cleanup()
					t.Fatal("fetch succeeded")
				}
				wantErr(t, err, "chart/templates/link.yaml", tc.target)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup()
			got, err := os.Readlink(filepath.Join(dir, "chart", "templates", "link.yaml"))
			if err != nil || got != tc.target {
				t.Errorf("link.yaml -> %q, %v; want %q", got, err, tc.target)
			}
		})
	}
	nothingWritten(t, outside)
}

func TestGitFetchRefusesDuplicateEntries(t *testing.T) {
	c := newCraftedRepo(t)
	commit := c.commit(c.tree(
		entry{"100644", "a.yaml", c.blob("one\n")},
		entry{"100644", "a.yaml", c.blob("two\n")},
	))
	f := &GoGitFetcher{TempDir: t.TempDir()}
	done := make(chan error, 1)
	go func() {
		_, _, err := f.Fetch(context.Background(), c.dir, commit, "")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("fetch succeeded")
		}
		wantErr(t, err, "a.yaml")
		if !strings.Contains(err.Error(), "more than once") {
			t.Errorf("error %q does not say the entry is repeated", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("fetch did not return")
	}
}
