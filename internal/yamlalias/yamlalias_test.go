package yamlalias

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// laughs is the "billion laughs": each level a list of fan aliases of the
// previous one.
func laughs(levels, fan int) string {
	var b strings.Builder
	b.WriteString("x0: &l0 [lol]\n")
	for i := 1; i <= levels; i++ {
		refs := make([]string, fan)
		for j := range refs {
			refs[j] = fmt.Sprintf("*l%d", i-1)
		}
		fmt.Fprintf(&b, "x%d: &l%d [%s]\n", i, i, strings.Join(refs, ", "))
	}
	return b.String()
}

func TestCheckStream(t *testing.T) {
	tests := []struct {
		name, data   string
		line, column int
		msg          string // "" when accepted
	}{
		{"no aliases", "a: 1\n---\nb: [1, 2]\n", 0, 0, ""},
		{"reuse", "base: &b {image: nginx}\nweb: {<<: *b, name: web}\napi: {<<: *b, name: api}\n", 0, 0, ""},
		{"merge into itself", "a: 1\n---\ndata: &s {<<: *s}\n", 3, 15, "alias *s expands into itself"},
		{"alias in itself", "data: &s {a: [*s]}\n", 1, 15, "alias *s expands into itself"},
		{"billion laughs", laughs(9, 9), 7, 10, "anchors and aliases expand this document past 250000 nodes (here, alias *l5)"},
		{"deep", laughs(33, 1), 34, 12, "aliases nest more than 32 deep here (alias *l32)"},
		{"32 deep", laughs(32, 1), 0, 0, ""},
		{"not YAML", "a: [*\n", 0, 0, ""},
		{"no alias", "a: &a {<<: {b: 1}}\n", 0, 0, ""},
		{"after a syntax error", "a: 1\n--- [\n" + laughs(9, 9), 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckStream([]byte(tt.data))
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.Message != tt.msg || e.Line != tt.line || e.Column != tt.column || e.Hint == "" {
				t.Errorf("got %d:%d %q (hint %q), want %d:%d %q", e.Line, e.Column, e.Message, e.Hint, tt.line, tt.column, tt.msg)
			}
		})
	}
}

// TestCheckStreamSharedBudget: the budget is per file, not per document: a
// stream of documents each just under it is refused.
func TestCheckStreamSharedBudget(t *testing.T) {
	doc := laughs(2, 300) // aliases add 300 + 300*600 = 180,300 nodes
	if err := CheckStream([]byte(doc)); err != nil {
		t.Fatalf("one document refused: %v", err)
	}
	err := CheckStream([]byte(doc + "---\n" + doc))
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, "past 250000 nodes") || e.Line != 7 {
		t.Fatalf("got %v, want the second document refused at its x2 (line 7 of the file)", err)
	}
	if got := e.Error(); !strings.HasPrefix(got, "line 7, column ") || !strings.Contains(got, "billion laughs") {
		t.Errorf("Error() = %q", got)
	}
}

// FuzzCheckStream: no input makes Check panic, and what it accepts has no
// cycle by yaml.v3's own account either (it decodes every document,
// following every alias, without "value contains itself").
func FuzzCheckStream(f *testing.F) {
	for _, s := range []string{
		"a: 1\n",
		"base: &b {image: nginx}\nweb: {<<: *b, name: web}\n",
		"data: &s {<<: *s}\n",
		"a: &a [*a]\n",
		"a: &a {b: &b [*a]}\nc: *b\n",
		"a: &a [1]\n---\nb: &a [*a]\n",
		"x: &x 1\ny: &x [*x, *x]\nz: [*x, *x]\n",
		"*a : b\n",
		laughs(4, 9),
		laughs(33, 1),
		"{<<: [&a {x: 1}, {<<: *a}]}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := CheckStream(data); err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Line < 1 || e.Column < 1 || e.Message == "" || e.Hint == "" {
				t.Fatalf("incomplete error %#v", err)
			}
			return
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var v any
			err := dec.Decode(&v)
			if err == nil {
				continue
			}
			if strings.Contains(err.Error(), "contains itself") {
				t.Fatalf("accepted a cycle yaml.v3 refuses: %v", err)
			}
			return
		}
	})
}
