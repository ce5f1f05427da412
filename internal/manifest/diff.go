package manifest

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
	MaskSecret        = "***"
	MaskSecretChanged = "*** (changed)"
)

// Diff renders the unified diff of two normalised objects (see Normalize;
// nil for a side that does not exist) as YAML with sorted keys, labelled
// "key (from)" and "key (to)" ("old" and "new" when empty), with context
// unchanged lines around each change (3 when 0 or less). The values of a
// Secret's data are masked: "***" where a value is the same on both sides
// or exists on one side only, "*** (changed)" on the new side where it
// differs, so the diff says which keys changed and nothing about their
// values. The objects are not modified. The diff is empty when both sides
// render the same.
func Diff(old, new map[string]any, key, from, to string, context int) string {
	if IsSecret(old) || IsSecret(new) {
		old, new = maskSecretValues(old, new)
	}
	if from == "" {
		from = "old"
	}
	if to == "" {
		to = "new"
	}
	return unifiedDiff(yamlLines(old), yamlLines(new), key+" ("+from+")", key+" ("+to+")", context)
}

// maskSecretValues returns copies of old and new whose data values are
// masked (stringData, which Normalize merged into data, is dropped).
func maskSecretValues(old, new map[string]any) (map[string]any, map[string]any) {
	od, _ := old["data"].(map[string]any)
	nd, _ := new["data"].(map[string]any)
	masked := func(obj, data map[string]any, value func(k string, v any) string) map[string]any {
		if obj == nil {
			return nil
		}
		out := make(map[string]any, len(obj))
		for k, v := range obj {
			if k != "stringData" {
				out[k] = v
			}
		}
		if data != nil {
			m := make(map[string]any, len(data))
			for k, v := range data {
				m[k] = value(k, v)
			}
			out["data"] = m
		}
		return out
	}
	newMasked := masked(new, nd, func(k string, v any) string {
		if ov, ok := od[k]; ok && !reflect.DeepEqual(ov, v) {
			return MaskSecretChanged
		}
		return MaskSecret
	})
	oldMasked := masked(old, od, func(string, any) string { return MaskSecret })
	return oldMasked, newMasked
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
