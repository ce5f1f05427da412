package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParseFileBadInput(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		wantLine int
		wantMsg  string
		wantHint string
	}{
		{"empty", "", 0, "file is empty", "apiVersion"},
		{"comment only", "# nothing\n", 0, "file is empty", ""},
		{"null document", "~\n", 0, "file is empty", ""},
		{"scalar document", "hello\n", 1, "expected a mapping at the top of the file, got the string \"hello\"", ""},
		{"list document", "- a\n- b\n", 1, "got a list", ""},
		{"binary", "\x00\x01\x02apiVersion", 0, "binary file", ""},
		{"invalid utf8", "apiVersion: pipecd.dev/v1beta1\nkind: \xff\xfe\n", 2, "invalid UTF-8", "UTF-8"},
		{"syntax", "apiVersion: x\n  kind: : :\n", 2, "invalid YAML", ""},
		{"tabs", "spec:\n\tname: x\n", 2, "invalid YAML", "tabs"},
		{"wrong apiVersion", "apiVersion: v1\nkind: KubernetesApp\nspec: {name: a}\n", 1, `unsupported apiVersion "v1"`, "pipecd.dev/v1beta1"},
		{"missing apiVersion", "kind: KubernetesApp\nspec: {name: a}\n", 1, "missing required field `apiVersion`", ""},
		{"unknown kind", "apiVersion: pipecd.dev/v1beta1\nkind: Deployment\nspec: {}\n", 2, `unknown kind "Deployment"`, "allowed"},
		{"kind near miss", "apiVersion: pipecd.dev/v1beta1\nkind: kubernetesapp\nspec: {}\n", 2, `unknown kind "kubernetesapp"`, `did you mean "KubernetesApp"`},
		{"missing spec", "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\n", 1, "missing required field `spec`", ""},
		{"metadata", "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nmetadata: {name: a}\nspec: {name: a}\n", 3, "unknown field `metadata`", "spec.name"},
		{"second document", "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec: {name: a}\n---\nfoo: bar\n", 4, "second one", ""},
		{"spec not mapping", "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec: [1]\n", 3, "expected a mapping, got a list", ""},
		{"name wrong type", "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec:\n  name: {a: b}\n", 4, "expected a string, got a mapping", ""},
		{"negative duration", "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec:\n  name: a\n  timeout: -5m\n", 5, "must not be negative", ""},
		{"unparsable duration", "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec:\n  name: a\n  timeout: 10\n", 5, `invalid duration "10"`, `"10s"`},
		{"missing name", "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec:\n  labels: {a: b}\n", 4, "missing required field `name`", ""},
		{"duplicate key", "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec:\n  name: a\n  name: b\n", 5, "set twice", "first set at line 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ParseFile("app.pipecd.yaml", []byte(tt.data))
			d := findDiag(f.Diags, tt.wantMsg)
			if d == nil {
				t.Fatalf("no diagnostic containing %q; got:\n%s", tt.wantMsg, f.Diags.Error())
			}
			if d.Severity != SeverityError {
				t.Errorf("severity = %s, want error", d.Severity)
			}
			if tt.wantLine != 0 && d.Line != tt.wantLine {
				t.Errorf("line = %d, want %d (%s)", d.Line, tt.wantLine, d)
			}
			if tt.wantHint != "" && !strings.Contains(d.Hint, tt.wantHint) {
				t.Errorf("hint = %q, want it to contain %q", d.Hint, tt.wantHint)
			}
			if d.File != "app.pipecd.yaml" {
				t.Errorf("file = %q", d.File)
			}
		})
	}
}

func findDiag(ds Diagnostics, substr string) *Diagnostic {
	for i := range ds {
		if strings.Contains(ds[i].Message, substr) {
			return &ds[i]
		}
	}
	return nil
}

// TestParseFileReportsEverything checks that several problems in one file
// are all reported, in one pass.
func TestParseFileReportsEverything(t *testing.T) {
	data := "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec:\n  name: a\n  lables: {}\n  timeout: 1x\n  descripton: d\n"
	f := ParseFile("a.yaml", []byte(data))
	for _, want := range []string{"unknown field `lables`", `invalid duration "1x"`, "unknown field `descripton`"} {
		if findDiag(f.Diags, want) == nil {
			t.Errorf("missing %q in:\n%s", want, f.Diags.Error())
		}
	}
}

