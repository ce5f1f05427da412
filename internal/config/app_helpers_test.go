package config

import (
	"strings"
	"testing"
)

// checkAppDoc parses one document and runs the semantic checks as the
// repository loader does. It returns the file and every diagnostic
// (decoding and checks).
func checkAppDoc(t *testing.T, doc string, ctx CheckContext) (*File, Diagnostics) {
	t.Helper()
	f := ParseFile("app.pipecd.yaml", []byte(doc))
	diags := append(Diagnostics{}, f.Diags...)
	if f.Spec == nil {
		return f, diags
	}
	c := &Checker{File: f.Path, Kind: f.Kind, Positions: f.Positions, Ctx: ctx}
	c.Walk(f.Spec, "spec")
	return f, append(diags, c.Diags...)
}

// k8sAppDoc is a KubernetesApp named web whose spec continues with body
// (indented by two spaces, as under spec:). Its body starts at line 5.
func k8sAppDoc(body string) string {
	return "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec:\n  name: web\n" + body
}

// diagAtPath returns the first diagnostic with exactly that path.
func diagAtPath(ds Diagnostics, path string) *Diagnostic {
	for i := range ds {
		if ds[i].Path == path {
			return &ds[i]
		}
	}
	return nil
}

// lineOf returns the 1-based number of the first line of doc containing marker.
func lineOf(t *testing.T, doc, marker string) int {
	t.Helper()
	for i, l := range strings.Split(doc, "\n") {
		if strings.Contains(l, marker) {
			return i + 1
		}
	}
	t.Fatalf("marker %q not in document", marker)
	return 0
}

// diagCase is one expected diagnostic of a document.
type diagCase struct {
	name string
	doc  string
	ctx  CheckContext
	// path of the expected diagnostic; line is the line of the first line
	// containing marker.
	path, marker string
	sev          Severity
	// substrings of the message and the hint.
	msg, hint string
}

func runDiagCases(t *testing.T, cases []diagCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ds := checkAppDoc(t, tc.doc, tc.ctx)
			d := diagAtPath(ds, tc.path)
			if d == nil {
				t.Fatalf("no diagnostic at %s; got:\n%s", tc.path, ds.Error())
			}
			sev := tc.sev
			if sev == "" {
				sev = SeverityError
			}
			if d.Severity != sev {
				t.Errorf("severity = %s, want %s (%s)", d.Severity, sev, d)
			}
			if want := lineOf(t, tc.doc, tc.marker); d.Line != want {
				t.Errorf("line = %d, want %d (%s)", d.Line, want, d)
			}
			if !strings.Contains(d.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", d.Message, tc.msg)
			}
			if !strings.Contains(d.Hint, tc.hint) {
				t.Errorf("hint %q does not contain %q", d.Hint, tc.hint)
			}
		})
	}
}

// assertClean fails when ds holds any diagnostic.
func assertClean(t *testing.T, ds Diagnostics) {
	t.Helper()
	if len(ds) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", ds.Error())
	}
}
