package render

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/fetchcache"
	"github.com/gitops-pipe/pipe/internal/flock"
)

func TestTrimCacheGitRepositories(t *testing.T) {
	dir := t.TempDir()
	gitDir := filepath.Join(dir, gitCacheSubdir)
	now := time.Now()
	old := now.Add(-fetchcache.MaxUnused - time.Hour)
	mk := func(name string, mtime time.Time) string {
		p := filepath.Join(gitDir, name)
		if err := os.MkdirAll(filepath.Join(p, "objects"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "objects", "pack"), []byte("0123456789"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unused := mk("aaaa.git", old)
	recent := mk("bbbb.git", now.Add(-time.Hour))
	busy := mk("cccc.git", old)
	leftover := mk("dddd.git.new-42", now.Add(-25*time.Hour))
	fresh := mk("eeee.git.new-43", now)

	// A fetch holds busy's lock: its repository stays.
	unlock, err := flock.Lock(context.Background(), busy+".lock", "a test")
	if err != nil {
		t.Fatal(err)
	}
	got := TrimCache(dir, now)
	unlock()
	if got.Files != 3 || got.Bytes != 20 {
		t.Errorf("TrimCache removed %+v, want 2 files of 10 bytes and a lock", got)
	}
	if _, err := os.Stat(unused + ".lock"); !os.IsNotExist(err) {
		t.Errorf("the lock of a trimmed repository is kept: %v", err)
	}
	if _, err := os.Stat(busy + ".lock"); err != nil {
		t.Errorf("the lock of a busy repository: %v", err)
	}
	for _, p := range []string{unused, leftover} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s kept", filepath.Base(p))
		}
	}
	for _, p := range []string{recent, busy, fresh} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed", filepath.Base(p))
		}
	}

	// A fetch marks its repository used.
	f := &GoGitFetcher{CacheDir: dir}
	remote := "https://example.com/charts.git"
	p := mk(filepath.Base(f.cachedRepo(remote)), old)
	_, unlock, err = f.lockCached(context.Background(), remote)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if TrimCache(dir, now); !isDir(p) {
		t.Error("a repository fetched just now was trimmed")
	}
	// A lock left without its repository (by an older trim, or an
	// offline miss) goes once it is old.
	orphan := filepath.Join(gitDir, "ffff.git.lock")
	if err := os.WriteFile(orphan, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(orphan, old, old); err != nil {
		t.Fatal(err)
	}
	if TrimCache(dir, now); fileExists(orphan) {
		t.Error("an orphaned lock file is kept")
	}
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
