package fetchcache

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// warnings collects a cache's warnings.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) add(msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

func newCache(t *testing.T, dir string, offline bool) (*Cache, *warnings) {
	t.Helper()
	w := &warnings{}
	return New(dir, Options{Offline: offline, Warn: w.add}), w
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c, w := newCache(t, dir, false)
	data := []byte("apiVersion: v1\nentries: {}\n")
	key := "https://charts.example.com|web|1.2.0"
	if _, ok := c.Get("chart", key, 1<<20); ok {
		t.Fatal("a hit in an empty cache")
	}
	d := c.Put("chart", key, data)
	if d != Digest(data) || !strings.HasPrefix(d, "sha256:") {
		t.Fatalf("digest %s", d)
	}
	// Another Cache on the directory (another process) reads it.
	c2, _ := newCache(t, dir, true)
	got, ok := c2.Get("chart", key, 1<<20)
	if !ok || !bytes.Equal(got, data) {
		t.Fatalf("Get = %q, %v", got, ok)
	}
	if ref, ok := c2.Ref("chart", key); !ok || ref != d {
		t.Errorf("Ref = %s, %v", ref, ok)
	}
	// The blob is also found by its digest, in either form.
	h, _ := ParseDigest(d)
	for _, name := range []string{d, h, strings.ToUpper(h)} {
		if got, ok := c2.Blob(name, 1<<20); !ok || !bytes.Equal(got, data) {
			t.Errorf("Blob(%s) = %q, %v", name, got, ok)
		}
	}
	// Other kinds and keys miss; so do bad kinds and digests.
	for _, k := range [][2]string{{"index", key}, {"chart", key + "x"}, {"../chart", key}, {"", key}} {
		if _, ok := c2.Get(k[0], k[1], 1<<20); ok {
			t.Errorf("Get(%q, %q) hit", k[0], k[1])
		}
	}
	for _, bad := range []string{"", "sha256:", "sha256:zz" + h[2:], "md5:" + h, h[:10]} {
		if _, ok := c2.Blob(bad, 1<<20); ok {
			t.Errorf("Blob(%q) hit", bad)
		}
	}
	// Bounded: a blob larger than the caller's cap is a miss (and kept).
	if _, ok := c2.Get("chart", key, int64(len(data)-1)); ok {
		t.Error("a blob past the cap was returned")
	}
	if _, ok := c2.Get("chart", key, int64(len(data))); !ok {
		t.Error("the blob was removed after a capped read")
	}
	// Repointing a ref.
	other := []byte("other")
	c.Put("chart", key, other)
	if got, _ := c2.Get("chart", key, 1<<20); !bytes.Equal(got, other) {
		t.Errorf("after Put: %q", got)
	}
	// The key is not written down (it may be a URL with a token).
	refs, _ := filepath.Glob(filepath.Join(dir, "refs", "chart", "*.json"))
	for _, p := range refs {
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("charts.example.com")) {
			t.Errorf("%s holds the key: %s", p, b)
		}
	}
	// Layout and permissions.
	st, err := os.Stat(filepath.Join(dir, "blobs", "sha256", h))
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("blob file: %v, %v", st, err)
	}
	for _, sub := range []string{"blobs", "blobs/sha256", "refs", "refs/chart"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err != nil || st.Mode().Perm()&0o755 != 0o755 {
			t.Errorf("%s: %v, %v", sub, st, err)
		}
	}
	if len(w.all()) != 0 {
		t.Errorf("warnings: %q", w.all())
	}
}

