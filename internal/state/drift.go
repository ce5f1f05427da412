package state

import (
	"context"
	"fmt"
)

// Event kinds of drift detection: an application's live state stopped or
// started matching Git. They are written on the application's current
// deployment record only when the state changes, so a scheduled check
// leaves one event when drift begins and one when it ends, not one per
// run.
const (
	EventDriftBegan = "drift-began"
	EventDriftEnded = "drift-ended"
)

// DriftChange is what RecordDrift did.
type DriftChange struct {
	// Recorded is set when the state changed and an event was written.
	Recorded bool
	// RecordID is the deployment record the state is kept on; empty when
	// the application has no record (nothing is written then).
	RecordID string
	// Was is the state before this check: whether the last drift event of
	// the record says drifted.
	Was bool
}

// DriftRecord returns the deployment record an application's drift state
// is kept on: its last successful deployment (what should be live), else
// its newest record; nil when it has none.
func driftRecord(a *appRecords) *Record {
	if r := a.lastSuccessful(); r != nil {
		return r
	}
	if len(a.records) > 0 {
		return a.records[0]
	}
	return nil
}

// DriftState returns whether the drift events of an application's current
// record say it drifted (the last one is drift-began), and the record.
func DriftState(rec *Record) (drifted bool, last *Event) {
	for i := range rec.Events {
		ev := &rec.Events[i]
		if ev.Kind != EventDriftBegan && ev.Kind != EventDriftEnded {
			continue
		}
		if last == nil || !ev.Time.Before(last.Time) {
			last = ev
		}
	}
	return last != nil && last.Kind == EventDriftBegan, last
}

// RecordDrift records an application's drift state (drifted, with a
// one-line summary) as an event on its current deployment record, when it
// differs from the state recorded there last. It writes through the same
// compare-and-swap path as every record write.
func (s *GitStore) RecordDrift(ctx context.Context, app string, drifted bool, summary, actor string) (DriftChange, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(ctx, app); err != nil {
		return DriftChange{}, err
	}
	a, err := s.readApp(app)
	if err != nil {
		return DriftChange{}, err
	}
	rec := driftRecord(a)
	if rec == nil {
		return DriftChange{}, nil
	}
	was, last := DriftState(rec)
	if last == nil {
		// Nothing recorded on this deployment yet: the application's state
		// is the last one recorded on an earlier deployment (drift that a
		// new deployment ended is recorded as ended, once).
		was = appDrifted(a, rec)
	}
	ch := DriftChange{RecordID: rec.ID, Was: was}
	if was == drifted {
		return ch, nil
	}
	ev := Event{Time: s.opts.Now().UTC(), Kind: EventDriftEnded, Actor: actor, Message: summary}
	if drifted {
		ev.Kind = EventDriftBegan
	}
	if err := s.addEvent(ctx, app, rec.ID, ev); err != nil {
		return ch, fmt.Errorf("record %s on deployment %s of %s: %w", ev.Kind, rec.ID, app, err)
	}
	ch.Recorded = true
	return ch, nil
}

// appDrifted is the drift state last recorded on a record of the app other
// than current (the newest such event): whether the app was known drifted
// before current took over.
func appDrifted(a *appRecords, current *Record) bool {
	var last *Event
	for _, r := range a.records {
		if r == current {
			continue
		}
		if _, ev := DriftState(r); ev != nil && (last == nil || ev.Time.After(last.Time)) {
			last = ev
		}
	}
	return last != nil && last.Kind == EventDriftBegan
}
