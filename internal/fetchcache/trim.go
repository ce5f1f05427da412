package fetchcache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gitops-pipe/pipe/internal/fsafe"
)

// A cache would grow with every chart version and values file a
// repository ever rendered. Like Go's build cache, it forgets what runs no
// longer use: an entry's modification time is moved to the time of use
// (at most once per UseInterval, so that reading is not writing), and a
// trim, at most once per TrimInterval, removes what has not been used for
// MaxUnused. CI caches restored with their times (actions/cache, GitLab's
// cache) keep what their jobs use and shed the rest.
const (
	// MaxUnused is how long an entry may go unused before a trim removes
	// it.
	MaxUnused = 30 * 24 * time.Hour
	// TrimInterval is how often a cache directory is trimmed.
	TrimInterval = 24 * time.Hour
	// UseInterval is how stale an entry's time may be before a use
	// refreshes it.
	UseInterval = time.Hour
	// trimFile holds the time of the last trim, below the directory.
	trimFile = "trim.txt"
	// StaleTemp is the age past which a temporary file (or directory) is
	// what an interrupted write left.
	StaleTemp = 24 * time.Hour
)

// Used records that the file or directory p was just used: its
// modification time is set to now when it is more than UseInterval old.
// Failing is not an error (a read-only cache is still a cache).
func Used(p string, st fs.FileInfo, now time.Time) {
	if st == nil || now.Sub(st.ModTime()) < UseInterval {
		return
	}
	_ = os.Chtimes(p, now, now)
}

// used refreshes the time of an entry this cache read.
func (c *Cache) used(p string, st fs.FileInfo) {
	if c.writable() {
		Used(p, st, time.Now())
	}
}

// ClaimTrim reports whether the cache in dir is due a trim (none in the
// last TrimInterval) and, if so, records now as the time of the last one:
// of several processes, usually one trims. A directory that cannot be
// written is never due.
func ClaimTrim(dir string, now time.Time) bool {
	if dir == "" {
		return false
	}
	p := filepath.Join(dir, trimFile)
	if b, err := fsafe.ReadHostFile(p, 64); err == nil {
		if sec, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
			last := time.Unix(sec, 0)
			if now.Sub(last) < TrimInterval && !last.After(now.Add(TrimInterval)) {
				return false
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if _, err := os.Stat(dir); err != nil {
		return false // nothing cached yet
	}
	return writeAtomic(p, []byte(strconv.FormatInt(now.Unix(), 10)+"\n")) == nil
}

// Trimmed counts what a trim removed.
type Trimmed struct {
	Files int
	Bytes int64
}

// Add adds o's counts to t.
func (t *Trimmed) Add(o Trimmed) {
	t.Files += o.Files
	t.Bytes += o.Bytes
}

// Trim removes the blobs and refs of the cache in dir that were last used
// MaxUnused before now, and the temporary files interrupted writes left
// (a day old). A ref whose blob is gone is a miss, like a blob never
// stored.
func Trim(dir string, now time.Time) Trimmed {
	var t Trimmed
	if dir == "" {
		return t
	}
	cutoff := now.Add(-MaxUnused)
	for _, sub := range []string{filepath.Join("blobs", "sha256"), "refs"} {
		root := filepath.Join(dir, sub)
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil // an unreadable directory is left alone
			}
			st, err := d.Info()
			if err != nil || !st.Mode().IsRegular() {
				return nil
			}
			limit := cutoff
			if strings.HasPrefix(d.Name(), ".tmp-") {
				limit = now.Add(-StaleTemp)
			}
			if st.ModTime().Before(limit) && os.Remove(p) == nil {
				t.Files++
				t.Bytes += st.Size()
			}
			return nil
		})
	}
	return t
}
