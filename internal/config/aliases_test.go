package config

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/yamlalias"
)

const appHead = "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\n"

// TestParseFileAliasCycles: an alias inside the value of its own anchor
// (`spec: &s {<<: *s}` crashed validate with a stack overflow) is refused at
// the alias.
func TestParseFileAliasCycles(t *testing.T) {
	tests := []struct {
		name, data string
		line, col  int
		msg        string
	}{
		{"merge into itself", appHead + "spec: &s {<<: *s}\n", 3, 15, "alias *s expands into itself"},
		{"merge list into itself", appHead + "spec: &s\n  name: a\n  <<: [{a: 1}, *s]\n", 5, 16, "alias *s expands into itself"},
		{"nested merge", appHead + "spec: &s\n  name: a\n  labels:\n    <<: *s\n", 6, 9, "alias *s expands into itself"},
		{"value", appHead + "spec: &a\n  name: x\n  labels: *a\n", 5, 11, "alias *a expands into itself"},
		{"list", "a: &a [*a, *a]\n", 1, 8, "alias *a expands into itself"},
		{"through another anchor", appHead + "spec: &s\n  name: a\n  x: &t {y: *s}\n  z: *t\n", 5, 13, "alias *s expands into itself"},
		{"redefined anchor", appHead + "x: &s [1]\nspec: &s {<<: *s}\n", 4, 15, "alias *s expands into itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ParseFile("app.pipecd.yaml", []byte(tt.data))
			if len(f.Diags) != 1 {
				t.Fatalf("want one diagnostic, got:\n%s", f.Diags.Error())
			}
			d := f.Diags[0]
			if d.Message != tt.msg || d.Severity != SeverityError || d.File != "app.pipecd.yaml" {
				t.Fatalf("got %s, want %q", d, tt.msg)
			}
			if d.Line != tt.line || d.Column != tt.col {
				t.Errorf("position = %d:%d, want %d:%d (the alias): %s", d.Line, d.Column, tt.line, tt.col, d)
			}
			if !strings.Contains(d.Hint, "inside the value of its anchor &") {
				t.Errorf("hint = %q", d.Hint)
			}
		})
	}
}

// chainedMerges builds the "billion laughs" with merge keys: each level
// merges the previous one fan times, and labels merges the last level.
func chainedMerges(levels, fan int) string {
	var b strings.Builder
	b.WriteString(appHead + "spec:\n  name: a\n  x0: &l0 {a: b, c: d}\n")
	for i := 1; i <= levels; i++ {
		refs := make([]string, fan)
		for j := range refs {
			refs[j] = fmt.Sprintf("*l%d", i-1)
		}
		fmt.Fprintf(&b, "  x%d: &l%d {<<: [%s]}\n", i, i, strings.Join(refs, ", "))
	}
	fmt.Fprintf(&b, "  labels: {<<: *l%d}\n", levels)
	return b.String()
}

// laughs builds the classic "billion laughs" with sequences, under a field
// the decoder reads as free-form values.
func laughs(levels, fan int) string {
	var b strings.Builder
	b.WriteString(appHead + "spec:\n  name: a\n  x0: &l0 [lol]\n")
	for i := 1; i <= levels; i++ {
		refs := make([]string, fan)
		for j := range refs {
			refs[j] = fmt.Sprintf("*l%d", i-1)
		}
		fmt.Fprintf(&b, "  x%d: &l%d [%s]\n", i, i, strings.Join(refs, ", "))
	}
	return b.String()
}

// TestParseFileAliasBombs: documents of a few hundred bytes whose aliases
// stand for billions of nodes (56 s and 645 MB for one of 516 bytes, 23 GB
// for 11 levels) are refused at once, in bounded memory, at the alias that
// takes them past the limit.
func TestParseFileAliasBombs(t *testing.T) {
	tests := []struct {
		name, data string
		line       int
		msg        string
	}{
		{"chained merges", chainedMerges(11, 9), 10, "anchors and aliases expand this document past 250000 nodes (here, alias *l4)"},
		{"sequences", laughs(9, 9), 11, "anchors and aliases expand this document past 250000 nodes (here, alias *l5)"},
		{"wide", laughs(1, 300_000), 6, "anchors and aliases expand this document past 250000 nodes (here, alias *l0)"},
		{"just past the limit", laughs(2, 354), 7, "anchors and aliases expand this document past 250000 nodes (here, alias *l1)"},
		{"deep", laughs(40, 1), 38, "aliases nest more than 32 deep here (alias *l32)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			f := ParseFile("app.pipecd.yaml", []byte(tt.data))
			runtime.ReadMemStats(&after)
			if len(f.Diags) != 1 {
				t.Fatalf("want one diagnostic, got %d:\n%s", len(f.Diags), truncate(f.Diags.Error(), 2000))
			}
			d := f.Diags[0]
			if d.Message != tt.msg || d.Severity != SeverityError {
				t.Fatalf("got %s, want %q", d, tt.msg)
			}
			if d.Line != tt.line || d.Column == 0 {
				t.Errorf("position = %d:%d, want line %d", d.Line, d.Column, tt.line)
			}
			if d.Hint == "" {
				t.Error("no hint")
			}
			// Parsing allocates some 1 KB per written node; the limit is
			// on what aliases would add.
			if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(64<<20+2000*len(tt.data)) {
				t.Errorf("refusing a %d-byte file allocated %d MB", len(tt.data), grew>>20)
			}
		})
	}
}

