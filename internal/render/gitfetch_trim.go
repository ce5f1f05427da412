package render

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitops-pipe/pipe/internal/fetchcache"
	"github.com/gitops-pipe/pipe/internal/flock"
)

// TrimCache removes what the download cache in dir has not used for
// fetchcache.MaxUnused before now: blobs and refs (fetchcache.Trim) and
// the bare repositories of Git remotes. A repository another process is
// fetching into is left alone.
func TrimCache(dir string, now time.Time) fetchcache.Trimmed {
	t := fetchcache.Trim(dir, now)
	if dir == "" {
		return t
	}
	gitDir := filepath.Join(dir, gitCacheSubdir)
	entries, err := os.ReadDir(gitDir)
	if err != nil {
		return t
	}
	cutoff := now.Add(-fetchcache.MaxUnused)
	done, cancel := context.WithCancel(context.Background())
	cancel() // one attempt at each lock: never wait for a fetch
	for _, e := range entries {
		name := e.Name()
		p := filepath.Join(gitDir, name)
		st, err := e.Info()
		if err != nil {
			continue
		}
		switch {
		case st.Mode().IsRegular() && strings.HasSuffix(name, ".git.lock"):
			// The lock of a repository that is not there: trimmed before
			// locks were removed with them, or never made (an offline
			// miss locks it and creates nothing).
			repo := strings.TrimSuffix(p, ".lock")
			if _, err := os.Lstat(repo); os.IsNotExist(err) && st.ModTime().Before(cutoff) {
				if unlock, err := flock.Lock(done, p, "a fetch"); err == nil {
					if _, err := os.Lstat(repo); os.IsNotExist(err) && flock.Remove(p) == nil {
						t.Files++
					}
					unlock()
				}
			}
		case !st.IsDir():
		case strings.HasSuffix(name, ".git"):
			if !st.ModTime().Before(cutoff) {
				continue
			}
			unlock, err := flock.Lock(done, p+".lock", "a fetch")
			if err != nil {
				continue
			}
			// Used since it was listed?
			if again, err := os.Stat(p); err == nil && again.ModTime().Before(cutoff) {
				if r, ok := removeTree(p); ok {
					t.Add(r)
					// Its lock goes too, while held: a fetch waiting for
					// it locks the next one (flock.Lock).
					if flock.Remove(p+".lock") == nil {
						t.Files++
					}
				}
			}
			unlock()
		case strings.Contains(name, ".git.new-") || strings.Contains(name, ".git.old-"):
			// What an interrupted fetch left (the next fetch of that
			// remote removes it too).
			if st.ModTime().Before(now.Add(-fetchcache.StaleTemp)) {
				r, _ := removeTree(p)
				t.Add(r)
			}
		}
	}
	return t
}

// removeTree removes the directory p, counting what it held; ok is
// false when it could not be removed.
func removeTree(p string) (_ fetchcache.Trimmed, ok bool) {
	var t fetchcache.Trimmed
	_ = filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if st, err := d.Info(); err == nil {
				t.Files++
				t.Bytes += st.Size()
			}
		}
		return nil
	})
	if os.RemoveAll(p) != nil {
		return fetchcache.Trimmed{}, false
	}
	return t, true
}
