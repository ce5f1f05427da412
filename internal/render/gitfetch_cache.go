package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gitops-pipe/pipe/internal/fetchcache"
	"github.com/gitops-pipe/pipe/internal/flock"
	"github.com/gitops-pipe/pipe/internal/redact"
)

// gitCacheSubdir is the directory of the bare repositories below CacheDir.
const gitCacheSubdir = "git"

// cachedRepo is the bare repository of remote in the cache: named by the
// SHA-256 of the URL without its credentials, so that one repository
// serves every token and no token is part of a path.
func (f *GoGitFetcher) cachedRepo(remote string) string {
	sum := sha256.Sum256([]byte(redact.URL(remote)))
	return filepath.Join(f.CacheDir, gitCacheSubdir, hex.EncodeToString(sum[:])+".git")
}

// lockCached takes the lock of remote's cached repository (waiting for
// another process or goroutine that holds it, until ctx ends) and returns
// the repository's directory, which the caller may then read and update
// until it calls unlock. What an interrupted run left beside it is
// removed.
func (f *GoGitFetcher) lockCached(ctx context.Context, remote string) (string, func(), error) {
	dir := f.cachedRepo(remote)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", nil, fmt.Errorf("download cache: %w", err)
	}
	unlock, err := flock.Lock(ctx, dir+".lock", "another fetch")
	if err != nil {
		return "", nil, fmt.Errorf("download cache: %w", err)
	}
	for _, pattern := range []string{dir + ".new-*", dir + ".old-*"} {
		left, _ := filepath.Glob(pattern)
		for _, p := range left {
			_ = os.RemoveAll(p)
		}
	}
	// Used now: a trim keeps it (TrimCache).
	if st, err := os.Stat(dir); err == nil {
		fetchcache.Used(dir, st, time.Now())
	}
	return dir, unlock, nil
}

// offlineMiss is the error for a ref that offline rendering needs and the
// cache does not hold.
func (f *GoGitFetcher) offlineMiss(dir, remote, ref string) error {
	return fmt.Errorf("%s at %s is not in the download cache (%s), and rendering is offline: "+
		"render once with the network to fill the cache (in CI, restore the cache directory before this step), or pin a ref the cache holds",
		redactURL(remote), ref, dir)
}
