package source

import (
	"os"
	"testing"
	"time"
)

func TestZZPhases(t *testing.T) {
	dir := "/tmp/srcwork/benchclone"
	if _, err := os.Stat(dir); err != nil {
		src := newGen(benchApps, 42, false).build(t, "/tmp/srcwork/benchsrc", benchCommits)
		runGit(t, "", nil, "clone", "-q", "--no-local", "--no-checkout", src, dir)
	}
	apps := benchAppList()
	for range 3 {
		t0 := time.Now()
		r, _ := Open(dir)
		t1 := time.Now()
		b, _ := r.ResolveRevision("HEAD~1000")
		t2 := time.Now()
		h, _ := r.ResolveRevision("HEAD")
		t3 := time.Now()
		files, _ := r.ChangedFiles(b, h)
		t4 := time.Now()
		ChangedApps(apps, files)
		t5 := time.Now()
		r.Close()
		t.Logf("open %v resolve-base %v resolve-head %v changed-files %v changed-apps %v", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3), t5.Sub(t4))
	}
}
