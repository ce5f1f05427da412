package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPipeCDEventWatcherExamples checks PipeCD's .pipe/ EventWatcher
// examples: no errors. (Their files live elsewhere in PipeCD's layout, so
// missing targets are warnings.)
func TestPipeCDEventWatcherExamples(t *testing.T) {
	root := examplesRoot(t)
	files, err := filepath.Glob(filepath.Join(root, ".pipe", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel := ".pipe/" + filepath.Base(p)
		f, ds := checkSpec(t, rel, data, root, filepath.Dir(p))
		if f.Kind != KindEventWatcher {
			continue
		}
		n++
		if ds.HasErrors() {
			t.Errorf("%s:\n%s", rel, ds.Errors().Error())
		}
		for _, w := range ds.Warnings() {
			t.Log(w.String())
		}
	}
	if n < 3 {
		t.Errorf("checked %d EventWatcher examples, want 3", n)
	}
}

func TestEventWatcher(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"apps/web/deployment.yaml": "image: app:v1.0.0\n",
		"apps/web/main.tf":         "x",
	})
	doc := func(events string) []byte {
		return []byte("apiVersion: pipecd.dev/v1beta1\nkind: EventWatcher\nspec:\n  events:\n" + events)
	}
	valid := "    - name: image-update\n      labels: {app: web}\n      replacements:\n" +
		"        - file: apps/web/deployment.yaml\n          yamlField: $.image\n" +
		"        - file: apps/web/deployment.yaml\n          regex: 'image: app:(v[0-9.]+)'\n" +
		"        - file: apps/web/main.tf\n          hclField: module.web.version\n" +
		"        - file: apps/web/deployment.json\n          jsonField: $.image\n"
	tests := []struct {
		name     string
		events   string
		severity Severity
		path     string
		line     int
		message  string
		hint     string
	}{
		{"valid (missing file is a warning)", valid, SeverityWarning, "spec.events[0].replacements[3].file", 14, `"apps/web/deployment.json" does not exist`, "relative to the repository root"},
		{"no field", "    - name: e\n      replacements:\n        - file: apps/web/deployment.yaml\n",
			SeverityError, "spec.events[0].replacements[0]", 7, "does not say what to replace", "yamlField, jsonField, hclField or regex"},
		{"two fields", "    - name: e\n      replacements:\n        - file: apps/web/deployment.yaml\n          yamlField: $.image\n          regex: 'app:(.*)'\n",
			SeverityError, "spec.events[0].replacements[0].regex", 9, "sets both `yamlField` and `regex`", "only one"},
		{"missing name", "    - replacements:\n        - file: apps/web/deployment.yaml\n          yamlField: $.image\n",
			SeverityError, "spec.events[0].name", 5, "missing required field `name`", ""},
		{"empty name", "    - name: ''\n      replacements:\n        - {file: apps/web/deployment.yaml, yamlField: $.image}\n",
			SeverityError, "spec.events[0].name", 5, "name must not be empty", ""},
		{"no replacements", "    - name: e\n      replacements: []\n",
			SeverityError, "spec.events[0].replacements", 6, "at least one replacement", ""},
		{"missing file", "    - name: e\n      replacements:\n        - yamlField: $.image\n",
			SeverityError, "spec.events[0].replacements[0].file", 7, "missing required field `file`", ""},
		{"yaml path", "    - name: e\n      replacements:\n        - {file: apps/web/deployment.yaml, yamlField: spec.image}\n",
			SeverityError, "spec.events[0].replacements[0].yamlField", 7, "does not start with `$`", ""},
		{"regex does not compile", "    - name: e\n      replacements:\n        - {file: apps/web/deployment.yaml, regex: 'app:(v[0-9'}\n",
			SeverityError, "spec.events[0].replacements[0].regex", 7, "invalid regular expression", ""},
		{"regex without group", "    - name: e\n      replacements:\n        - {file: apps/web/deployment.yaml, regex: 'app:v[0-9.]+'}\n",
			SeverityError, "spec.events[0].replacements[0].regex", 7, "no capturing group", "parentheses"},
		{"regex with two groups", "    - name: e\n      replacements:\n        - {file: apps/web/deployment.yaml, regex: '(image): app:(v[0-9.]+)'}\n",
			SeverityWarning, "spec.events[0].replacements[0].regex", 7, "only the first, (image), is replaced", "(?:...)"},
		{"outside the repository", "    - name: e\n      replacements:\n        - {file: ../etc/passwd, regex: '(x)'}\n",
			SeverityError, "spec.events[0].replacements[0].file", 7, "outside the repository", ""},
		{"absolute", "    - name: e\n      replacements:\n        - {file: /etc/passwd, regex: '(x)'}\n",
			SeverityError, "spec.events[0].replacements[0].file", 7, "absolute path", "repository root"},
		{"directory", "    - name: e\n      replacements:\n        - {file: apps/web, regex: '(x)'}\n",
			SeverityError, "spec.events[0].replacements[0].file", 7, "is a directory", ""},
		{"unknown field", "    - name: e\n      replacements:\n        - {file: apps/web/main.tf, HCLField: a.b}\n",
			SeverityError, "spec.events[0].replacements[0].HCLField", 7, "unknown field `HCLField`", "did you mean `hclField`?"},
		{"same event twice", "    - name: e\n      labels: {a: b}\n      replacements:\n        - {file: apps/web/main.tf, hclField: a.b}\n" +
			"    - name: e\n      labels: {a: b}\n      replacements:\n        - {file: apps/web/main.tf, hclField: a.c}\n",
			SeverityWarning, "spec.events[1].name", 9, `event "e" with the same labels is defined twice`, "events[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := checkSpec(t, ".pipe/events.yaml", doc(tt.events), root, filepath.Join(root, ".pipe"))
			assertDiag(t, ds, tt.severity, tt.path, tt.line, tt.message, tt.hint)
			if tt.events == valid && len(ds) != 1 {
				t.Errorf("want only the missing-file warning, got:\n%s", ds.Error())
			}
			if tt.severity == SeverityWarning && ds.HasErrors() {
				t.Errorf("want only warnings, got:\n%s", ds.Error())
			}
		})
	}
}

func TestEventWatcherNoEvents(t *testing.T) {
	_, ds := checkSpec(t, ".pipe/e.yaml", []byte("apiVersion: pipecd.dev/v1beta1\nkind: EventWatcher\nspec: {}\n"), "", "")
	assertDiag(t, ds, SeverityWarning, "spec", 3, "has no events", "")
}

func TestEventWatcherCommitMessageTemplate(t *testing.T) {
	for _, tc := range []struct {
		msg, want string
	}{
		{"bump {{ .Value }} for {{ .EventName }} ({{ .Labels.env }}, {{ .App }})", ""},
		{"bump {{ .Value ", "commitMessage is not a valid template"},
		{"bump {{ .Tag }}", "can't evaluate field Tag"},
	} {
		c := &Checker{Positions: map[string]Pos{}}
		h := &EventWatcherHandlerConfig{CommitMessage: tc.msg}
		h.Validate(c, "spec.eventWatcher[0].handler.config")
		got := c.Diags.Errors().Error()
		if tc.want == "" && len(c.Diags.Errors()) > 0 || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%q: diagnostics %q, want %q", tc.msg, got, tc.want)
		}
	}
}
