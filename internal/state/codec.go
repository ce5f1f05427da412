package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Size limits of what is read from and written to notes. Anyone who can
// push to the notes refs chooses their content, so a read never takes more
// than these; a note that grows past them is compacted (`pipe gc APP`, see
// docs/state.md).
const (
	// MaxNoteSize bounds one note blob (the records of one app's
	// deployments of one commit). A note over it is not read: reading or
	// writing that app fails with ErrNoteTooLarge until it is compacted.
	// About 14,000 typical records.
	MaxNoteSize = 8 << 20
	// MaxAppNotesSize bounds the note blobs of one app read together (a
	// History, a Status, the last successful deployment).
	MaxAppNotesSize = 64 << 20
	// MaxRecordSize bounds one record, as one line of JSON. A longer line
	// is not parsed: it is kept as text that is not a record (and warned
	// about); a write of a longer record fails.
	MaxRecordSize = 1 << 20
)

// maxNoteWarnings bounds the warnings one note yields; the rest are counted.
const maxNoteWarnings = 10

// ErrNoteTooLarge: a note, an app's notes or a record is over its size limit
// (MaxNoteSize, MaxAppNotesSize, MaxRecordSize).
var ErrNoteTooLarge = errors.New("over the size limit of pipe's notes")

// note is the parsed content of one note blob: the records of the
// deployments of one commit, and any text that is not a record (a person's
// `git notes append -m ...`, a broken line). Text that is not a record is
// kept and written back verbatim after the records.
type note struct {
	records []*Record
	junk    []string
}

// noteDecoder builds a note. Its cost is linear in the note's size: a
// record id seen again (an update appended by hand, a concatenated note) is
// set aside and all the versions of that id are merged once at the end.
type noteDecoder struct {
	n     *note
	index map[string]int       // id -> position in n.records
	dups  map[string][]*Record // id -> the versions after the first
	warn  func(string)
	warns int
}

// decodeNote parses a note blob. It never fails: what cannot be read as a
// record is kept as junk and reported through warn (with the line number;
// at most maxNoteWarnings, then a count).
//
// The expected form is one JSON object per line. `git notes append` inserts
// a blank line between the old and the appended text, so blank lines are
// skipped; a paragraph that is not one object per line is also tried as a
// stream of (pretty-printed) JSON objects before it is kept as junk. A line
// longer than MaxRecordSize is kept as junk without being parsed.
func decodeNote(data []byte, warn func(string)) *note {
	d := &noteDecoder{n: &note{}, index: map[string]int{}, warn: warn}
	text := string(data)
	var para []string // the current paragraph's lines
	first, lineNo := 0, 0
	for len(text) > 0 {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		lineNo++
		if strings.TrimSpace(line) == "" {
			d.paragraph(para, first)
			para = para[:0]
			continue
		}
		if len(para) == 0 {
			first = lineNo
		}
		para = append(para, line)
	}
	d.paragraph(para, first)
	d.finish()
	return d.n
}

// warnf reports a problem unless this note already reported maxNoteWarnings.
func (d *noteDecoder) warnf(format string, args ...any) {
	d.warns++
	if d.warns <= maxNoteWarnings {
		d.warn(fmt.Sprintf(format, args...))
	}
}

// finish merges the versions of ids seen more than once and reports the
// warnings that were only counted.
func (d *noteDecoder) finish() {
	for id, vs := range d.dups {
		i := d.index[id]
		d.n.records[i] = mergeVersions(append([]*Record{d.n.records[i]}, vs...))
	}
	if d.warns > maxNoteWarnings {
		d.warn(fmt.Sprintf("%d more warning(s) about this note not shown", d.warns-maxNoteWarnings))
	}
}

