// Package fetchcache is pipe's content-addressed download cache: what
// rendering downloads (chart repository indexes, chart archives, OCI
// manifests and layers, remote values files) is kept as blobs named by
// their SHA-256, and refs map what was asked for (a kind and a key, e.g. a
// repository URL, a chart name and an exact version) to a blob.
//
// Everything read back is verified: a blob whose content does not hash to
// its name (truncated, corrupted, tampered with) is removed and taken for
// a miss, never used. Writes are atomic (a temporary file renamed into
// place), so several pipe processes may share one cache directory. A cache
// directory that cannot be written degrades to no caching, with one
// warning, never to a failure.
//
// In offline mode the cache is the only source: callers ask Missing for
// the error of what is not in it.
//
// Layout below the directory (DefaultDir; other caches may live beside,
// e.g. git/): blobs/sha256/<hex> and
// refs/<kind>/<sha256 of the key>.json ({"digest": ...}; the key itself is
// not written down, for it may be a URL holding a token).
package fetchcache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
)

// EnvVar is the environment variable that names the download cache
// directory (the CLI's --download-cache flag sets the same).
const EnvVar = "PIPE_DOWNLOAD_CACHE"

// how names the ways to choose the directory, for messages.
const how = "--download-cache or " + EnvVar

// DefaultDir is the download cache directory of a run: $PIPE_DOWNLOAD_CACHE,
// else $XDG_CACHE_HOME/pipe/downloads, else ~/.cache/pipe/downloads
// (internal/testenv keeps its builds beside it, in pipe/testenv). The
// environment is read through getenv (os.Getenv): the package reads none
// itself, and callers may take the directory from elsewhere.
func DefaultDir(getenv func(string) string) (string, error) {
	if d := getenv(EnvVar); d != "" {
		return filepath.Abs(d)
	}
	// The XDG base directory spec: a relative path is invalid and ignored.
	if x := getenv("XDG_CACHE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "pipe", "downloads"), nil
	}
	home := getenv("HOME")
	if home == "" && runtime.GOOS == "windows" {
		home = getenv("USERPROFILE")
	}
	if home == "" {
		return "", errors.New("download cache: none of " + EnvVar + ", XDG_CACHE_HOME or HOME is set: give a directory pipe may write (" + how + ")")
	}
	return filepath.Join(home, ".cache", "pipe", "downloads"), nil
}

// Options configure a Cache.
type Options struct {
	// Offline makes the cache the only source of downloads: callers
	// consult Offline and fail with Missing on a miss.
	Offline bool
	// Warn receives the warnings (a directory that cannot be written, a
	// corrupt blob removed); nil writes them to standard error.
	Warn func(msg string)
}

// Cache is a download cache in a directory. Its methods are safe for
// concurrent use, and several processes may use one directory. The zero
// directory ("") caches nothing: reads miss and writes are dropped.
type Cache struct {
	dir     string
	offline bool
	warn    func(string)

	// readOnly is set at the first failed write: the directory is then
	// only read.
	readOnly  atomic.Bool
	warnWrite sync.Once
}

// New returns the cache in dir (created when first written; "" caches
// nothing).
func New(dir string, opts Options) *Cache {
	c := &Cache{dir: dir, offline: opts.Offline, warn: opts.Warn}
	if c.warn == nil {
		c.warn = func(msg string) { fmt.Fprintf(os.Stderr, "warning: %s\n", msg) }
	}
	return c
}

// Dir is the cache directory ("" for none).
func (c *Cache) Dir() string { return c.dir }

// Offline reports whether the network is forbidden: what is needed must
// come from the cache.
func (c *Cache) Offline() bool { return c.offline }

// ErrMissing is matched (errors.Is) by the errors of Missing.
var ErrMissing = errors.New("not in the download cache")

// MissError is the error of a download that offline mode forbade and the
// cache could not serve.
type MissError struct {
	// What names what was needed, e.g. "chart web 1.2.0 of
	// https://charts.example.com".
	What string
	// Dir is the cache directory ("" for none).
	Dir string
}

func (e *MissError) Error() string {
	if e.Dir == "" {
		return fmt.Sprintf("offline: %s must be downloaded, and no download cache directory is set: run without --offline, or give the download cache directory of a run that had network (%s)", e.What, how)
	}
	return fmt.Sprintf("offline: %s is not in the download cache %s: run once with network (without --offline) to fill it, or restore the cache directory", e.What, e.Dir)
}

// Is makes MissError match ErrMissing.
func (e *MissError) Is(target error) bool { return target == ErrMissing }

// Missing returns the error for what (a description of the download)
// missing from the cache in offline mode.
func (c *Cache) Missing(what string) error { return &MissError{What: what, Dir: c.dir} }

// writeFailed records a failed write: the first one warns and turns
// writing off for the rest of the run (reads go on).
func (c *Cache) writeFailed(err error) {
	c.readOnly.Store(true)
	c.warnWrite.Do(func() {
		c.warn(fmt.Sprintf("the download cache %s cannot be written (%v): this run downloads without caching; make it writable, or choose another directory (%s)", c.dir, err, how))
	})
}

// writable reports whether writes are attempted.
func (c *Cache) writable() bool { return c.dir != "" && !c.readOnly.Load() }

// writeAtomic writes data to path through a temporary file of its
// directory renamed into place (0644, directories 0755), so that readers,
// in this process or another, see the whole file or none.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
