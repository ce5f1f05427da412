package terraform

import (
	"encoding/json"
	"sort"
	"strconv"
)

// Markers standing in for values pipe does not show.
const (
	// SensitiveValue replaces a value terraform marks sensitive.
	SensitiveValue = "(sensitive value)"
	// UnknownValue replaces a value known only after apply.
	UnknownValue = "(known after apply)"
)

// AttributeChange is one attribute that differs between Before and After.
type AttributeChange struct {
	// Path is the attribute path, e.g. `input.name`, `tags["env"]`,
	// `triggers_replace[0]`.
	Path string `json:"path"`
	// Before and After are the values (nil when absent); sensitive ones are
	// SensitiveValue, unknown ones UnknownValue.
	Before any `json:"before"`
	After  any `json:"after"`
	// Sensitive is true when either side is sensitive.
	Sensitive bool `json:"sensitive,omitempty"`
	// Unknown is true when After is known only after apply.
	Unknown bool `json:"unknown,omitempty"`
}

// maskValue returns v with the parts marked in sens replaced by
// SensitiveValue and the parts marked in unknown by UnknownValue. The
// masks follow terraform's JSON: true for the whole value, else an
// object/array of the same shape.
func maskValue(v, sens, unknown any) any {
	if isTrue(unknown) {
		return UnknownValue
	}
	if isTrue(sens) {
		return SensitiveValue
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = maskValue(e, child(sens, k), child(unknown, k))
		}
		// Unknown attributes absent from v (after of a create).
		if um, ok := unknown.(map[string]any); ok {
			for k, u := range um {
				if _, present := t[k]; !present && isTrue(u) {
					out[k] = UnknownValue
				}
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = maskValue(e, index(sens, i), index(unknown, i))
		}
		return out
	}
	if v == nil {
		if um, ok := unknown.(map[string]any); ok && len(um) > 0 {
			return maskValue(map[string]any{}, sens, unknown)
		}
	}
	return v
}

func isTrue(m any) bool { b, ok := m.(bool); return ok && b }

func child(m any, k string) any {
	if mm, ok := m.(map[string]any); ok {
		return mm[k]
	}
	return m
}

func index(m any, i int) any {
	if l, ok := m.([]any); ok {
		if i < len(l) {
			return l[i]
		}
		return nil
	}
	return m
}

// maskKnownSecrets replaces, anywhere in v, strings equal to a known secret
// (values terraform marked sensitive elsewhere in the plan, e.g. copied into
// an unmarked attribute such as terraform_data.output).
func maskKnownSecrets(v any, secrets map[string]bool) any {
	if len(secrets) == 0 {
		return v
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = maskKnownSecrets(e, secrets)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = maskKnownSecrets(e, secrets)
		}
		return out
	case string:
		if secrets[t] {
			return SensitiveValue
		}
	}
	return v
}

// collectSensitive adds to out the string leaves of v marked in sens.
func collectSensitive(v, sens any, out map[string]bool) {
	if isTrue(sens) {
		collectLeaves(v, out)
		return
	}
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			collectSensitive(e, child(sens, k), out)
		}
	case []any:
		for i, e := range t {
			collectSensitive(e, index(sens, i), out)
		}
	}
}

func collectLeaves(v any, out map[string]bool) {
	switch t := v.(type) {
	case map[string]any:
		for _, e := range t {
			collectLeaves(e, out)
		}
	case []any:
		for _, e := range t {
			collectLeaves(e, out)
		}
	case string:
		if len(t) >= 3 {
			out[t] = true
		}
	case json.Number:
		if len(t.String()) >= 3 {
			out[t.String()] = true
		}
	}
}

// diffValues compares masked before/after values recursively and lists the
// attributes that differ. rawBefore/rawAfter are the unmasked values: a
// sensitive attribute whose raw values differ shows as changed although
// both sides read SensitiveValue.
func diffValues(path string, mb, ma, rb, ra any, out *[]AttributeChange) {
	bm, bIsMap := mb.(map[string]any)
	am, aIsMap := ma.(map[string]any)
	if bIsMap && aIsMap {
		keys := map[string]bool{}
		for k := range bm {
			keys[k] = true
		}
		for k := range am {
			keys[k] = true
		}
		for _, k := range sortedKeys(keys) {
			diffValues(joinKey(path, k), bm[k], am[k], childVal(rb, k), childVal(ra, k), out)
		}
		return
	}
	bl, bIsList := mb.([]any)
	al, aIsList := ma.([]any)
	if bIsList && aIsList && len(bl) == len(al) {
		for i := range bl {
			diffValues(path+"["+strconv.Itoa(i)+"]", bl[i], al[i], indexVal(rb, i), indexVal(ra, i), out)
		}
		return
	}
	sens := mb == SensitiveValue || ma == SensitiveValue
	if jsonEqual(mb, ma) && !(sens && !jsonEqual(rb, ra)) {
		return
	}
	if path == "" {
		path = "(value)"
	}
	*out = append(*out, AttributeChange{Path: path, Before: mb, After: ma, Sensitive: sens, Unknown: ma == UnknownValue})
}

func childVal(v any, k string) any {
	if m, ok := v.(map[string]any); ok {
		return m[k]
	}
	return nil
}

func indexVal(v any, i int) any {
	if l, ok := v.([]any); ok && i < len(l) {
		return l[i]
	}
	return nil
}

func joinKey(prefix, k string) string {
	if isIdent(k) {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	return prefix + "[" + strconv.Quote(k) + "]"
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