func (d *noteDecoder) paragraph(lines []string, firstLine int) {
	if len(lines) == 0 {
		return
	}
	var pending []string // consecutive lines that are not records on their own
	pendingAt := 0
	flush := func() {
		if len(pending) == 0 {
			return
		}
		text := strings.Join(pending, "\n")
		if recs, ok := decodeStream(text); ok {
			for _, r := range recs {
				d.add(r, pendingAt)
			}
		} else {
			d.n.junk = append(d.n.junk, text)
			d.warnf("line %d: %d line(s) that are not a pipe record, kept as they are: %s",
				pendingAt, len(pending), quoteAbbrev(text, 60))
		}
		pending = nil
	}
	for i, line := range lines {
		t := strings.TrimSpace(line)
		if len(t) > MaxRecordSize {
			flush()
			d.n.junk = append(d.n.junk, line)
			d.warnf("line %d: %d bytes, longer than a record may be (%d); kept as it is, not read: %s",
				firstLine+i, len(t), MaxRecordSize, quoteAbbrev(t, 60))
			continue
		}
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			r, ok := decodeRecordJSON([]byte(t))
			if ok {
				flush()
				d.add(r, firstLine+i)
				continue
			}
			if !json.Valid([]byte(t)) {
				if len(pending) == 0 {
					pendingAt = firstLine + i
				}
				pending = append(pending, line)
				continue
			}
			flush()
			d.n.junk = append(d.n.junk, line)
			d.warnf("line %d: a JSON object without a record id, kept as it is: %s", firstLine+i, quoteAbbrev(t, 60))
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
		if len(raw) > MaxRecordSize {
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
	r := &Record{}
	err := json.Unmarshal(data, r)
	var syntax *json.SyntaxError
	switch {
	case err == nil && r.ID == "":
		return nil, false
	case err == nil: // the common case: one pass
		r.raw = append(json.RawMessage(nil), data...)
		r.FutureSchema = r.SchemaVersion > SchemaVersion
		return r, true
	case errors.As(err, &syntax):
		return nil, false
	}
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
	// A field of an unexpected type (a hand edit, a future schema): read
	// the fields one by one so the rest still counts.
	r = decodeFieldwise(data)
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

// add appends r, reporting what is odd about it. A second version of an id
// already read is kept aside for finish.
func (d *noteDecoder) add(r *Record, line int) {
	id := SafeText(r.ID)
	switch {
	case r.SchemaVersion == 0:
		d.warnf("line %d: record %s has no schemaVersion; read as version %d", line, id, SchemaVersion)
	case r.FutureSchema:
		d.warnf("line %d: record %s has schemaVersion %d, newer than this pipe (%d): read what is known, kept unchanged; upgrade pipe to read it fully",
			line, id, r.SchemaVersion, SchemaVersion)
	}
	if len(r.unreadable) > 0 {
		fields := make([]string, len(r.unreadable))
		for i, f := range r.unreadable {
			fields[i] = SafeText(f)
		}
		d.warnf("line %d: record %s: field(s) %s have an unexpected type and read as empty (kept as they are in the note)",
			line, id, strings.Join(fields, ", "))
	}
	if !r.Status.Known() {
		d.warnf("line %d: record %s has an unknown status %q", line, id, r.Status)
	}
	if _, seen := d.index[r.ID]; seen {
		if d.dups == nil {
			d.dups = map[string][]*Record{}
		}
		d.dups[r.ID] = append(d.dups[r.ID], r)
		return
	}
	d.index[r.ID] = len(d.n.records)
	d.n.records = append(d.n.records, r)
}

// encode renders the note: records sorted by id, one per line, then the
// junk paragraphs, each after a blank line, as they were. A note over
// MaxNoteSize, or a record written by this pipe over MaxRecordSize, is
// refused (ErrNoteTooLarge): nothing writes what a reader would not read.
func (n *note) encode() ([]byte, error) {
	recs := slices.Clone(n.records)
	slices.SortFunc(recs, func(a, b *Record) int { return strings.Compare(a.ID, b.ID) })
	var buf bytes.Buffer
	for _, r := range recs {
		line, err := encodeRecord(r)
		if err != nil {
			return nil, err
		}
		if len(line) > MaxRecordSize && (r.raw == nil || r.edited) {
			return nil, &sizeError{what: "record " + SafeText(r.ID), size: int64(len(line)), limit: MaxRecordSize}
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
	if buf.Len() > MaxNoteSize {
		return nil, &sizeError{what: fmt.Sprintf("the note (%d records)", len(recs)), size: int64(buf.Len()), limit: MaxNoteSize}
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
		"endedAt", "updatedAt", "notifications":
		return true
	}
	return false
}

// abbreviate shortens s to n bytes for a message, on one line and with
// control characters escaped.
func abbreviate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return SafeText(s)
}

// quoteAbbrev quotes the first n bytes of s (whole runes) for a message.
func quoteAbbrev(s string, n int) string {
	if len(s) <= n {
		return strconv.Quote(s)
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strconv.Quote(s[:n]) + "…"
}
