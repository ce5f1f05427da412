package plan

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"gopkg.in/yaml.v3"
)

// Masks shown instead of Secret values.
const (
	maskSecret        = "***"
	maskSecretChanged = "*** (changed)"
)

// DiffOptions labels the two sides of the per-object diffs.
type DiffOptions struct {
	// From and To name the compared states in the "---" / "+++" lines
	// (e.g. "last deployed abc1234" and "head def5678", or "live" and
	// "head def5678 (dry run)").
	From, To string
	// Context is the number of unchanged lines around each change; 0
	// means 3.
	Context int
}

// DiffObjects compares two sets of Kubernetes objects by key, after
// normalising both (see normalize), and returns one Change per object
// added, changed or deleted: first the objects of `to` in their order,
// then the deleted objects in the order of `from`. Each change carries a
// unified diff of the objects' YAML (keys sorted) in which Secret values
// are masked.
func DiffObjects(from, to []Object, opt DiffOptions) []Change {
	old := byKey(from)
	changes := []Change{}
	seen := make(map[string]bool, len(to))
	for _, n := range to {
		if seen[n.Key] || n.Object == nil {
			continue
		}
		seen[n.Key] = true
		nn := normalize(n.Object)
		o, ok := old[n.Key]
		if !ok {
			changes = append(changes, Change{Key: n.Key, Action: ActionAdd, Language: LanguageDiff,
				Diff: objectDiff(nil, nn, n.Key, opt), Source: n.Source})
			continue
		}
		on := normalize(o.Object)
		if reflect.DeepEqual(on, nn) {
			continue
		}
		changes = append(changes, Change{Key: n.Key, Action: ActionChange, Language: LanguageDiff,
			Diff: objectDiff(on, nn, n.Key, opt), Source: n.Source})
	}
	for _, o := range from {
		if seen[o.Key] || o.Object == nil {
			continue
		}
		seen[o.Key] = true
		changes = append(changes, Change{Key: o.Key, Action: ActionDelete, Language: LanguageDiff,
			Diff: objectDiff(normalize(o.Object), nil, o.Key, opt)})
	}
	return changes
}

// objectDiff renders the unified diff of two normalised objects (nil for
// a side that does not exist), masking Secret values.
func objectDiff(old, new map[string]any, key string, opt DiffOptions) string {
	if (old != nil && isSecret(old)) || (new != nil && isSecret(new)) {
		maskSecretValues(old, new)
	}
	from, to := opt.From, opt.To
	if from == "" {
		from = "old"
	}
	if to == "" {
		to = "new"
	}
	return unifiedDiff(yamlLines(old), yamlLines(new), key+" ("+from+")", key+" ("+to+")", opt.Context)
}

// maskSecretValues replaces the values of data (stringData was merged into
// it) on both sides: "***" where the value is the same or exists on one
// side only, and "*** (changed)" on the new side where it differs, so the
// diff says which keys changed and nothing about their values.
func maskSecretValues(old, new map[string]any) {
	od, _ := old["data"].(map[string]any)
	nd, _ := new["data"].(map[string]any)
	for k, v := range nd {
		if ov, ok := od[k]; ok && !reflect.DeepEqual(ov, v) {
			nd[k] = maskSecretChanged
		} else {
			nd[k] = maskSecret
		}
	}
	for k := range od {
		od[k] = maskSecret
	}
	for _, m := range []map[string]any{old, new} {
		if m != nil {
			delete(m, "stringData")
		}
	}
}

// yamlLines renders an object as YAML lines (each ending in "\n"), keys
// sorted, two-space indentation; nil renders as no lines.
func yamlLines(obj map[string]any) []string {
	if obj == nil {
		return nil
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(obj); err != nil {
		// Normalised objects hold only maps, slices, strings, numbers and
		// booleans: encoding cannot fail. Show the reason rather than panic.
		return []string{fmt.Sprintf("# cannot render the object as YAML: %v\n", err)}
	}
	_ = enc.Close()
	return splitLines(b.String())
}

// splitLines splits text into lines that each end in "\n".
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n"
	}
	return lines
}

// unifiedDiff is `diff -u` of two line slices, with go-difflib's sequence
// matcher (its automatic junk heuristic off: YAML repeats lines such as
// "- name:" often, and treating them as junk gives poor diffs of long
// objects). It is empty when the sides are equal.
func unifiedDiff(a, b []string, fromFile, toFile string, context int) string {
	if context <= 0 {
		context = 3
	}
	m := difflib.NewMatcherWithJunk(a, b, false, nil)
	groups := m.GetGroupedOpCodes(context)
	if len(groups) == 0 || (len(a) == 0 && len(b) == 0) {
		return ""
	}
	var w strings.Builder
	fmt.Fprintf(&w, "--- %s\n+++ %s\n", fromFile, toFile)
	for _, g := range groups {
		first, last := g[0], g[len(g)-1]
		fmt.Fprintf(&w, "@@ -%s +%s @@\n", unifiedRange(first.I1, last.I2), unifiedRange(first.J1, last.J2))
		for _, c := range g {
			switch c.Tag {
			case 'e':
				writeLines(&w, " ", a[c.I1:c.I2])
			case 'r':
				writeLines(&w, "-", a[c.I1:c.I2])
				writeLines(&w, "+", b[c.J1:c.J2])
			case 'd':
				writeLines(&w, "-", a[c.I1:c.I2])
			case 'i':
				writeLines(&w, "+", b[c.J1:c.J2])
			}
		}
	}
	return w.String()
}

func writeLines(w *strings.Builder, prefix string, lines []string) {
	for _, l := range lines {
		w.WriteString(prefix)
		w.WriteString(l)
	}
}

// unifiedRange formats a hunk range as diff -u does: "start,length", with
// the start of an empty range being the line before it.
func unifiedRange(start, stop int) string {
	beginning := start + 1
	length := stop - start
	switch length {
	case 1:
		return fmt.Sprintf("%d", beginning)
	case 0:
		beginning--
	}
	return fmt.Sprintf("%d,%d", beginning, length)
}
