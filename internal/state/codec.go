package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// note is the parsed content of one note blob: the records of the
// deployments of one commit, and any text that is not a record (a person's
// `git notes append -m ...`, a broken line). Text that is not a record is
// kept and written back verbatim after the records.
type note struct {
	records []*Record
	junk    []string
}

// decodeNote parses a note blob. It never fails: what cannot be read as a
// record is kept as junk and reported through warn (with the line number).
//
// The expected form is one JSON object per line. `git notes append` inserts
// a blank line between the old and the appended text, so blank lines are
// skipped; a paragraph that is not one object per line is also tried as a
// stream of (pretty-printed) JSON objects before it is kept as junk.
func decodeNote(data []byte, warn func(string)) *note {
	n := &note{}
	lines := strings.Split(string(data), "\n")
	for start := 0; start < len(lines); {
		if strings.TrimSpace(lines[start]) == "" {
			start++
			continue
		}
		end := start
		for end < len(lines) && strings.TrimSpace(lines[end]) != "" {
			end++
		}
		n.decodeParagraph(lines[start:end], start+1, warn)
		start = end
	}
	return n
}

func (n *note) decodeParagraph(lines []string, firstLine int, warn func(string)) {
	var pending []string // consecutive lines that are not records on their own
	pendingAt := 0
	flush := func() {
		if len(pending) == 0 {
			return
		}
		text := strings.Join(pending, "\n")
		if recs, ok := decodeStream(text); ok {
			for _, r := range recs {
				n.add(r, pendingAt, warn)
			}
		} else {
			n.junk = append(n.junk, text)
			warn(fmt.Sprintf("line %d: %d line(s) that are not a pipe record, kept as they are: %q",
				pendingAt, len(pending), abbreviate(text, 60)))
		}
		pending = nil
	}
	for i, line := range lines {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") && json.Valid([]byte(t)) {
			flush()
			if r, ok := decodeRecordJSON([]byte(t)); ok {
				n.add(r, firstLine+i, warn)
				continue
			}
			n.junk = append(n.junk, line)
			warn(fmt.Sprintf("line %d: a JSON object without a record id, kept as it is: %q", firstLine+i, abbreviate(t, 60)))
			continue
		}
		if len(pending) == 0 {
			pendingAt = firstLine + i
		}
		pending = append(pending, line)
	}
	flush()
}

// decodeStream decodes text as a sequence of JSON record objects.
func decodeStream(text string) ([]*Record, bool) {
	dec := json.NewDecoder(strings.NewReader(text))
	var out []*Record
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return out, len(out) > 0
		}
		if err != nil {
			return nil, false
		}
		var buf bytes.Buffer
		if json.Compact(&buf, raw) != nil {
			return nil, false
		}
		r, ok := decodeRecordJSON(buf.Bytes())
		if !ok {
			return nil, false
		}
		out = append(out, r)
	}
}

// decodeRecordJSON decodes one record object leniently: unknown fields are
// ignored (and kept in raw), a wrong-typed field leaves its zero value. It
// fails only for an object with no string "id".
func decodeRecordJSON(data []byte) (*Record, bool) {
	var probe struct {
		ID            any `json:"id"`
		SchemaVersion any `json:"schemaVersion"`
	}
	if json.Unmarshal(data, &probe) != nil {
		return nil, false
	}
	id, ok := probe.ID.(string)
	if !ok || id == "" {
		return nil, false
	}
	r := &Record{}
	if err := json.Unmarshal(data, r); err != nil {
		// A field of an unexpected type (a hand edit, a future schema):
		// read the fields one by one so the rest still counts.
		r = decodeFieldwise(data)
	}
	r.ID = id
	r.raw = append(json.RawMessage(nil), data...)
	if v, ok := probe.SchemaVersion.(float64); ok {
		r.SchemaVersion = int(v)
	} else {
		r.SchemaVersion = 0
	}
	r.FutureSchema = r.SchemaVersion > SchemaVersion
	return r, true
}

// decodeFieldwise decodes each top-level field on its own, skipping those
// that do not fit.
func decodeFieldwise(data []byte) *Record {
	var fields map[string]json.RawMessage
	r := &Record{}
	if json.Unmarshal(data, &fields) != nil {
		return r
	}
	for k, v := range fields {
		one, _ := json.Marshal(map[string]json.RawMessage{k: v})
		var probe Record
		if json.Unmarshal(one, &probe) != nil {
			r.unreadable = append(r.unreadable, k) // keeps its zero value
			continue
		}
		_ = json.Unmarshal(one, r)
	}
	slices.Sort(r.unreadable)
	return r
}

// add appends r, reporting what is odd about it. Duplicate ids in one note
// (an update appended by hand, a concatenated note) are resolved by Winner.
func (n *note) add(r *Record, line int, warn func(string)) {
	switch {
	case r.SchemaVersion == 0:
		warn(fmt.Sprintf("line %d: record %s has no schemaVersion; read as version %d", line, r.ID, SchemaVersion))
	case r.FutureSchema:
		warn(fmt.Sprintf("line %d: record %s has schemaVersion %d, newer than this pipe (%d): read what is known, kept unchanged; upgrade pipe to read it fully",
			line, r.ID, r.SchemaVersion, SchemaVersion))
	}
	if len(r.unreadable) > 0 {
		warn(fmt.Sprintf("line %d: record %s: field(s) %s have an unexpected type and read as empty (kept as they are in the note)",
			line, r.ID, strings.Join(r.unreadable, ", ")))
	}
	if !r.Status.Known() {
		warn(fmt.Sprintf("line %d: record %s has an unknown status %q", line, r.ID, r.Status))
	}
	for i, old := range n.records {
		if old.ID == r.ID {
			n.records[i] = mergeRecord(old, r)
			return
		}
	}
	n.records = append(n.records, r)
}

// encode renders the note: records sorted by id, one per line, then the
// junk paragraphs, each after a blank line, as they were.
func (n *note) encode() ([]byte, error) {
	recs := slices.Clone(n.records)
	slices.SortFunc(recs, func(a, b *Record) int { return strings.Compare(a.ID, b.ID) })
	var buf bytes.Buffer
	for _, r := range recs {
		line, err := encodeRecord(r)
		if err != nil {
			return nil, err
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	for _, j := range n.junk {
		if buf.Len() > 0 {
			buf.WriteByte('\n')
		}
		buf.WriteString(j)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// encodeRecord renders one record as a line of JSON. A record read from a
// note and not edited since is written as it was read (a future schema's
// record included); an edited record keeps the fields this version does not
// know.
func encodeRecord(r *Record) ([]byte, error) {
	if r.raw != nil && !r.edited {
		return r.raw, nil
	}
	out, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode record %s: %w", r.ID, err)
	}
	if r.raw == nil {
		return out, nil
	}
	var old, cur map[string]json.RawMessage
	if json.Unmarshal(r.raw, &old) != nil || json.Unmarshal(out, &cur) != nil {
		return out, nil
	}
	added := false
	for k, v := range old {
		if _, known := cur[k]; !known && !knownField(k) {
			cur[k] = v
			added = true
		}
	}
	if !added {
		return out, nil
	}
	return json.Marshal(cur) // map keys are sorted: a stable line
}

// knownField reports whether k is a JSON field of Record.
func knownField(k string) bool {
	switch k {
	case "schemaVersion", "id", "revision", "app", "kind", "target", "running", "trigger", "strategy",
		"strategyReason", "stages", "status", "reason", "lockTakeover", "events", "createdAt", "startedAt",
		"endedAt", "updatedAt":
		return true
	}
	return false
}

func abbreviate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
