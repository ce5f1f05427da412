package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/state"
)

// The live view of a sync in a terminal: one line per stage (done,
// running with its elapsed and remaining time, pending, failed, rolled
// back) and the latest event under them, redrawn in place with ANSI
// cursor movement on every event and every second. It is used only when
// stderr is a terminal outside CI; elsewhere the events are printed as
// lines (printEvent, foldStages).
//
// The stages come from the deployment record as the sync writes it
// (liveView.wrap intercepts the store's Begin and Update), so that the
// pending stages are shown before they start; the events keep the view
// current between two writes of the record.
type liveView struct {
	mu     sync.Mutex
	w      io.Writer
	style  style
	now    func() time.Time
	width  func() int
	stages []liveStage
	msg    string
	warn   bool
	drawn  int // lines of the last frame on screen
	spin   int
	done   chan struct{}
	wg     sync.WaitGroup
	closed bool
}

type liveStage struct {
	id, name string
	status   state.StageStatus
	start    time.Time
	end      time.Time
	meta     map[string]string
	rollback bool
}

const (
	ansiHideCursor = "\x1b[?25l"
	ansiShowCursor = "\x1b[?25h"
	ansiClearLine  = "\x1b[2K"
	ansiClearDown  = "\x1b[J"
)

var spinnerFrames = []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

// liveView returns the live view for this invocation, or nil when stderr
// is not a terminal, in CI or with TERM=dumb.
func (a *app) liveView() *liveView {
	if !a.env.StderrTTY || a.ci.IsCI() || a.env.Getenv("TERM") == "dumb" {
		return nil
	}
	v := newLiveView(a.err, a.style, a.env.Now, terminalWidth(a.err, a.env.Getenv))
	v.start(time.Second)
	return v
}

func newLiveView(w io.Writer, st style, now func() time.Time, width func() int) *liveView {
	return &liveView{w: w, style: st, now: now, width: width}
}

// terminalWidth measures the terminal behind w on every call (it may be
// resized), else $COLUMNS, else 80.
func terminalWidth(w io.Writer, getenv func(string) string) func() int {
	return func() int {
		if f, ok := w.(interface{ Fd() uintptr }); ok {
			if n, _, err := term.GetSize(int(f.Fd())); err == nil && n > 0 {
				return n
			}
		}
		if n, err := strconv.Atoi(getenv("COLUMNS")); err == nil && n > 0 {
			return n
		}
		return 80
	}
}

// start redraws every interval (for the elapsed times) until stop.
func (v *liveView) start(interval time.Duration) {
	v.done = make(chan struct{})
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-v.done:
				return
			case <-t.C:
				v.mu.Lock()
				v.spin++
				v.draw()
				v.mu.Unlock()
			}
		}
	}()
}

// stop draws the final state, leaves it on screen and shows the cursor
// again. It is safe to call more than once.
func (v *liveView) stop() {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return
	}
	v.closed = true
	if v.done != nil {
		close(v.done)
	}
	v.mu.Unlock()
	v.wg.Wait()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.draw()
	fmt.Fprint(v.w, ansiShowCursor)
}

// event takes one progress event of the sync.
func (v *liveView) event(ev deploy.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	v.msg, v.warn = ev.Message, ev.Warning
	if ev.Stage != "" {
		v.msg = "[" + ev.Stage + "] " + ev.Message
		v.apply(ev)
	}
	v.draw()
}

// apply infers a stage's transition from an event (the record confirms it
// when written).
func (v *liveView) apply(ev deploy.Event) {
	s := v.find(ev.Stage)
	if s == nil {
		name, id, _ := strings.Cut(ev.Stage, " ")
		v.stages = append(v.stages, liveStage{id: id, name: name, status: state.StageNotStarted})
		s = &v.stages[len(v.stages)-1]
	}
	m := ev.Message
	switch {
	case strings.HasPrefix(m, "started"), strings.HasPrefix(m, "resumed"):
		s.status = state.StageRunning
		if s.start.IsZero() || strings.HasPrefix(m, "started") {
			s.start = ev.Time
		}
		s.end = time.Time{}
	case strings.HasPrefix(m, "succeeded"):
		s.status, s.end = state.StageSucceeded, ev.Time
	case strings.HasPrefix(m, "failed:"):
		s.status, s.end = state.StageFailed, ev.Time
	case strings.HasPrefix(m, "cancelled:"):
		s.status, s.end = state.StageCancelled, ev.Time
	case strings.HasPrefix(m, "skipped:"):
		s.status = state.StageSkipped
	default:
		// Progress of a stage that has not said "started" (the quick
		// sync's K8S_SYNC): it runs.
		if s.status == state.StageNotStarted {
			s.status, s.start = state.StageRunning, ev.Time
		}
	}
}

// find returns the stage an event's stage ("NAME" or "NAME id") is about:
// the running one, else the first not finished, else the last.
func (v *liveView) find(label string) *liveStage {
	var match []*liveStage
	for i := range v.stages {
		s := &v.stages[i]
		if s.name == label || s.name+" "+s.id == label {
			match = append(match, s)
		}
	}
	for _, s := range match {
		if s.status == state.StageRunning {
			return s
		}
	}
	for _, s := range match {
		if s.status == state.StageNotStarted {
			return s
		}
	}
	if len(match) > 0 {
		return match[len(match)-1]
	}
	return nil
}