func TestCorruptBlob(t *testing.T) {
	dir := t.TempDir()
	c, w := newCache(t, dir, false)
	data := []byte(strings.Repeat("chart archive ", 100))
	d := c.Put("chart", "k", data)
	h, _ := ParseDigest(d)
	p := filepath.Join(dir, "blobs", "sha256", h)
	for name, corrupt := range map[string][]byte{
		"truncated": data[:len(data)/2],
		"flipped":   append([]byte("X"), data[1:]...),
		"empty":     nil,
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(p, corrupt, 0o644); err != nil {
				t.Fatal(err)
			}
			if got, ok := c.Get("chart", "k", 1<<20); ok {
				t.Fatalf("a corrupt blob was returned: %q", got)
			}
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the corrupt blob was kept: %v", err)
			}
			// Storing it again repairs the cache.
			c.Put("chart", "k", data)
			if got, ok := c.Get("chart", "k", 1<<20); !ok || !bytes.Equal(got, data) {
				t.Errorf("after a new Put: %v", ok)
			}
		})
	}
	ws := w.all()
	if len(ws) != 3 || !strings.Contains(ws[0], "corrupt copy of "+d) {
		t.Errorf("warnings: %q", ws)
	}
	// A corrupt ref file is a miss too.
	refs, _ := filepath.Glob(filepath.Join(dir, "refs", "chart", "*.json"))
	if len(refs) != 1 {
		t.Fatalf("refs: %v", refs)
	}
	for _, content := range []string{"{", `{"digest":"` + d[:20] + `"}`, `{"digest":"sha256:nothex"}`, strings.Repeat(" ", maxRefSize+1)} {
		os.WriteFile(refs[0], []byte(content), 0o644)
		if _, ok := c.Get("chart", "k", 1<<20); ok {
			t.Errorf("ref %s: a hit", content)
		}
	}
}

func TestOfflineMiss(t *testing.T) {
	dir := t.TempDir()
	c, _ := newCache(t, dir, true)
	if !c.Offline() || c.Dir() != dir {
		t.Fatalf("Offline %v, Dir %s", c.Offline(), c.Dir())
	}
	err := c.Missing("chart web 1.2.0 of https://charts.example.com")
	want := "offline: chart web 1.2.0 of https://charts.example.com is not in the download cache " + dir +
		": run once with network (without --offline) to fill it, or restore the cache directory"
	if err.Error() != want {
		t.Errorf("error:\n  %s\nwant\n  %s", err, want)
	}
	var me *MissError
	if !errors.Is(err, ErrMissing) || !errors.As(err, &me) || me.Dir != dir {
		t.Errorf("error type: %#v", err)
	}
	none, _ := newCache(t, "", true)
	if _, ok := none.Get("chart", "k", 10); ok {
		t.Error("a hit without a directory")
	}
	none.Put("chart", "k", []byte("x"))
	err = none.Missing("the index of https://charts.example.com")
	if !strings.Contains(err.Error(), "no download cache directory is set") || !strings.Contains(err.Error(), "(--download-cache or PIPE_DOWNLOAD_CACHE)") {
		t.Errorf("error without a directory: %v", err)
	}
}

