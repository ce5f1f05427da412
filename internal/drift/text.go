package drift

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// TextOptions tune the human report.
type TextOptions struct {
	// Color wraps verdicts in ANSI colours.
	Color bool
	// Verbose lists the applications in sync too (one line each).
	Verbose bool
}

// WriteText writes the human report: one line per application out of sync
// (or failed) with its drifted objects and fields, then a summary line.
func (r *Report) WriteText(w io.Writer, opts TextOptions) error {
	paint := func(code, s string) string {
		if !opts.Color {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	var inSync, out, failed, skipped int
	for _, a := range r.Apps {
		switch a.Status {
		case InSync:
			inSync++
			if opts.Verbose {
				fmt.Fprintf(w, "%s: %s (%d objects)\n", a.App, paint("32", "in sync"), a.Objects)
			}
		case Skipped:
			skipped++
			if opts.Verbose {
				fmt.Fprintf(w, "%s: skipped: %s\n", a.App, a.Reason)
			}
		case Failed:
			failed++
			fmt.Fprintf(w, "%s: %s: %s\n", a.App, paint("31", "check failed"), a.Error)
		case OutOfSync:
			out++
			fmt.Fprintf(w, "%s: %s (%s)\n", a.App, paint("33", "OUT OF SYNC"), a.Summary())
			for _, d := range a.Drift {
				writeObject(w, d)
			}
		}
	}
	parts := []string{fmt.Sprintf("%d in sync", inSync)}
	if len(r.Apps) == 0 {
		parts = []string{"no application to check"}
	}
	if out > 0 {
		parts = append(parts, fmt.Sprintf("%d out of sync", out))
	}
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", failed))
	}
	if skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped", skipped))
	}
	shard := ""
	if r.Shard != "" {
		shard = " (shard " + r.Shard + ")"
	}
	_, err := fmt.Fprintf(w, "Drift: %s%s\n", joinComma(parts), shard)
	return err
}

func writeObject(w io.Writer, d ObjectDrift) {
	switch d.Action {
	case ActionAdded:
		fmt.Fprintf(w, "  + %s: in Git, not live", d.Object)
	case ActionDeleted:
		fmt.Fprintf(w, "  - %s: live, not in Git", d.Object)
	default:
		fmt.Fprintf(w, "  ~ %s", d.Object)
	}
	if d.Note != "" {
		fmt.Fprintf(w, " (%s)", d.Note)
	}
	fmt.Fprintln(w)
	for _, f := range d.Fields {
		fmt.Fprintf(w, "      %s\n", FieldLine(f))
	}
}

// FieldLine describes one drifted field in words.
func FieldLine(f FieldDiff) string {
	var s string
	switch f.Op {
	case FieldChanged:
		s = fmt.Sprintf("%s: git %s, live %s", f.Path, Value(f.Git), Value(f.Live))
	case FieldLiveOnly:
		s = fmt.Sprintf("%s: live only (%s), not in Git", f.Path, Value(f.Live))
	case FieldMissing:
		s = fmt.Sprintf("%s: missing live (git %s)", f.Path, Value(f.Git))
	}
	if len(f.Managers) > 0 {
		s += " [set by " + strings.Join(f.Managers, ", ") + "]"
	}
	return s
}

// Value renders a field value compactly: scalars as they are, structures
// as JSON, at most 100 characters.
func Value(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = fmt.Sprintf("%q", x)
	case nil:
		s = "null"
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			s = fmt.Sprint(x)
		} else {
			s = string(b)
		}
	default:
		s = fmt.Sprint(x)
	}
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