// record takes the stages of the deployment record as written.
func (v *liveView) record(rec *state.Record) {
	if rec == nil {
		return
	}
	stages := make([]liveStage, 0, len(rec.Stages))
	for _, s := range rec.Stages {
		meta := make(map[string]string, len(s.Metadata))
		for k, val := range s.Metadata {
			meta[k] = val
		}
		stages = append(stages, liveStage{id: s.ID, name: s.Name, status: s.Status, start: s.StartedAt, end: s.EndedAt,
			meta: meta, rollback: rec.Strategy == state.StrategyPipeline && isRollbackStage(s.Name)})
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	v.stages = stages
	v.draw()
}

// wrap returns store with its record writes shown in the view.
func (v *liveView) wrap(store deploy.Store) deploy.Store { return liveStore{Store: store, v: v} }

type liveStore struct {
	deploy.Store
	v *liveView
}

func (s liveStore) Begin(ctx context.Context, rec *state.Record) error {
	err := s.Store.Begin(ctx, rec)
	s.v.record(rec)
	return err
}

func (s liveStore) Update(ctx context.Context, rec *state.Record) error {
	err := s.Store.Update(ctx, rec)
	s.v.record(rec)
	return err
}

// frame renders the view at now, each line at most width-1 columns (a
// full-width line would wrap on some terminals and break the redraw).
func (v *liveView) frame(now time.Time, width int) []string {
	limit := max(width-1, 20)
	nameW := 0
	shown := make([]liveStage, 0, len(v.stages))
	for _, s := range v.stages {
		if s.rollback && (s.status == state.StageNotStarted || s.status == state.StageSkipped) {
			continue // rollback stages appear only when they run
		}
		shown = append(shown, s)
		nameW = max(nameW, utf8.RuneCountInString(s.label(v.stages)))
	}
	var lines []string
	for _, s := range shown {
		sym, detail, color := v.describe(s, now)
		text := truncate(fmt.Sprintf("%-*s  %s", nameW, s.label(v.stages), detail), limit-4)
		lines = append(lines, "  "+color(sym)+" "+text)
	}
	if v.msg != "" {
		msg := truncate(strings.ReplaceAll(v.msg, "\n", " "), limit-4)
		if v.warn {
			msg = v.style.Yellow(msg)
		} else {
			msg = v.style.Dim(msg)
		}
		lines = append(lines, "  "+v.style.Dim("›")+" "+msg)
	}
	return lines
}

// label is the stage's name, with its id when another stage has the same.
func (s liveStage) label(all []liveStage) string {
	for _, o := range all {
		if o.name == s.name && o.id != s.id && s.id != "" {
			return s.name + " " + s.id
		}
	}
	return s.name
}

// describe returns a stage's symbol, its detail and the symbol's colour.
func (v *liveView) describe(s liveStage, now time.Time) (string, string, func(string) string) {
	st := v.style
	took := func() string {
		if s.start.IsZero() || s.end.IsZero() {
			return ""
		}
		return fmtDuration(s.end.Sub(s.start))
	}
	switch s.status {
	case state.StageSucceeded:
		if s.rollback {
			return "↺", "rolled back " + took(), st.Yellow
		}
		return "✓", "done " + took(), st.Green
	case state.StageFailed:
		return "✗", strings.TrimSpace("failed " + took()), st.Red
	case state.StageCancelled:
		return "✗", strings.TrimSpace("cancelled " + took()), st.Red
	case state.StageSkipped:
		return "–", "skipped", st.Dim
	case state.StageRunning:
		detail := "running"
		if !s.start.IsZero() {
			detail += " " + fmtDuration(now.Sub(s.start))
		}
		if left, ok := remaining(s, now); ok {
			detail += ", " + fmtDuration(left) + " left"
		}
		return string(spinnerFrames[v.spin%len(spinnerFrames)]), detail, st.Cyan
	}
	return "·", "pending", st.Dim
}

// remaining is what is left of a WAIT (or of any stage recording its
// start and duration in its metadata: waitStartedAt and duration).
func remaining(s liveStage, now time.Time) (time.Duration, bool) {
	d, err := time.ParseDuration(s.meta["duration"])
	if err != nil {
		return 0, false
	}
	start, err := time.Parse(time.RFC3339Nano, s.meta["waitStartedAt"])
	if err != nil {
		start = s.start
	}
	if start.IsZero() {
		return 0, false
	}
	return max(start.Add(d).Sub(now), 0), true
}

func fmtDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d/time.Second))
	}
	if d < time.Hour {
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// truncate cuts s to n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if n <= 1 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// draw replaces the last frame on screen with the current one; the cursor
// is left at the start of the line under it.
func (v *liveView) draw() {
	lines := v.frame(v.now(), v.width())
	var b strings.Builder
	if v.drawn == 0 {
		b.WriteString(ansiHideCursor)
	} else {
		fmt.Fprintf(&b, "\r\x1b[%dA", v.drawn)
	}
	for _, l := range lines {
		b.WriteString(ansiClearLine + l + "\n")
	}
	if len(lines) < v.drawn {
		b.WriteString(ansiClearDown)
	}
	v.drawn = len(lines)
	io.WriteString(v.w, b.String())
}