func TestUnwritableDir(t *testing.T) {
	// A regular file where the cache directory should be: writing fails
	// even for root, which permission bits do not stop.
	parent := t.TempDir()
	if err := os.WriteFile(filepath.Join(parent, "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "file", "cache")
	c, w := newCache(t, dir, false)
	for i := range 3 {
		data := []byte("blob " + strconv.Itoa(i))
		if d := c.Put("chart", "k"+strconv.Itoa(i), data); d != Digest(data) {
			t.Errorf("digest %s", d)
		}
		if _, ok := c.Get("chart", "k"+strconv.Itoa(i), 100); ok {
			t.Error("a hit")
		}
	}
	ws := w.all()
	if len(ws) != 1 || !strings.Contains(ws[0], "the download cache "+dir+" cannot be written") ||
		!strings.Contains(ws[0], "without caching") || !strings.Contains(ws[0], "choose another directory (--download-cache or PIPE_DOWNLOAD_CACHE)") {
		t.Errorf("warnings: %q", ws)
	}
}

// A cache that cannot be written is still read: a restored read-only
// cache serves what it holds.
func TestReadOnlyDirStillRead(t *testing.T) {
	dir := t.TempDir()
	c, _ := newCache(t, dir, false)
	c.Put("chart", "k", []byte("kept"))
	ro, w := newCache(t, dir, false)
	ro.writeFailed(errors.New("read-only file system"))
	if got, ok := ro.Get("chart", "k", 100); !ok || string(got) != "kept" {
		t.Errorf("Get = %q, %v", got, ok)
	}
	ro.Put("chart", "k2", []byte("new"))
	if _, ok := c.Get("chart", "k2", 100); ok {
		t.Error("a read-only cache wrote")
	}
	if len(w.all()) != 1 {
		t.Errorf("warnings: %q", w.all())
	}
}

func TestDefaultDir(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	abs, _ := filepath.Abs("rel")
	for _, c := range []struct {
		getenv func(string) string
		want   string
	}{
		{env("PIPE_DOWNLOAD_CACHE", "/c", "XDG_CACHE_HOME", "/x", "HOME", "/h"), "/c"},
		{env("PIPE_DOWNLOAD_CACHE", "rel"), abs},
		{env("XDG_CACHE_HOME", "/x", "HOME", "/h"), "/x/pipe/downloads"},
		{env("XDG_CACHE_HOME", "relative", "HOME", "/h"), "/h/.cache/pipe/downloads"},
		{env("HOME", "/h"), "/h/.cache/pipe/downloads"},
	} {
		got, err := DefaultDir(c.getenv)
		if err != nil || got != filepath.FromSlash(c.want) {
			t.Errorf("DefaultDir = %s, %v; want %s", got, err, c.want)
		}
	}
	if _, err := DefaultDir(env()); err == nil || !strings.Contains(err.Error(), "(--download-cache or PIPE_DOWNLOAD_CACHE)") {
		t.Errorf("no environment: %v", err)
	}
}

// concurrentWork writes and reads the same refs and blobs as other
// writers: every read must be a miss or the exact content.
func concurrentWork(dir string, worker int) error {
	c := New(dir, Options{Warn: func(string) {}})
	for i := range 50 {
		shared := []byte(strings.Repeat("shared content ", 1000) + strconv.Itoa(i))
		own := []byte(fmt.Sprintf("worker %d item %d", worker, i))
		c.Put("shared", strconv.Itoa(i), shared)
		c.Put("own", fmt.Sprintf("%d/%d", worker, i), own)
		if got, ok := c.Get("shared", strconv.Itoa(i), 1<<20); ok && !bytes.Equal(got, shared) {
			return fmt.Errorf("worker %d: shared %d read wrong content", worker, i)
		}
		if got, ok := c.Get("own", fmt.Sprintf("%d/%d", worker, i), 1<<20); !ok || !bytes.Equal(got, own) {
			return fmt.Errorf("worker %d: own %d: %q, %v", worker, i, got, ok)
		}
	}
	return nil
}

func TestConcurrentWriters(t *testing.T) {
	if dir := os.Getenv("FETCHCACHE_TEST_DIR"); dir != "" {
		// A child process of the test below.
		w, _ := strconv.Atoi(os.Getenv("FETCHCACHE_TEST_WORKER"))
		if err := concurrentWork(dir, w); err != nil {
			t.Fatal(err)
		}
		return
	}
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	// Goroutines with a Cache each, and processes.
	for w := range 4 {
		wg.Go(func() { errs <- concurrentWork(dir, w) })
	}
	for w := 4; w < 8; w++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentWriters$")
		cmd.Env = append(os.Environ(), "FETCHCACHE_TEST_DIR="+dir, "FETCHCACHE_TEST_WORKER="+strconv.Itoa(w))
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("worker process %d: %v\n%s", w, err, out)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	// Everything is there, intact, and no temporary file is left.
	c, _ := newCache(t, dir, false)
	for w := range 8 {
		for i := range 50 {
			if _, ok := c.Get("own", fmt.Sprintf("%d/%d", w, i), 1<<20); !ok {
				t.Fatalf("own %d/%d missing", w, i)
			}
		}
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, "*", "*", ".tmp-*"))
	if len(tmps) > 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
}
