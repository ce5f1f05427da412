package insights

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/source"
	"github.com/gitops-pipe/pipe/internal/state"
)

const (
	benchApps    = 200
	benchCommits = 50000
	benchDeploys = 100 // per app: 20,000 records
)

// benchRepo writes, with git fast-import, a history of benchCommits
// commits, each changing one file of one of benchApps applications, ten
// minutes apart; it returns the directory and the commits, oldest first.
func benchRepo(b *testing.B) (string, []string, time.Time) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "repo")
	run := func(stdin *os.File, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Stdin = stdin
		out, err := cmd.Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			b.Fatalf("git %v: %v\n%s", args, err, stderr)
		}
		return string(out)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	run(nil, "init", "-q", "-b", "main")
	stream := filepath.Join(b.TempDir(), "stream")
	f, err := os.Create(stream)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < benchCommits; i++ {
		t := start.Add(time.Duration(i) * 10 * time.Minute).Unix()
		msg := fmt.Sprintf("change %d", i)
		content := fmt.Sprintf("v%d\n", i)
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter t <t@example.com> %d +0000\ndata %d\n%s\n", t, len(msg), msg)
		fmt.Fprintf(w, "M 100644 inline apps/app%03d/values.yaml\ndata %d\n%s\n", i%benchApps, len(content), content)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	in, err := os.Open(stream)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	run(in, "fast-import", "--quiet")
	commits := strings.Fields(run(nil, "rev-list", "--reverse", "main"))
	if len(commits) != benchCommits {
		b.Fatalf("%d commits", len(commits))
	}
	run(nil, "checkout", "-q", "main")
	return dir, commits, start
}

// benchApps makes the records: each app is deployed every
// benchCommits/benchApps/benchDeploys of its own commits, half an hour
// after the commit; one in 15 fails and is rolled back, one in 40 is
// cancelled.
func benchAppsOf(commits []string, start time.Time) []App {
	apps := make([]App, benchApps)
	step := benchCommits / benchApps / benchDeploys
	for a := range apps {
		apps[a] = App{Name: fmt.Sprintf("app%03d", a), Kind: "KubernetesApp", Dir: fmt.Sprintf("apps/app%03d", a)}
		n := 0
		for i := a; i < benchCommits; i += benchApps {
			n++
			if n%step != 0 {
				continue
			}
			end := start.Add(time.Duration(i)*10*time.Minute + 30*time.Minute)
			rec := &state.Record{ID: fmt.Sprintf("%s-%d", apps[a].Name, i), App: apps[a].Name, Status: state.StatusSucceeded,
				Target: state.Commit{Hash: commits[i]}, StartedAt: end.Add(-5 * time.Minute), EndedAt: end}
			switch {
			case n%15 == 0:
				rec.Status = state.StatusFailed
				rec.Stages = []state.Stage{{Name: "ROLLBACK", Status: state.StageSucceeded, StartedAt: end.Add(-time.Minute), EndedAt: end}}
			case n%40 == 0:
				rec.Status = state.StatusCancelled
			}
			apps[a].Records = append(apps[a].Records, rec)
		}
	}
	return apps
}

// BenchmarkInsights: a year of 20,000 deployments of 200 applications
// over 50,000 commits (the history read, each commit compared with its
// parent once), against `git log --name-only` over the same commits.
func BenchmarkInsights(b *testing.B) {
	dir, commits, start := benchRepo(b)
	apps := benchAppsOf(commits, start)
	records := 0
	for _, a := range apps {
		records += len(a.Records)
	}
	opts := Options{Since: start, Until: start.AddDate(1, 0, 0), By: Week}
	compute := func() *Report {
		r, err := source.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		o := opts
		o.History = RepoHistory{Repo: r, HeadHash: commits[len(commits)-1]}
		rep, err := Compute(apps, o)
		if err != nil {
			b.Fatal(err)
		}
		return rep
	}
	rep := compute()
	b.Logf("%d records, %d commits: %d successful, lead time median %s over %d commits, %d notes",
		records, len(commits), rep.Overall.DeploymentFrequency.Successful, formatDuration(rep.Overall.LeadTime.MedianSeconds), rep.Overall.LeadTime.Count, len(rep.Notes))
	if rep.Overall.LeadTime.Count < benchCommits/2 {
		b.Fatalf("only %d commits attributed", rep.Overall.LeadTime.Count)
	}
	var gitNs float64
	b.Run("git-log", func(b *testing.B) {
		for b.Loop() {
			cmd := exec.Command("git", "log", "--name-only", "--format=%H %ct", "main")
			cmd.Dir = dir
			out, err := cmd.Output()
			if err != nil || strings.Count(string(out), "\n") < benchCommits {
				b.Fatalf("git log: %v", err)
			}
		}
		gitNs = float64(b.Elapsed()) / float64(b.N)
	})
	b.Run("pipe", func(b *testing.B) {
		for b.Loop() {
			compute()
		}
		if gitNs > 0 {
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/gitNs, "x-git")
		}
	})
}
