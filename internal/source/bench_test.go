package source

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
)

const (
	benchApps    = 2000
	benchCommits = 1000
)

// benchAppList is the 2,000 applications of the generated monorepo; every
// tenth also triggers on the shared chart and ignores its docs.
func benchAppList() []*config.App {
	apps := make([]*config.App, benchApps)
	for i := range apps {
		d := appDir(i)
		spec := &config.GenericApplicationSpec{Name: filepath.Base(d)}
		if i%10 == 0 {
			spec.Trigger.OnCommit = config.OnCommit{Paths: []string{"charts/common/**"}, Ignores: []string{d + "/docs/**"}}
		}
		apps[i] = &config.App{Name: spec.Name, Kind: config.KindKubernetesApp, Dir: d, File: d + "/app.pipecd.yaml", Spec: spec}
	}
	return apps
}

// BenchmarkChangedApps measures what `pipe apps --changed` does on a monorepo
// of 2,000 applications: open the clone, resolve HEAD~1000 and HEAD, list the
// changed files and the applications they touch. The peer is
// `git diff --name-only HEAD~1000 HEAD`, run on the same clone; pipe's
// sub-benchmark reports its time as a multiple of git's (x-git).
func BenchmarkChangedApps(b *testing.B) {
	src := newGen(benchApps, 42, false).build(b, filepath.Join(b.TempDir(), "src"), benchCommits)
	// Benchmark on a clone: its pack is what a CI checkout receives.
	dir := filepath.Join(b.TempDir(), "clone")
	runGit(b, "", nil, "clone", "-q", "--no-local", "--no-checkout", src, dir)
	apps := benchAppList()
	base, head := fmt.Sprintf("HEAD~%d", benchCommits), "HEAD"

	run := func() ([]string, []AppChange) {
		r, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		files, err := r.ChangedFiles(resolveT(b, r, base), resolveT(b, r, head))
		if err != nil {
			b.Fatal(err)
		}
		changes, err := ChangedApps(apps, files)
		if err != nil {
			b.Fatal(err)
		}
		return files, changes
	}
	files, changes := run()
	if want := gitNames(b, dir, base, head); !slices.Equal(files, want) {
		b.Fatalf("ChangedFiles differs from git: %d files, git %d", len(files), len(want))
	}
	b.Logf("%d files changed, %d of %d applications touched", len(files), len(changes), len(apps))

	var gitNs float64
	b.Run("git-diff", func(b *testing.B) {
		for b.Loop() {
			cmd := exec.Command("git", "diff", "--name-only", base, head)
			cmd.Dir = dir
			if out, err := cmd.Output(); err != nil || strings.Count(string(out), "\n") < len(files)/2 {
				b.Fatalf("git diff: %v", err)
			}
		}
		gitNs = perOp(b)
	})
	b.Run("pipe", func(b *testing.B) {
		for b.Loop() {
			run()
		}
		if gitNs > 0 {
			b.ReportMetric(perOp(b)/gitNs, "x-git")
		}
	})
	b.Run("pipe-warm", func(b *testing.B) {
		r := openT(b, dir)
		for b.Loop() {
			files, err := r.ChangedFiles(resolveT(b, r, base), resolveT(b, r, head))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ChangedApps(apps, files); err != nil {
				b.Fatal(err)
			}
		}
		if gitNs > 0 {
			b.ReportMetric(perOp(b)/gitNs, "x-git")
		}
	})
}

func perOp(b *testing.B) float64 {
	return float64(b.Elapsed()) / float64(b.N) / float64(time.Nanosecond)
}
