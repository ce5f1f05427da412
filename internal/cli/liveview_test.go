package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/state"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func (c *fakeClock) ev(stage, msg string) deploy.Event {
	return deploy.Event{Time: c.t, App: "web", Stage: stage, Message: msg}
}

func newTestView(width int) (*liveView, *fakeClock, *bytes.Buffer) {
	clk := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var buf bytes.Buffer
	return newLiveView(&buf, style{}, clk.now, func() int { return width }), clk, &buf
}

func pipelineRecord(t0 time.Time) *state.Record {
	return &state.Record{ID: "d1", App: "web", Strategy: state.StrategyPipeline, Status: state.StatusRunning, Stages: []state.Stage{
		{ID: "stage-0", Name: "K8S_CANARY_ROLLOUT", Status: state.StageNotStarted},
		{ID: "stage-1", Name: "WAIT", Status: state.StageNotStarted},
		{ID: "stage-2", Name: "K8S_PRIMARY_ROLLOUT", Status: state.StageNotStarted},
		{ID: "stage-3", Name: "ROLLBACK", Status: state.StageNotStarted},
	}}
}

func assertFrame(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("frame:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLiveViewPipelineFrames(t *testing.T) {
	v, clk, _ := newTestView(100)
	rec := pipelineRecord(clk.t)
	v.record(rec)
	assertFrame(t, v.frame(clk.t, 100),
		"  · K8S_CANARY_ROLLOUT   pending",
		"  · WAIT                 pending",
		"  · K8S_PRIMARY_ROLLOUT  pending")

	v.event(clk.ev("K8S_CANARY_ROLLOUT", "started: 1 replica"))
	clk.add(3 * time.Second)
	v.event(clk.ev("K8S_CANARY_ROLLOUT", "applied deployment/web-canary"))
	clk.add(2 * time.Second)
	assertFrame(t, v.frame(clk.t, 100),
		"  ⠋ K8S_CANARY_ROLLOUT   running 5s",
		"  · WAIT                 pending",
		"  · K8S_PRIMARY_ROLLOUT  pending",
		"  › [K8S_CANARY_ROLLOUT] applied deployment/web-canary")

	v.event(clk.ev("K8S_CANARY_ROLLOUT", "succeeded in 5s"))
	// The record is written with the WAIT's start and duration.
	rec.Stages[0].Status, rec.Stages[0].StartedAt, rec.Stages[0].EndedAt = state.StageSucceeded, clk.t.Add(-5*time.Second), clk.t
	rec.Stages[1].Status, rec.Stages[1].StartedAt = state.StageRunning, clk.t
	rec.Stages[1].Metadata = map[string]string{"waitStartedAt": clk.t.Format(time.RFC3339Nano), "duration": "1m30s"}
	v.record(rec)
	v.event(clk.ev("WAIT", "waiting 1m30s"))
	clk.add(20 * time.Second)
	v.spin = 1
	assertFrame(t, v.frame(clk.t, 100),
		"  ✓ K8S_CANARY_ROLLOUT   done 5s",
		"  ⠙ WAIT                 running 20s, 1m10s left",
		"  · K8S_PRIMARY_ROLLOUT  pending",
		"  › [WAIT] waiting 1m30s")

	// The primary fails and the rollback runs.
	rec.Stages[1].Status, rec.Stages[1].EndedAt = state.StageSucceeded, clk.t.Add(70*time.Second)
	clk.add(70 * time.Second)
	v.record(rec)
	v.event(clk.ev("K8S_PRIMARY_ROLLOUT", "started"))
	clk.add(4 * time.Second)
	v.event(clk.ev("K8S_PRIMARY_ROLLOUT", "failed: deployment/web never became ready"))
	v.event(deploy.Event{Time: clk.t, Message: "rolling back: stage failed", Warning: true})
	assertFrame(t, v.frame(clk.t, 100),
		"  ✓ K8S_CANARY_ROLLOUT   done 5s",
		"  ✓ WAIT                 done 1m30s",
		"  ✗ K8S_PRIMARY_ROLLOUT  failed 4s",
		"  › rolling back: stage failed")
	v.event(clk.ev("ROLLBACK", "started"))
	clk.add(2 * time.Second)
	v.event(clk.ev("ROLLBACK", "succeeded"))
	// Without a record write the ROLLBACK stage (pending in the record,
	// hidden until it runs) is taken from the events.
	v.stages[3].rollback = true
	assertFrame(t, v.frame(clk.t, 100),
		"  ✓ K8S_CANARY_ROLLOUT   done 5s",
		"  ✓ WAIT                 done 1m30s",
		"  ✗ K8S_PRIMARY_ROLLOUT  failed 4s",
		"  ↺ ROLLBACK             rolled back 2s",
		"  › [ROLLBACK] succeeded")
}

func TestLiveViewQuickSyncFromEvents(t *testing.T) {
	v, clk, _ := newTestView(100)
	v.event(clk.ev("", "quick sync: no pipeline"))
	v.event(clk.ev("K8S_SYNC", "configured deployment/web"))
	clk.add(65 * time.Second)
	assertFrame(t, v.frame(clk.t, 100),
		"  ⠋ K8S_SYNC  running 1m05s",
		"  › [K8S_SYNC] configured deployment/web")
}

func TestLiveViewTruncatesToWidth(t *testing.T) {
	v, clk, _ := newTestView(30)
	v.event(clk.ev("K8S_SYNC", strings.Repeat("x", 100)))
	for _, l := range v.frame(clk.t, 30) {
		if n := len([]rune(l)); n > 29 {
			t.Fatalf("line of %d columns at width 30: %q", n, l)
		}
	}
	if got := v.frame(clk.t, 30)[1]; !strings.HasSuffix(got, "…") {
		t.Fatalf("no ellipsis: %q", got)
	}
}

func TestLiveViewRedrawsInPlaceAndRestoresCursor(t *testing.T) {
	v, clk, buf := newTestView(80)
	v.event(clk.ev("K8S_SYNC", "apply"))
	first := buf.String()
	if !strings.HasPrefix(first, ansiHideCursor) || strings.Contains(first, "\x1b[2A") {
		t.Fatalf("first frame: %q", first)
	}
	buf.Reset()
	clk.add(time.Second)
	v.event(clk.ev("K8S_SYNC", "succeeded in 1s"))
	if got := buf.String(); !strings.HasPrefix(got, "\r\x1b[2A"+ansiClearLine) || !strings.Contains(got, "✓ K8S_SYNC  done 1s") {
		t.Fatalf("redraw: %q", got)
	}
	buf.Reset()
	v.stop()
	v.stop()
	if got := buf.String(); !strings.HasSuffix(got, ansiShowCursor) || strings.Count(got, ansiShowCursor) != 1 {
		t.Fatalf("stop: %q", got)
	}
	buf.Reset()
	v.event(clk.ev("K8S_SYNC", "late"))
	if buf.Len() != 0 {
		t.Fatalf("drawn after stop: %q", buf.String())
	}
}

func TestLiveViewTickerAndStore(t *testing.T) {
	v, clk, buf := newTestView(80)
	v.start(5 * time.Millisecond)
	var st recordingStore
	store := v.wrap(&st)
	rec := pipelineRecord(clk.t)
	if err := store.Begin(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	// Wait for two ticks after Begin rather than sleeping: on a loaded
	// machine a 30ms sleep could end before the 5ms ticker redrew once.
	v.mu.Lock()
	spin := v.spin
	v.mu.Unlock()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		v.mu.Lock()
		ticked := v.spin - spin
		v.mu.Unlock()
		if ticked >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d redraws by the ticker in 10s", ticked)
		}
	}
	v.stop()
	if st.begun != 1 || !strings.Contains(buf.String(), "· WAIT") || strings.Count(buf.String(), "\x1b[3A") < 2 {
		t.Fatalf("store %d, output %q", st.begun, buf.String())
	}
}

type recordingStore struct {
	deploy.Store
	begun int
}

func (s *recordingStore) Begin(context.Context, *state.Record) error { s.begun++; return nil }

func TestLiveViewSelection(t *testing.T) {
	for _, tc := range []struct {
		name string
		tty  bool
		env  map[string]string
		want bool
	}{
		{"terminal", true, nil, true},
		{"not a terminal", false, nil, false},
		{"CI", true, map[string]string{"CI": "true", "GITHUB_ACTIONS": "true"}, false},
		{"dumb", true, map[string]string{"TERM": "dumb"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &app{env: Env{StderrTTY: tc.tty, Getenv: func(k string) string { return tc.env[k] }, Now: time.Now}, err: &bytes.Buffer{}}
			a.ci, _ = ci.Detect(a.env.Getenv, nil)
			v := a.liveView()
			if v != nil {
				v.stop()
			}
			if (v != nil) != tc.want {
				t.Fatalf("live view %v, want %v", v != nil, tc.want)
			}
		})
	}
}
