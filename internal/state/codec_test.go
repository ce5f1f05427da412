package state

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSafeText(t *testing.T) {
	for in, want := range map[string]string{
		"deploy #812":                "deploy #812",
		"équipe 部署 🚀":                "équipe 部署 🚀",
		"\x1b[2J\x1b[Hbot":           `\x1b[2J\x1b[Hbot`,
		"ok\rFAKE":                   `ok\rFAKE`,
		"a\tb\nc":                    `a\tb\nc`,
		"\u009b31m":                  `\u009b31m`, // C1 CSI
		"\x9b31m":                    `\x9b31m`,   // the same byte, not UTF-8
		"abc\u202edcba":              `abc\u202edcba`,
		"x\u2028y":                   `x\u2028y`,
		"bad \xff byte":              `bad \xff byte`,
		"\x1b]0;title\x07":           `\x1b]0;title\a`,
		`C:\path stays as it is`:     `C:\path stays as it is`,
		"\x7f":                       `\x7f`,
		"01J000000000000000000000A1": "01J000000000000000000000A1",
	} {
		if got := SafeText(in); got != want {
			t.Errorf("SafeText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLockedErrorEscapesTheHolder: the holder comes from the lock ref.
func TestLockedErrorEscapesTheHolder(t *testing.T) {
	err := &LockedError{App: "web", Holder: LockInfo{Owner: "evil\x1b[2J", CIRunURL: "https://ci/\x1b]8;;x\x07"}}
	if got := err.Error(); strings.ContainsAny(got, "\x1b\x07") || !strings.Contains(got, `evil\x1b[2J, run https://ci/\x1b]8;;x\a`) {
		t.Errorf("LockedError = %q", got)
	}
}

// TestDecodeNoteManyVersionsOfOneID: versions of one id read back as one
// record, the winner with every version's events, in linear time.
func TestDecodeNoteManyVersionsOfOneID(t *testing.T) {
	const n = 20_000
	data := versionsOf(t, n)
	start := time.Now()
	nt := decodeNote(data, func(string) {})
	took := time.Since(start)
	if len(nt.records) != 1 {
		t.Fatalf("%d records, want 1", len(nt.records))
	}
	r := nt.records[0]
	if r.Revision != n || len(r.Events) != n {
		t.Fatalf("revision %d with %d events, want %d and %d", r.Revision, len(r.Events), n, n)
	}
	for i := 1; i < len(r.Events); i++ {
		if r.Events[i].Time.Before(r.Events[i-1].Time) {
			t.Fatalf("events out of time order at %d", i)
		}
	}
	// Pairwise merging took minutes here; linear decoding takes well under
	// a second even on a loaded machine.
	if took > 20*time.Second {
		t.Errorf("decoding %d versions took %s", n, took)
	}
}

// TestDecodeNoteBounds: a line over MaxRecordSize is kept without being
// parsed, and a note's warnings stop after maxNoteWarnings.
func TestDecodeNoteBounds(t *testing.T) {
	long := `{"id":"LONG","status":"SUCCEEDED","x":"` + strings.Repeat("a", MaxRecordSize) + `"}`
	var b strings.Builder
	b.WriteString(long + "\n")
	for i := range 50 {
		fmt.Fprintf(&b, `{"id":"R%02d","status":"RUNNING"}`+"\n", i) // no schemaVersion: a warning each
	}
	var warns []string
	nt := decodeNote([]byte(b.String()), func(m string) { warns = append(warns, m) })
	if len(nt.records) != 50 || len(nt.junk) != 1 || nt.junk[0] != long {
		t.Fatalf("%d records, %d junk", len(nt.records), len(nt.junk))
	}
	if !strings.Contains(warns[0], "line 1:") || !strings.Contains(warns[0], "longer than a record may be") {
		t.Errorf("first warning: %s", warns[0])
	}
	if len(warns) != maxNoteWarnings+1 || warns[maxNoteWarnings] != "41 more warning(s) about this note not shown" {
		t.Errorf("%d warnings, last %q", len(warns), warns[len(warns)-1])
	}
	// The long line is written back as it was.
	out, err := nt.encode()
	if err != nil || !strings.Contains(string(out), "\n\n"+long+"\n") {
		t.Errorf("encode: %v", err)
	}
}

// TestDecodeNoteEscapesWarnings: text from the note appears in warnings
// with its control characters escaped.
func TestDecodeNoteEscapesWarnings(t *testing.T) {
	in := `{"id":"\u001b[2Jevil","status":"DONE\u001b[31m"}` + "\n" + "free \x1b]0;owned\x07 text\n"
	var warns []string
	decodeNote([]byte(in), func(m string) { warns = append(warns, m) })
	if len(warns) != 3 {
		t.Fatalf("warnings: %q", warns)
	}
	for _, w := range warns {
		if strings.ContainsAny(w, "\x1b\x07") {
			t.Errorf("raw control character in warning %q", w)
		}
	}
	if !strings.Contains(warns[0], `record \x1b[2Jevil has no schemaVersion`) {
		t.Errorf("warning %q", warns[0])
	}
}

// TestEncodeRefusesOversizedNotes: nothing writes a note or a record that a
// reader would not read.
func TestEncodeRefusesOversizedNotes(t *testing.T) {
	big := newRecord("web", "0123456789abcdef0123456789abcdef01234567")
	big.ID = "BIG"
	big.Reason = strings.Repeat("x", MaxRecordSize)
	_, err := (&note{records: []*Record{big}}).encode()
	if !errors.Is(err, ErrNoteTooLarge) || !strings.Contains(err.Error(), "record BIG is 1.0 MiB, over the limit of 1 MiB") {
		t.Errorf("oversized record: %v", err)
	}
	nt := decodeNote(noteOf(t, "web", "0123456789abcdef0123456789abcdef01234567", MaxNoteSize/400), func(string) {})
	_, err = nt.encode()
	if !errors.Is(err, ErrNoteTooLarge) || !strings.Contains(err.Error(), "over the limit of 8 MiB") {
		t.Errorf("oversized note: %v", err)
	}
}
