package state

import (
	"bytes"
	"slices"
	"strings"
	"time"
)

// Winner picks which of two versions of the same record (same id) survives a
// merge. The rule is a total order, so every writer merging the same two
// versions in any order keeps the same one:
//
//  1. the higher Revision (each write of a record increments it, and only the
//     deployment holding the app's lock writes it, after reading it);
//  2. then the more advanced status: PLANNED < RUNNING < WAITING_APPROVAL <
//     ROLLING_BACK < any terminal status (a finished deployment is never
//     reopened by a stale copy);
//  3. then the later UpdatedAt;
//  4. then the greater JSON text, an arbitrary but stable tie-break.
//
// The Events of both versions are kept either way (see mergeRecord).
func Winner(a, b *Record) *Record {
	if a.Revision != b.Revision {
		return pick(a.Revision > b.Revision, a, b)
	}
	if ra, rb := a.Status.rank(), b.Status.rank(); ra != rb {
		return pick(ra > rb, a, b)
	}
	if !a.UpdatedAt.Equal(b.UpdatedAt) {
		return pick(a.UpdatedAt.After(b.UpdatedAt), a, b)
	}
	ja, _ := encodeRecord(a)
	jb, _ := encodeRecord(b)
	return pick(bytes.Compare(ja, jb) >= 0, a, b)
}

func pick(first bool, a, b *Record) *Record {
	if first {
		return a
	}
	return b
}

// mergeRecord merges two versions of one record: the Winner, with the union
// of both versions' events.
func mergeRecord(a, b *Record) *Record {
	if a.raw != nil && bytes.Equal(a.raw, b.raw) && !a.edited && !b.edited {
		return a
	}
	w, l := a, b
	if Winner(a, b) == b {
		w, l = b, a
	}
	events := unionEvents(w.Events, l.Events)
	if len(events) == len(w.Events) {
		return w
	}
	out := w.Clone()
	out.Events = events
	out.edited = true
	return out
}

// mergeVersions merges any number of versions of one record (the same id
// read several times): the Winner of them all, with the union of their
// events. It costs what the versions hold, where merging them pairwise
// would re-copy the growing event list at every step.
func mergeVersions(vs []*Record) *Record {
	w := vs[0]
	for _, v := range vs[1:] {
		if v != w && Winner(v, w) == v {
			w = v
		}
	}
	type key struct {
		t                    time.Time
		kind, actor, message string
	}
	seen := make(map[key]bool, len(w.Events))
	for _, e := range w.Events {
		seen[key{e.Time.UTC(), e.Kind, e.Actor, e.Message}] = true
	}
	var extra []Event
	for _, v := range vs {
		if v == w || (v.raw != nil && bytes.Equal(v.raw, w.raw) && !v.edited && !w.edited) {
			continue
		}
		for _, e := range v.Events {
			k := key{e.Time.UTC(), e.Kind, e.Actor, e.Message}
			if !seen[k] {
				seen[k] = true
				extra = append(extra, e)
			}
		}
	}
	if len(extra) == 0 {
		return w
	}
	out := w.Clone()
	out.Events = append(out.Events, extra...)
	slices.SortStableFunc(out.Events, func(x, y Event) int { return x.Time.Compare(y.Time) })
	out.edited = true
	return out
}

// unionEvents returns a's events plus those of b not in a, in time order.
func unionEvents(a, b []Event) []Event {
	type key struct {
		t                    time.Time
		kind, actor, message string
	}
	seen := make(map[key]bool, len(a))
	out := slices.Clone(a)
	for _, e := range a {
		seen[key{e.Time.UTC(), e.Kind, e.Actor, e.Message}] = true
	}
	added := false
	for _, e := range b {
		k := key{e.Time.UTC(), e.Kind, e.Actor, e.Message}
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
			added = true
		}
	}
	if added {
		slices.SortStableFunc(out, func(x, y Event) int { return x.Time.Compare(y.Time) })
	}
	return out
}

// mergeNotes merges two versions of the note of one commit: records are a
// union by id (the same id on both sides resolved by mergeRecord), and junk
// paragraphs a union by text. The result is nil when a already holds
// everything b has (nothing to write).
func mergeNotes(a, b *note) (merged *note, changed bool) {
	out := &note{records: slices.Clone(a.records), junk: slices.Clone(a.junk)}
	index := make(map[string]int, len(out.records))
	for i, r := range out.records {
		index[r.ID] = i
	}
	junk := make(map[string]bool, len(out.junk))
	for _, j := range out.junk {
		junk[strings.TrimSpace(j)] = true
	}
	for _, rb := range b.records {
		i, ok := index[rb.ID]
		if !ok {
			index[rb.ID] = len(out.records)
			out.records = append(out.records, rb)
			changed = true
			continue
		}
		m := mergeRecord(out.records[i], rb)
		if m != out.records[i] {
			out.records[i] = m
			changed = true
		}
	}
	for _, j := range b.junk {
		if t := strings.TrimSpace(j); !junk[t] {
			junk[t] = true
			out.junk = append(out.junk, j)
			changed = true
		}
	}
	return out, changed
}
