//go:build unix

package startup

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"text/tabwriter"
)

// The goals of issue 22.
const (
	goalStartRatio = 2.0   // pipe version and validate: at most 2x hello-world's time
	goalSizeMB     = 50.0  // the stripped binary
	goalLiveRSSMB  = 100.0 // peak RSS of pipe plan --live on 300 objects
)

// BenchmarkStartup builds pipe and hello-world, then times their runs (see
// the package documentation):
//
//	go test -run '^$' -bench Startup -benchtime 20x ./internal/release/startup
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	bins := buildBinaries(b, dir)
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		b.Fatal(err)
	}
	env := runEnv(home)
	repo := filepath.Join(dir, "one-app")
	oneAppRepo(b, repo, env)
	var live liveSetup
	b.Cleanup(live.stop)

	rows := map[string]measurement{}
	ratio := func(b *testing.B, m measurement) {
		if hello, ok := rows["hello"]; ok && hello.msPerOp > 0 {
			b.ReportMetric(m.msPerOp/hello.msPerOp, "x-hello")
		}
	}
	b.Run("hello", func(b *testing.B) {
		rows["hello"] = run(b, program{path: bins.hello, dir: repo, env: env, want: "hello, world"}, bins.probe)
		b.ReportMetric(mb(bins.helloSize), "stripped-MB")
	})
	b.Run("version", func(b *testing.B) {
		m := run(b, program{path: bins.pipe, args: []string{"version"}, dir: repo, env: env, want: "pipe "}, bins.probe)
		ratio(b, m)
		b.ReportMetric(mb(bins.pipeSize), "stripped-MB")
		rows["version"] = m
	})
	b.Run("validate", func(b *testing.B) {
		m := run(b, program{path: bins.pipe, args: []string{"validate"}, dir: repo, env: env, want: "1 valid"}, bins.probe)
		ratio(b, m)
		rows["validate"] = m
	})
	b.Run("plan-live-300", func(b *testing.B) {
		live.prepare(b, bins.pipe, dir)
		if live.skip != "" {
			b.Skip(live.skip)
		}
		rows["plan-live-300"] = run(b, live.prog, bins.probe)
	})
	// testing prints the log of a benchmark that has sub-benchmarks only
	// with -v; the table is the point of the run, so it goes to stdout
	// otherwise.
	if table := summary(rows, bins, live.skip); testing.Verbose() {
		b.Log("\n" + table)
	} else {
		fmt.Print(table)
	}
}

// summary is the table of the run against the goals.
func summary(rows map[string]measurement, bins binaries, liveSkip string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "built with CGO_ENABLED=0 -trimpath -ldflags '%s'; %s %s/%s, %d CPUs; MB = 10^6 bytes\n",
		releaseLDFlags, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "run\tms/op\tx hello-world\tpeak RSS MB\tgoal\tstatus")
	hello, haveHello := rows["hello"]
	for _, r := range []struct {
		key, label, goal string
		met              func(m measurement) (ok, known bool)
	}{
		{"hello", "hello-world", "", nil},
		{"version", "pipe version", fmt.Sprintf("<= %gx hello-world", goalStartRatio), func(m measurement) (bool, bool) {
			return m.msPerOp <= goalStartRatio*hello.msPerOp, haveHello
		}},
		{"validate", "pipe validate (1 app)", fmt.Sprintf("<= %gx hello-world", goalStartRatio), func(m measurement) (bool, bool) {
			return m.msPerOp <= goalStartRatio*hello.msPerOp, haveHello
		}},
		{"plan-live-300", "pipe plan --live (300 objects)", fmt.Sprintf("peak RSS < %g MB", goalLiveRSSMB), func(m measurement) (bool, bool) {
			return mb(m.peakRSS) < goalLiveRSSMB, true
		}},
	} {
		m, ok := rows[r.key]
		if !ok {
			why := "not run"
			if r.key == "plan-live-300" && liveSkip != "" {
				why = "skipped: " + liveSkip
			}
			fmt.Fprintf(tw, "%s\t-\t-\t-\t%s\t%s\n", r.label, r.goal, why)
			continue
		}
		x := "-"
		if haveHello && r.key != "plan-live-300" {
			x = fmt.Sprintf("%.2f", m.msPerOp/hello.msPerOp)
		}
		status := ""
		if r.met != nil {
			status = verdict(r.met(m))
		}
		rss := fmt.Sprintf("%.1f", mb(m.peakRSS))
		if m.peakRSS <= m.rssFloor {
			rss = "<= " + rss // the probe's floor: the program took less
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%s\t%s\t%s\n", r.label, m.msPerOp, x, rss, r.goal, status)
	}
	tw.Flush()
	var floor int64
	for _, m := range rows {
		floor = max(floor, m.rssFloor)
	}
	fmt.Fprintf(&sb, "peak RSS: the largest of %d runs through a probe process, which cannot report less than its own %.1f MB\n", rssRuns, mb(floor))
	fmt.Fprintf(&sb, "stripped binary: pipe %.1f MB (goal < %g MB: %s), hello-world %.1f MB\n",
		mb(bins.pipeSize), goalSizeMB, verdict(mb(bins.pipeSize) < goalSizeMB, true), mb(bins.helloSize))
	return sb.String()
}

func verdict(ok, known bool) string {
	switch {
	case !known:
		return "unknown (hello-world not run)"
	case ok:
		return "met"
	}
	return "NOT met"
}
