package source

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkExportWorkTree measures the copy of a working tree an
// application with secrets is rendered in (pipe's head for a plan, sync or
// drift check of such an app): 200 applications' files at HEAD, with one
// file changed in the working tree. The peer does the same with git's own
// tools: `git stash create` is not a copy, so the peer is `git archive
// HEAD | tar -x` (the commit's files) plus `cp` of the changed file, run on
// the same checkout; pipe's sub-benchmark reports its time as a multiple
// of the peer's (x-git).
func BenchmarkExportWorkTree(b *testing.B) {
	dir := newGen(200, 7, false).build(b, filepath.Join(b.TempDir(), "repo"), 20)
	runGit(b, dir, nil, "checkout", "-q", "-f", "main")
	changed := filepath.Join(dir, appDir(3), "app.pipecd.yaml")
	if err := os.WriteFile(changed, []byte("# edited in the working tree\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	r := openT(b, dir)
	head := resolveT(b, r, "HEAD")
	tmp := b.TempDir()

	var gitNs float64
	b.Run("git-archive", func(b *testing.B) {
		for b.Loop() {
			out, err := os.MkdirTemp(tmp, "git-")
			if err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command("sh", "-c", `git archive HEAD | tar -x -C "$1" && mkdir -p "$1/$2" && cp "$2/app.pipecd.yaml" "$1/$2/"`, "sh", out, appDir(3))
			cmd.Dir = dir
			if msg, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("git archive: %v: %s", err, msg)
			}
			b.StopTimer()
			os.RemoveAll(out)
			b.StartTimer()
		}
		gitNs = perOp(b)
	})
	b.Run("pipe", func(b *testing.B) {
		for b.Loop() {
			out, err := os.MkdirTemp(tmp, "pipe-")
			if err != nil {
				b.Fatal(err)
			}
			if err := r.ExportWorkTree(head, out); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if got, err := os.ReadFile(filepath.Join(out, appDir(3), "app.pipecd.yaml")); err != nil || string(got) != "# edited in the working tree\n" {
				b.Fatalf("the working tree's change was not copied: %q, %v", got, err)
			}
			os.RemoveAll(out)
			b.StartTimer()
		}
		if gitNs > 0 {
			b.ReportMetric(perOp(b)/gitNs, "x-git")
		}
	})
}
