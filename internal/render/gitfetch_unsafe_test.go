package render

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/gitcraft"
)

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
		c := gitcraft.New(t, true)
		// A symlink chart/evil, then a directory chart/evil holding
		// owned.sh: written naively, owned.sh lands where evil points.
		chart := c.Tree(
			gitcraft.E("100644", "Chart.yaml", c.Blob(craftedChart)),
			gitcraft.E("120000", "evil", c.Blob(target)),
			gitcraft.E("40000", "evil", c.Tree(gitcraft.E("100755", "owned.sh", c.Blob("#!/bin/sh\necho owned\n")))),
		)
		commit := c.Commit(c.Tree(gitcraft.E("40000", "chart", chart)))
		tmp := t.TempDir()
		f := &GoGitFetcher{TempDir: tmp}
		_, _, err := f.Fetch(context.Background(), c.Dir, commit, "chart")
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
		in := gitInput(c.Dir, commit)
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
	c := gitcraft.New(t, true)
	tpl := c.Blob("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n")
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
			chart := c.Tree(
				gitcraft.E("100644", "Chart.yaml", c.Blob(craftedChart)),
				gitcraft.E("40000", "templates", c.Tree(
					gitcraft.E("100644", "cm.yaml", tpl),
					gitcraft.E("120000", "link.yaml", c.Blob(tc.target)),
				)),
			)
			commit := c.Commit(c.Tree(
				gitcraft.E("40000", "chart", chart),
				gitcraft.E("40000", "shared", c.Tree(gitcraft.E("100644", "cm.yaml", tpl))),
			))
			f := &GoGitFetcher{TempDir: t.TempDir()}
			dir, cleanup, err := f.Fetch(context.Background(), c.Dir, commit, "chart")
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
	c := gitcraft.New(t, true)
	commit := c.Commit(c.Tree(
		gitcraft.E("100644", "a.yaml", c.Blob("one\n")),
		gitcraft.E("100644", "a.yaml", c.Blob("two\n")),
	))
	f := &GoGitFetcher{TempDir: t.TempDir()}
	done := make(chan error, 1)
	go func() {
		_, _, err := f.Fetch(context.Background(), c.Dir, commit, "")
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
