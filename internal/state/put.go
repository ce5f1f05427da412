package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// Begin implements Store.
func (s *GitStore) Begin(ctx context.Context, rec *Record) error {
	if rec.Status == "" {
		rec.Status = StatusPlanned
	}
	if rec.Status != StatusPlanned && rec.Status != StatusRunning {
		return fmt.Errorf("begin record of app %q: status %s, want PLANNED or RUNNING", rec.App, rec.Status)
	}
	now := s.opts.Now().UTC()
	if rec.ID == "" {
		rec.ID = NewID(now)
	}
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = now
	}
	rec.SchemaVersion = SchemaVersion
	rec.Revision = 1
	return s.put(ctx, rec, now, true)
}

// Update implements Store.
func (s *GitStore) Update(ctx context.Context, rec *Record) error {
	if rec.ID == "" {
		return fmt.Errorf("update record of app %q: no id (call Begin first)", rec.App)
	}
	if rec.FutureSchema {
		return &Error{Op: "update record " + rec.ID, Err: ErrFutureSchema,
			Msg: fmt.Sprintf("schemaVersion %d", rec.SchemaVersion), Hint: "upgrade pipe to write this record"}
	}
	rec.SchemaVersion = SchemaVersion
	rec.Revision++
	return s.put(ctx, rec, s.opts.Now().UTC(), false)
}

// put writes rec into the note of its target commit, replacing the version
// there unless that version is newer (Winner).
func (s *GitStore) put(ctx context.Context, rec *Record, now time.Time, create bool) error {
	if err := validateForWrite(rec); err != nil {
		return err
	}
	rec.UpdatedAt = now
	stored := s.masked(rec).Clone()
	stored.edited = true
	key := strings.ToLower(rec.Target.Hash)
	msg := fmt.Sprintf("pipe: %s %s %s\n\nrecord %s, revision %d", rec.App, rec.Status, short(plumbing.NewHash(key)), rec.ID, rec.Revision)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeNote(ctx, rec.App, key, msg, func(cur *note) (*note, error) {
		next := &note{junk: cur.junk}
		found := false
		for _, r := range cur.records {
			if r.ID != stored.ID {
				next.records = append(next.records, r)
				continue
			}
			found = true
			if sameRecord(r, stored) {
				return nil, nil // already there: a retried write whose push had landed
			}
			if create {
				return nil, fmt.Errorf("begin record %s: a record with this id exists", r.ID)
			}
			if Winner(r, stored) == r {
				return nil, &Error{Op: fmt.Sprintf("update record %s of app %q", r.ID, r.App), Err: ErrConflict,
					Msg:  fmt.Sprintf("another writer stored a newer version (revision %d, %s)", r.Revision, r.Status),
					Hint: "two processes are writing the same deployment: check that each holds the app's lock"}
			}
			next.records = append(next.records, mergeRecord(r, stored))
		}
		if !found {
			next.records = append(next.records, stored)
		}
		return next, nil
	})
}

// sameRecord reports whether two records have the same content.
func sameRecord(a, b *Record) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

func validateForWrite(r *Record) error {
	switch {
	case r.App == "":
		return errors.New("record has no app")
	case len(r.Target.Hash) != 40 || !isHex(strings.ToLower(r.Target.Hash)):
		return fmt.Errorf("record %s of app %q: target commit %q is not a 40-hex hash", r.ID, r.App, r.Target.Hash)
	case !r.Status.Known():
		return fmt.Errorf("record %s of app %q: unknown status %q", r.ID, r.App, r.Status)
	}
	for _, st := range r.Stages {
		if !st.Status.Known() {
			return fmt.Errorf("record %s of app %q: stage %s has unknown status %q", r.ID, r.App, st.ID, st.Status)
		}
	}
	return nil
}

// addEvent appends an audit event to a record, wherever its note is.
func (s *GitStore) addEvent(ctx context.Context, app, id string, ev Event) error {
	a, err := s.readApp(app)
	if err != nil {
		return err
	}
	var target *Record
	for _, r := range a.records {
		if r.ID == id {
			target = r
		}
	}
	if target == nil {
		return &Error{Op: fmt.Sprintf("record %s of app %q", id, app), Err: ErrNotFound}
	}
	key := strings.ToLower(target.Target.Hash)
	msg := fmt.Sprintf("pipe: %s %s on record %s", app, ev.Kind, id)
	return s.writeNote(ctx, app, key, msg, func(cur *note) (*note, error) {
		next := &note{junk: cur.junk}
		changed := false
		for _, r := range cur.records {
			if r.ID == id {
				c := r.Clone()
				c.Events = unionEvents(c.Events, []Event{ev})
				c.edited = true
				r = c
				changed = true
			}
			next.records = append(next.records, r)
		}
		if !changed {
			return nil, nil
		}
		return next, nil
	})
}
