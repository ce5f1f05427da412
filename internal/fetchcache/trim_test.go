package fetchcache

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// age sets the modification time of p to d before now.
func age(t *testing.T, p string, now time.Time, d time.Duration) {
	t.Helper()
	if err := os.Chtimes(p, now.Add(-d), now.Add(-d)); err != nil {
		t.Fatal(err)
	}
}

func TestTrimRemovesWhatNoRunUsed(t *testing.T) {
	dir := t.TempDir()
	c, _ := newCache(t, dir, false)
	now := time.Now()
	month := MaxUnused + time.Hour

	c.Put("chart", "old", []byte("old chart"))
	c.Put("chart", "used", []byte("used chart"))
	c.Put("chart", "fresh", []byte("fresh chart"))
	refOld, _ := c.refPath("chart", "old")
	refUsed, _ := c.refPath("chart", "used")
	blob := func(data string) string { h, _ := ParseDigest(Digest([]byte(data))); return c.blobPath(h) }
	for _, p := range []string{refOld, blob("old chart"), refUsed, blob("used chart")} {
		age(t, p, now, month)
	}
	// Read by this run: both its ref and its blob are marked used.
	if got, ok := c.Get("chart", "used", 1<<20); !ok || string(got) != "used chart" {
		t.Fatalf("Get used: %q %v", got, ok)
	}
	// What interrupted writes left: a day old goes, a fresh one stays (a
	// write in progress).
	leftover := filepath.Join(dir, "blobs", "sha256", ".tmp-123")
	inProgress := filepath.Join(dir, "blobs", "sha256", ".tmp-456")
	for _, p := range []string{leftover, inProgress} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	age(t, leftover, now, 25*time.Hour)

	got := Trim(dir, now)
	if got.Files != 3 || got.Bytes != int64(len("old chart")+len("partial"))+sizeOf(t, refUsed) {
		t.Errorf("Trim removed %+v, want the old ref, its blob and the leftover", got)
	}
	for _, p := range []string{refOld, blob("old chart"), leftover} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s kept: %v", p, err)
		}
	}
	for _, k := range []string{"used", "fresh"} {
		if _, ok := c.Get("chart", k, 1<<20); !ok {
			t.Errorf("%s removed", k)
		}
	}
	if _, err := os.Stat(inProgress); err != nil {
		t.Errorf("a write in progress was removed: %v", err)
	}
	if _, ok := c.Get("chart", "old", 1<<20); ok {
		t.Error("the trimmed entry is still served")
	}
}

// sizeOf is the size of the ref files written above (all the same size).
func sizeOf(t *testing.T, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func TestClaimTrimOncePerInterval(t *testing.T) {
	now := time.Now()
	if ClaimTrim(filepath.Join(t.TempDir(), "none"), now) {
		t.Error("a cache that does not exist is due a trim")
	}
	if ClaimTrim("", now) {
		t.Error(`"" is due a trim`)
	}
	dir := t.TempDir()
	if !ClaimTrim(dir, now) {
		t.Fatal("a new cache is not due a trim")
	}
	if ClaimTrim(dir, now.Add(TrimInterval-time.Minute)) {
		t.Error("due again within the interval")
	}
	if !ClaimTrim(dir, now.Add(TrimInterval+time.Minute)) {
		t.Error("not due after the interval")
	}
	// A time in the future (a clock set wrong once) does not stop trims.
	if err := os.WriteFile(filepath.Join(dir, trimFile), []byte("99999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !ClaimTrim(dir, now) {
		t.Error("a last trim in the future stops trimming")
	}
	// Garbage: due.
	if err := os.WriteFile(filepath.Join(dir, trimFile), []byte("yesterday"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !ClaimTrim(dir, now) {
		t.Error("an unreadable trim time stops trimming")
	}
}

func TestUsedRefreshesOncePerInterval(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	age(t, p, now, 30*time.Minute)
	st, _ := os.Stat(p)
	Used(p, st, now)
	if st2, _ := os.Stat(p); !st2.ModTime().Equal(st.ModTime()) {
		t.Error("a use within the interval wrote the time")
	}
	age(t, p, now, 2*time.Hour)
	st, _ = os.Stat(p)
	Used(p, st, now)
	if st2, _ := os.Stat(p); !st2.ModTime().Equal(now) {
		t.Errorf("time %v, want %v", st2.ModTime(), now)
	}
}
