package state

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzDecodeNote: whatever a note holds, decoding returns (no panic, no
// hang), every record has an id, text is never lost (what is written back
// reads back as the same records and text), and warnings carry no raw
// control characters.
//
//	go test -run x -fuzz FuzzDecodeNote -fuzztime 30s ./internal/state
func FuzzDecodeNote(f *testing.F) {
	rec := `{"schemaVersion":1,"id":"01J000000000000000000000A1","revision":3,"app":"web","target":{"hash":"716323b9ee010332b7aa4b38377c13b091952113"},"status":"SUCCEEDED","createdAt":"2026-01-01T10:00:00Z","updatedAt":"2026-01-01T10:01:30Z"}`
	for _, seed := range []string{
		"",
		rec + "\n",
		rec + "\n\n" + rec + "\n", // git notes append of the same record
		"{\n  \"id\": \"P\",\n  \"status\": \"RUNNING\"\n}\n", // pretty-printed
		`{"id": "BROKEN", "status": ` + "\n",                  // broken JSON
		`{"foo": 1}`,                                          // no id
		`{"id": 7}`,                                           // id of the wrong type
		`{"id":"W","revision":"three","stages":"oops","status":"FAILED"}`, // wrong-typed fields
		`{"id":"F","schemaVersion":2,"newThing":{"x":[1,2]}}`,             // future schema
		`{"id":"X","schemaVersion":1e400}`,                                // out of range
		"rolled back by hand\nsee the incident doc\n",
		"{\"id\":\"\\u001b[2J\",\"status\":\"\x1b[31mRED\"}\n\x1b]0;title\x07\r\n", // control characters
		"\xff\xfe{\"id\":\"bad utf-8 \xc3\"}\n",
		strings.Repeat("[", 20000) + strings.Repeat("]", 20000),            // deep nesting
		`{"id":"L","reason":"` + strings.Repeat("x", MaxRecordSize) + `"}`, // a line over MaxRecordSize
		strings.Repeat(`{"id":"D","revision":1,"events":[{"time":"2026-01-01T00:00:00Z","kind":"k"}]}`+"\n", 200),
		"{\n" + strings.Repeat(" ", 1000) + "\n}\n{}{}{\"id\":\"S\"}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var warns []string
		n := decodeNote(data, func(m string) { warns = append(warns, m) })
		for _, r := range n.records {
			if r.ID == "" {
				t.Fatalf("record without id from %q", data)
			}
		}
		for _, w := range warns {
			if strings.ContainsFunc(w, unsafeRune) {
				t.Fatalf("raw control character in warning %q", w)
			}
		}
		if len(warns) > maxNoteWarnings+1 {
			t.Fatalf("%d warnings", len(warns))
		}
		out, err := n.encode()
		if err != nil {
			return // over a size limit: refused, as a write would be
		}
		again := decodeNote(out, func(string) {})
		if len(again.records) != len(n.records) {
			t.Fatalf("%d records read back as %d:\n%q\n%q", len(n.records), len(again.records), data, out)
		}
		for _, j := range n.junk {
			if !bytes.Contains(out, []byte(j)) {
				t.Fatalf("text %q lost", j)
			}
		}
	})
}
