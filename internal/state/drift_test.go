package state

import (
	"testing"
	"time"
)

// Drift state changes are events on the app's last successful deployment,
// written only when the state changes, and visible to a second clone.
func TestRecordDriftOnChangeOnly(t *testing.T) {
	e := newEnv(t, 2)
	clock := newFakeClock()
	s, _ := e.open(t, e.clone(t), clock)

	if ch, err := s.RecordDrift(bg, "web", true, "1 changed", "cron"); err != nil || ch.Recorded || ch.RecordID != "" {
		t.Fatalf("no record yet: %+v, %v; want nothing written", ch, err)
	}
	rec := newRecord("web", e.commits[1])
	if err := s.Begin(bg, rec); err != nil {
		t.Fatal(err)
	}
	rec.Status = StatusSucceeded
	if err := s.Update(bg, rec); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		drifted bool
		write   bool
	}{
		{false, false}, // in sync, as recorded (no event yet)
		{true, true},   // drift began
		{true, false},  // still drifted: nothing written
		{true, false},
		{false, true}, // drift ended
		{false, false},
		{true, true}, // began again
	}
	for i, st := range steps {
		clock.Advance(time.Hour)
		ch, err := s.RecordDrift(bg, "web", st.drifted, "summary", "cron")
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if ch.Recorded != st.write || ch.RecordID != rec.ID {
			t.Fatalf("step %d (drifted=%v): %+v, want recorded=%v on %s", i, st.drifted, ch, st.write, rec.ID)
		}
	}

	// Another job's clone reads the same history.
	other, _ := e.open(t, e.clone(t), clock)
	got, err := other.Get(bg, "web", rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range got.Events {
		kinds = append(kinds, ev.Kind)
	}
	want := []string{EventDriftBegan, EventDriftEnded, EventDriftBegan}
	if len(kinds) != len(want) || kinds[0] != want[0] || kinds[1] != want[1] || kinds[2] != want[2] {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	if drifted, last := DriftState(got); !drifted || last.Actor != "cron" {
		t.Fatalf("state drifted=%v last=%+v", drifted, last)
	}
	if ls, err := other.LastSuccessful(bg, "web"); err != nil || ls.ID != rec.ID {
		t.Fatalf("last successful = %v, %v: drift events must not change it", ls, err)
	}
}