// TestParseFileAliasesWithinLimits: what anchors are for keeps working, up
// to the limits.
func TestParseFileAliasesWithinLimits(t *testing.T) {
	t.Run("just under the expansion limit", func(t *testing.T) {
		// x0 is 2 nodes, x1 holds 353 aliases of x0 (adding 353 nodes; it
		// stands for 1+353*2 = 707), x2 353 aliases of x1 (adding 353*706):
		// aliases add 249,571 nodes. One more of each adds 250,986.
		data := laughs(2, 353)
		f := ParseFile("app.pipecd.yaml", []byte(data))
		if findDiag(f.Diags, "expand") != nil || findDiag(f.Diags, "unknown field `x2`") == nil {
			t.Fatalf("want only unknown-field errors, got:\n%s", truncate(f.Diags.Error(), 2000))
		}
	})
	t.Run("32 levels", func(t *testing.T) {
		f := ParseFile("app.pipecd.yaml", []byte(laughs(yamlalias.MaxDepth, 1)))
		if findDiag(f.Diags, "nest") != nil {
			t.Fatalf("got:\n%s", f.Diags.Error())
		}
	})
	t.Run("merge keys override as YAML says", func(t *testing.T) {
		data := appHead + `spec:
  name: web
  labels:
    <<: [&env {env: prod, team: core}, {team: other, tier: web}]
    team: payments
  pipeline:
    stages:
      - &wait {name: WAIT, with: {duration: 1m}}
      - <<: *wait
        with: {duration: 5m}
      - *wait
`
		f := ParseFile("app.pipecd.yaml", []byte(data))
		if !f.Valid() {
			t.Fatalf("got:\n%s", f.Diags.Error())
		}
		spec := f.Spec.(*KubernetesApplicationSpec)
		want := map[string]string{"env": "prod", "team": "payments", "tier": "web"}
		if fmt.Sprint(spec.Labels) != fmt.Sprint(want) {
			t.Errorf("labels = %v, want %v", spec.Labels, want)
		}
		var durations []string
		for _, s := range spec.Pipeline.Stages {
			durations = append(durations, s.With.(*WaitStageOptions).Duration.String())
		}
		if got := strings.Join(durations, " "); got != "1m0s 5m0s 1m0s" {
			t.Errorf("durations = %s", got)
		}
	})
	t.Run("a problem in an aliased value is told once", func(t *testing.T) {
		data := appHead + "spec:\n  name: web\n  pipeline:\n    stages:\n      - &w {name: WAIT, with: {duraton: 1m}}\n      - *w\n      - *w\n"
		f := ParseFile("app.pipecd.yaml", []byte(data))
		if n := len(f.Diags.Errors()); n != 1 || findDiag(f.Diags, "unknown field `duraton`") == nil {
			t.Fatalf("want one unknown-field error, got:\n%s", f.Diags.Error())
		}
	})
	t.Run("twice in one mapping is still an error", func(t *testing.T) {
		data := appHead + "spec:\n  name: web\n  labels:\n    <<: {a: b}\n    c: d\n    c: e\n"
		f := ParseFile("app.pipecd.yaml", []byte(data))
		if d := findDiag(f.Diags, `key "c" is set twice`); d == nil || d.Line != 8 {
			t.Fatalf("got:\n%s", f.Diags.Error())
		}
	})
	t.Run("merge of a non-mapping", func(t *testing.T) {
		data := appHead + "spec:\n  name: web\n  x: &l [a]\n  labels:\n    <<: [{a: b}, *l]\n"
		f := ParseFile("app.pipecd.yaml", []byte(data))
		if d := findDiag(f.Diags, "a merge key (<<) needs a mapping, got a list"); d == nil || d.Line != 7 || d.Column != 18 {
			t.Fatalf("got:\n%s", f.Diags.Error())
		}
	})
}
