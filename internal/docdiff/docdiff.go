// Package docdiff compares documents decoded from JSON or YAML (maps,
// lists, scalars) the way drift detection of a declared resource needs:
// only what the declared side sets is compared (the live side holds what
// the server fills in), keys match case-insensitively (as encoding/json
// matches fields), a number and the same number written as a string are
// equal, and named lists of strings compare as sets. The ECS and Cloud
// Run platforms use it for their drift reports and live plans.
package docdiff

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/gitops-pipe/pipe/internal/drift"
)

// Options tune a comparison.
type Options struct {
	// Sets names the fields (their last key, lower case) whose lists of
	// strings compare as sets (subnets, security groups).
	Sets map[string]bool
	// Show renders a differing value of a field for the report (masking a
	// secret); nil shows values as they are.
	Show func(path string, value, other any) any
}

// Compare lists the leaves want sets that live lacks or holds otherwise.
// Items of a list of maps are named by their "name" field when they have
// one (containers[name=web]).
func Compare(want, live map[string]any, o Options) []drift.FieldDiff {
	return compare(want, live, "", o)
}

func compare(want, live map[string]any, prefix string, o Options) []drift.FieldDiff {
	var out []drift.FieldDiff
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		wv := want[k]
		path := prefix + k
		lv, ok := live[Key(live, k)]
		if !ok || lv == nil {
			if Empty(wv) {
				continue
			}
			out = append(out, drift.FieldDiff{Path: path, Op: drift.FieldMissing, Git: o.show(path, wv, nil)})
			continue
		}
		out = append(out, compareValue(wv, lv, path, k, o)...)
	}
	return out
}

func compareValue(wv, lv any, path, key string, o Options) []drift.FieldDiff {
	switch w := wv.(type) {
	case map[string]any:
		if l, ok := lv.(map[string]any); ok {
			return compare(w, l, path+".", o)
		}
	case []any:
		l, ok := lv.([]any)
		if !ok {
			break
		}
		if o.Sets[strings.ToLower(key)] {
			if ws, ls, ok := stringSets(w, l); ok {
				if strings.Join(ws, "\x00") != strings.Join(ls, "\x00") {
					return []drift.FieldDiff{{Path: path, Op: drift.FieldChanged, Git: strings.Join(ws, ","), Live: strings.Join(ls, ",")}}
				}
				return nil
			}
		}
		var out []drift.FieldDiff
		for i, e := range w {
			p := fmt.Sprintf("%s[%d]", path, i)
			if m, ok := e.(map[string]any); ok {
				if n, ok := Field(m, "name").(string); ok && n != "" {
					p = fmt.Sprintf("%s[name=%s]", path, n)
				}
			}
			if i >= len(l) {
				out = append(out, drift.FieldDiff{Path: p, Op: drift.FieldMissing, Git: o.show(p, e, nil)})
				continue
			}
			out = append(out, compareValue(e, l[i], p, key, o)...)
		}
		return out
	}
	if SameScalar(wv, lv) {
		return nil
	}
	return []drift.FieldDiff{{Path: path, Op: drift.FieldChanged, Git: o.show(path, wv, lv), Live: o.show(path, lv, wv)}}
}

func (o Options) show(path string, v, other any) any {
	if o.Show == nil {
		return v
	}
	return o.Show(path, v, other)
}

func stringSets(a, b []any) ([]string, []string, bool) {
	conv := func(l []any) ([]string, bool) {
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		sort.Strings(out)
		return out, true
	}
	as, ok1 := conv(a)
	bs, ok2 := conv(b)
	return as, bs, ok1 && ok2
}

// SameScalar compares two scalars as JSON writes them, a number or a
// boolean equal to the same written as a string (80 and "80").
func SameScalar(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb) || strings.Trim(string(ja), `"`) == strings.Trim(string(jb), `"`)
}

// Empty reports a value that declares nothing: nil, "", an empty list or
// map, false, 0.
func Empty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	case bool:
		return !t
	case int:
		return t == 0
	case int64:
		return t == 0
	case float64:
		return t == 0
	}
	return false
}

// Restrict keeps of live the keys want sets, recursively (lists item by
// item), spelled as want spells them: the live side of a diff with the
// declared side, without what the server adds.
func Restrict(live, want map[string]any) map[string]any {
	if live == nil || want == nil {
		return live
	}
	out := map[string]any{}
	for k, wv := range want {
		lv, ok := live[Key(live, k)]
		if !ok {
			continue
		}
		out[k] = restrictValue(lv, wv)
	}
	return out
}

func restrictValue(lv, wv any) any {
	switch w := wv.(type) {
	case map[string]any:
		if l, ok := lv.(map[string]any); ok {
			return Restrict(l, w)
		}
	case []any:
		if l, ok := lv.([]any); ok {
			out := make([]any, len(l))
			for i := range l {
				if i < len(w) {
					out[i] = restrictValue(l[i], w[i])
				} else {
					out[i] = l[i]
				}
			}
			return out
		}
	}
	return lv
}

// Key is m's key matching name case-insensitively (name when none does).
func Key(m map[string]any, name string) string {
	if _, ok := m[name]; ok {
		return name
	}
	for k := range m {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}

// Field is m's value under name, matched case-insensitively.
func Field(m map[string]any, name string) any { return m[Key(m, name)] }

// Digest fingerprints a document (its JSON).
func Digest(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
