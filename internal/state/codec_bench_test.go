package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// noteOf returns a note blob of n distinct records of app's deployments of
// commit (a commit deployed n times: re-runs, rollbacks to it), as pipe
// writes them, created a second apart from 2024-01-01.
func noteOf(tb testing.TB, app, commit string, n int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		r := newRecord(app, commit)
		r.SchemaVersion = SchemaVersion
		r.ID = NewID(start.Add(time.Duration(i) * time.Second))
		r.Revision = 3
		r.Status = StatusSucceeded
		r.CreatedAt = start.Add(time.Duration(i) * time.Second)
		r.UpdatedAt = r.CreatedAt.Add(time.Minute)
		line, err := json.Marshal(r)
		if err != nil {
			tb.Fatal(err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// BenchmarkDecodeNote decodes one note holding 10,000 and 40,000 records.
// Decoding is linear: the 40k case costs about 4 times the 10k case.
func BenchmarkDecodeNote(b *testing.B) {
	for _, n := range []int{10_000, 40_000} {
		data := noteOf(b, "web", "0123456789abcdef0123456789abcdef01234567", n)
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				nt := decodeNote(data, func(string) {})
				if len(nt.records) != n {
					b.Fatalf("%d records, want %d", len(nt.records), n)
				}
			}
		})
	}
	// The same record appended n times (by hand or by a hostile writer),
	// each version with an event of its own: one record with n events.
	n := 10_000
	data := versionsOf(b, n)
	b.Run(fmt.Sprintf("versions=%d", n), func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			nt := decodeNote(data, func(string) {})
			if len(nt.records) != 1 || len(nt.records[0].Events) != n {
				b.Fatalf("%d records", len(nt.records))
			}
		}
	})
}

// versionsOf returns a note holding n versions of one record, revisions 1
// to n, each with an event of its own.
func versionsOf(tb testing.TB, n int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		r := newRecord("web", "0123456789abcdef0123456789abcdef01234567")
		r.SchemaVersion, r.ID, r.Revision, r.CreatedAt = SchemaVersion, "01J0000000000000000000DUP0", i+1, start
		r.Events = []Event{{Time: start.Add(time.Duration(i) * time.Second), Kind: "note", Message: fmt.Sprint(i)}}
		line, err := json.Marshal(r)
		if err != nil {
			tb.Fatal(err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}