// TestReadFileHuge checks that a 50 MB file is refused after reading only
// MaxFileSize+1 bytes: memory stays bounded.
func TestReadFileHuge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "app.pipecd.yaml")
	fh, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	line := bytes.Repeat([]byte("# padding padding padding padding\n"), 1024)
	for written := 0; written < 50<<20; written += len(line) {
		if _, err := fh.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	fh.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f := ReadFile(p, "app.pipecd.yaml")
	runtime.ReadMemStats(&after)
	if d := findDiag(f.Diags, "over the 4.0 MiB limit"); d == nil {
		t.Fatalf("want a size error, got:\n%s", f.Diags.Error())
	} else if !strings.Contains(d.Message, "50.0 MiB") {
		t.Errorf("message should give the size: %s", d.Message)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 3*MaxFileSize {
		t.Errorf("reading a 50 MB file allocated %d bytes; want it bounded by the %d limit", grew, MaxFileSize)
	}
}

func TestReadFileMissing(t *testing.T) {
	f := ReadFile(filepath.Join(t.TempDir(), "nope.yaml"), "nope.yaml")
	if findDiag(f.Diags, "cannot read file") == nil {
		t.Fatalf("got %s", f.Diags.Error())
	}
}

// FuzzParseFile: no input makes the decoder panic or run away (anchors,
// aliases and merge keys included), and every diagnostic has a file, a
// message and a position in the file when it has one. The corpus in
// testdata/fuzz/FuzzParseFile is kept. Run it for a while with
// `go test -run x -fuzz FuzzParseFile -fuzztime 30s ./internal/config`.
func FuzzParseFile(f *testing.F) {
	seeds := []string{
		"",
		"apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec:\n  name: a\n",
		"apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec:\n  name: a\n  pipeline:\n    stages:\n      - name: WAIT\n        with: {duration: 1m}\n      - name: K8S_CANARY_ROLLOUT\n        with: {replicas: 10%}\n",
		"apiVersion: pipecd.dev/v1beta1\nkind: TerraformApp\nspec: &a\n  name: x\n  labels: *a\n",
		"a: &a [*a, *a]\n",
		"apiVersion: pipecd.dev/v1beta1\nkind: Pipe\nspec:\n  <<: {git: {}}\n",
		"- - - -\n",
		"{",
		"apiVersion: pipecd.dev/v1beta1\nkind: ECSApp\nspec: {name: n, pipeline: {stages: [{name: ECS_TRAFFIC_ROUTING, with: {primary: 150%}}]}}\n",
		// Anchors, aliases and merge keys: reuse, overrides, cycles, bombs.
		appHead + "spec: &s {<<: *s}\n",
		appHead + "spec: &s\n  name: a\n  labels:\n    <<: *s\n",
		appHead + "spec:\n  name: web\n  labels:\n    <<: [&e {env: prod, team: core}, {team: x, tier: web}]\n    team: pay\n",
		appHead + "spec:\n  name: web\n  pipeline:\n    stages:\n      - &w {name: WAIT, with: &d {duration: 1m}}\n      - {<<: *w, with: {<<: *d, duration: 2m}}\n      - *w\n",
		appHead + "spec:\n  name: web\n  x: &k name\n  labels: {*k : v, '<<': {a: b}, <<: [*k]}\n",
		appHead + "spec:\n  name: a\n  x: &l [1]\n  labels: {<<: *l}\n",
		appHead + "spec: &a\n  name: x\n  pipeline: {stages: [*a]}\n",
		chainedMerges(5, 9),
		laughs(5, 9),
		laughs(34, 1),
		appHead + "spec:\n  name: a\n  labels: " + strings.Repeat("[", 300) + strings.Repeat("]", 300) + "\n",
		appHead + "spec:\n  name: a\n  input: " + strings.Repeat("{a: ", 300) + "b" + strings.Repeat("}", 300) + "\n",
		"kind: Pipe\napiVersion: pipecd.dev/v1beta1\nspec:\n  platformProviders:\n    - &p {name: k, type: KUBERNETES, config: *p}\n",
		"kind: Pipe\napiVersion: pipecd.dev/v1beta1\nspec:\n  platformProviders:\n    - {name: k, type: KUBERNETES, config: &c {kubectlVersion: 1.30}}\n    - {name: l, type: KUBERNETES, config: {<<: *c}}\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The fuzzer reports no hang: a run that takes this long crashes
		// the worker, which saves the input.
		hang := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("ParseFile ran for 10s on %q", data)) })
		defer hang.Stop()
		file := ParseFile("fuzz.yaml", data)
		// YAML breaks lines at \n, \r, NEL, LS and PS (an upper bound: \r\n counts twice).
		lines := 1
		for _, br := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
			lines += bytes.Count(data, []byte(br))
		}
		for _, d := range file.Diags {
			if d.File == "" || d.Message == "" {
				t.Fatalf("incomplete diagnostic %+v", d)
			}
			if d.Line < 0 || d.Line > lines || d.Column < 0 {
				t.Fatalf("diagnostic outside the file (%d lines): %s", lines, d)
			}
		}
		if n := len(file.Diags); n > 10+len(data) {
			t.Fatalf("%d diagnostics for %d bytes: a problem repeated by aliases?", n, len(data))
		}
		if file.Spec != nil {
			c := &Checker{File: file.Path, Kind: file.Kind, Positions: file.Positions}
			c.Walk(file.Spec, "spec")
		}
	})
}
