package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// noteOf returns a note blob of n distinct records of one commit (a commit
// deployed n times: re-runs, rollbacks to it), as pipe writes them.
func noteOf(tb testing.TB, n int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		r := newRecord("web", "0123456789abcdef0123456789abcdef01234567")
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
		data := noteOf(b, n)
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
}
