//go:build unix

package startup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// program is one command the benchmark runs.
type program struct {
	path string
	args []string
	dir  string
	env  []string
	// exit is the exit status a run must end with.
	exit int
	// want, when set, must appear in the output of a run.
	want string
}

// measurement is what a sub-benchmark measured.
type measurement struct {
	msPerOp float64
	// peakRSS is the largest peak resident set of the probed runs, in
	// bytes; rssFloor is the probe's own, the least it can report.
	peakRSS, rssFloor int64
}

// rssRuns is how many runs, after the timed ones, measure the peak RSS
// through the probe (see probeSource).
const rssRuns = 3

// run runs p b.N times, each as a new process started from this one, and
// reports the wall time per run (ms/op); then it runs p rssRuns times
// through the probe and reports the largest peak resident set
// (peak-RSS-MB).
func run(b *testing.B, p program, probe string) measurement {
	b.Helper()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := p.output(context.Background())
		if err != nil {
			b.Fatalf("%s: %v; output:\n%s", p, err, tail(out, 40))
		}
		if p.want != "" && i == 0 && !strings.Contains(out, p.want) {
			b.Fatalf("%s: the output does not contain %q:\n%s", p, p.want, tail(out, 40))
		}
	}
	b.StopTimer()
	m := measurement{msPerOp: float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 1e6}
	outFile := filepath.Join(b.TempDir(), "rss")
	probed := p
	probed.path, probed.args = probe, append([]string{outFile, p.path}, p.args...)
	for range rssRuns {
		if out, err := probed.output(context.Background()); err != nil {
			b.Fatalf("%s: %v\n%s", probed, err, tail(out, 40))
		}
		rss, floor, err := readProbe(outFile)
		if err != nil {
			b.Fatal(err)
		}
		m.peakRSS, m.rssFloor = max(m.peakRSS, rss), max(m.rssFloor, floor)
	}
	b.ReportMetric(m.msPerOp, "ms/op")
	b.ReportMetric(mb(m.peakRSS), "peak-RSS-MB")
	return m
}

// readProbe reads what the probe wrote: the child's ru_maxrss (KiB, bytes
// on macOS) and the probe's VmHWM (KiB); it returns them in bytes.
func readProbe(path string) (rss, floor int64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("reading the probe's result: %w", err)
	}
	if _, err := fmt.Sscan(string(b), &rss, &floor); err != nil {
		return 0, 0, fmt.Errorf("the probe wrote %q: %w", b, err)
	}
	if runtime.GOOS != "darwin" {
		rss *= 1024
	}
	return rss, floor * 1024, nil
}

// output runs p once and returns its output; a run that cannot start or
// exits with another status than p.exit is an error.
func (p program) output(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, p.path, p.args...)
	cmd.Dir, cmd.Env = p.dir, p.env
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return string(out), err
	}
	if code := cmd.ProcessState.ExitCode(); code != p.exit {
		return string(out), fmt.Errorf("exit status %d, want %d", code, p.exit)
	}
	return string(out), nil
}

// String renders p as a command line.
func (p program) String() string {
	return strings.Join(append([]string{p.path}, p.args...), " ")
}

// mb converts bytes to decimal megabytes, the unit of the goals.
func mb(n int64) float64 { return float64(n) / 1e6 }

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
