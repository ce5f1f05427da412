package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
)

// validateFixture is a repository with a clean file, a file with errors
// and a warning (two identical errors on different lines among them), a
// file whose diagnostics point into another file, a file that could not be
// read as any kind, and a diagnostic of no single file.
func validateFixture() ValidateReport {
	return ValidateReport{
		Files: []ValidatedFile{
			{Path: "apps/api/app.pipecd.yaml", Kind: "KubernetesApp", App: "api"},
			{Path: "apps/web/app.pipecd.yaml", Kind: "KubernetesApp", App: "web", Diagnostics: config.Diagnostics{
				{File: "apps/web/app.pipecd.yaml", Line: 5, Column: 3, Path: "spec.lables", Severity: config.SeverityError,
					Message: "unknown field `lables`", Hint: "did you mean `labels`?"},
				{File: "apps/web/app.pipecd.yaml", Line: 6, Column: 12, Path: "spec.timeout", Severity: config.SeverityError,
					Message: `invalid duration "5d" <use h, m or s> & retry`},
				{File: "apps/web/app.pipecd.yaml", Line: 9, Severity: config.SeverityError, Message: "duplicate key"},
				{File: "apps/web/app.pipecd.yaml", Line: 12, Severity: config.SeverityError, Message: "duplicate key"},
				{File: "apps/web/app.pipecd.yaml", Line: 4, Column: 9, Path: "spec.name", Severity: config.SeverityWarning,
					Message: "another app is named web"},
			}},
			{Path: "apps/fn/app.pipecd.yaml", Kind: "LambdaApp", App: "fn", Diagnostics: config.Diagnostics{
				{File: "apps/fn/function.yaml", Line: 3, Column: 1, Path: "spec.memory", Severity: config.SeverityWarning,
					Message: "memory below 128 MB"},
			}},
			{Path: "apps/bad/app.pipecd.yaml", Diagnostics: config.Diagnostics{
				{File: "apps/bad/app.pipecd.yaml", Severity: config.SeverityError, Message: "cannot read the file: \x01binary ]]> data"},
			}},
		},
		Other: config.Diagnostics{
			{Severity: config.SeverityError, Message: "two applications share the directory apps/web"},
		},
	}
}

func TestWriteCodeQualityGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteValidateReport(&b, FormatCodeQuality, validateFixture()); err != nil {
		t.Fatal(err)
	}
	golden(t, "validate_codequality.json", b.String())
	checkCodeQualitySchema(t, b.Bytes(), 8)
}

// checkCodeQualitySchema checks a report against the fields GitLab's code
// quality documentation requires of each issue.
func checkCodeQualitySchema(t *testing.T, data []byte, want int) {
	t.Helper()
	var issues []map[string]any
	if err := json.Unmarshal(data, &issues); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, data)
	}
	if len(issues) != want {
		t.Fatalf("%d issues, want %d", len(issues), want)
	}
	fingerprints := map[string]bool{}
	for i, is := range issues {
		keys := make([]string, 0, len(is))
		for k := range is {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if strings.Join(keys, ",") != "check_name,description,fingerprint,location,severity" {
			t.Errorf("issue %d has the fields %v", i, keys)
		}
		for _, k := range []string{"description", "check_name", "fingerprint"} {
			if s, ok := is[k].(string); !ok || s == "" {
				t.Errorf("issue %d: %s is %v", i, k, is[k])
			}
		}
		if sev := is["severity"]; !slices.Contains([]any{"info", "minor", "major", "critical", "blocker"}, sev) {
			t.Errorf("issue %d: severity %v", i, sev)
		}
		fp, _ := is["fingerprint"].(string)
		if fingerprints[fp] {
			t.Errorf("issue %d: fingerprint %s is not unique", i, fp)
		}
		fingerprints[fp] = true
		loc, _ := is["location"].(map[string]any)
		if p, ok := loc["path"].(string); !ok || p == "" || strings.HasPrefix(p, "/") {
			t.Errorf("issue %d: location.path %v", i, loc["path"])
		}
		lines, _ := loc["lines"].(map[string]any)
		if begin, ok := lines["begin"].(float64); !ok || begin < 1 || begin != float64(int(begin)) {
			t.Errorf("issue %d: location.lines.begin %v", i, lines["begin"])
		}
	}
}

func TestCodeQualityFingerprints(t *testing.T) {
	rep := validateFixture()
	before := CodeQualityIssues(rep)
	// A line added above every problem: the same problems, the same
	// fingerprints.
	for i := range rep.Files {
		for j := range rep.Files[i].Diagnostics {
			rep.Files[i].Diagnostics[j].Line++
		}
	}
	after := CodeQualityIssues(rep)
	for i := range before {
		if before[i].Fingerprint != after[i].Fingerprint {
			t.Errorf("issue %d: fingerprint changed with its line: %s -> %s", i, before[i].Fingerprint, after[i].Fingerprint)
		}
	}
	// Another message is another problem.
	rep.Files[1].Diagnostics[0].Message = "unknown field `lablez`"
	if CodeQualityIssues(rep)[0].Fingerprint == before[0].Fingerprint {
		t.Error("a different problem kept its fingerprint")
	}
	// The same problem in another file is another issue.
	other := validateFixture()
	other.Files[1].Path = "apps/www/app.pipecd.yaml"
	for j := range other.Files[1].Diagnostics {
		other.Files[1].Diagnostics[j].File = other.Files[1].Path
	}
	if CodeQualityIssues(other)[0].Fingerprint == before[0].Fingerprint {
		t.Error("the same problem in another file has the same fingerprint")
	}
	// Severities and checks.
	if before[0].Severity != "critical" || before[4].Severity != "minor" || before[0].CheckName != "pipe-validate/KubernetesApp" {
		t.Errorf("issue 0 %+v, issue 4 %+v", before[0], before[4])
	}
	if before[5].Location.Path != "apps/fn/function.yaml" || before[5].CheckName != "pipe-validate" {
		t.Errorf("a problem in a referenced file: %+v", before[5])
	}
	if last := before[len(before)-1]; last.Location.Path != "." || last.Location.Lines.Begin != 1 {
		t.Errorf("a problem of no file: %+v", last)
	}
}

func TestCodeQualityEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCodeQuality(&b, ValidateReport{Files: []ValidatedFile{{Path: "a/app.pipecd.yaml", Kind: "KubernetesApp"}}}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "[]\n" {
		t.Errorf("a clean repository: %q (GitLab wants an empty array)", b.String())
	}
}

func TestWriteJUnitGolden(t *testing.T) {
	var b bytes.Buffer
	rep := validateFixture()
	if err := WriteValidateReport(&b, FormatJUnit, rep); err != nil {
		t.Fatal(err)
	}
	golden(t, "validate_junit.xml", b.String())

	// The XML reads back into what was written (encoding/xml round trip):
	// the control character XML cannot hold was replaced, and "]]>" in a
	// message does not end its CDATA section.
	var got JUnitTestSuites
	if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("not well-formed XML: %v", err)
	}
	want := JUnit(rep)
	got.XMLName, want.XMLName = xml.Name{}, xml.Name{}
	if !strings.Contains(got.Suites[0].Cases[3].Failure.Text, "\uFFFDbinary ]]> data") {
		t.Errorf("the control character: %q", got.Suites[0].Cases[3].Failure.Text)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}

	s := got.Suites[0]
	if got.Tests != 5 || got.Failures != 3 || s.Tests != 5 || s.Failures != 3 || len(s.Cases) != 5 {
		t.Fatalf("counts: %+v", got)
	}
	api, web, fn, other := s.Cases[0], s.Cases[1], s.Cases[2], s.Cases[4]
	if api.Failure != nil || api.SystemOut != nil || api.Name != "apps/api/app.pipecd.yaml" || api.ClassName != "KubernetesApp" {
		t.Errorf("a clean file: %+v", api)
	}
	if web.Failure == nil || web.Failure.Message != "4 errors, the first: spec.lables: unknown field `lables` (hint: did you mean `labels`?)" ||
		strings.Count(web.Failure.Text, "\n") != 4 || !strings.Contains(web.Failure.Text, "apps/web/app.pipecd.yaml:6:12: error: spec.timeout:") ||
		web.SystemOut == nil || web.SystemOut.Text != "apps/web/app.pipecd.yaml:4:9: warning: spec.name: another app is named web\n" {
		t.Errorf("a file with errors and a warning: %+v", web)
	}
	if fn.Failure != nil || fn.SystemOut == nil || !strings.HasPrefix(fn.SystemOut.Text, "apps/fn/function.yaml:3:1: warning: spec.memory:") {
		t.Errorf("a file with a warning only passes: %+v", fn)
	}
	if other.Name != "repository" || other.File != "" || other.Failure == nil || other.Failure.Message != "1 error: two applications share the directory apps/web" ||
		other.Failure.Text != "error: two applications share the directory apps/web\n" {
		t.Errorf("the repository's diagnostics: %+v", other)
	}
}

func TestJUnitEmptyAndUnknownFormat(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, ValidateReport{}); err != nil {
		t.Fatal(err)
	}
	var got JUnitTestSuites
	if err := xml.Unmarshal(b.Bytes(), &got); err != nil || got.Tests != 0 || len(got.Suites) != 1 {
		t.Errorf("no files: %v %+v\n%s", err, got, b.String())
	}
	if err := WriteValidateReport(&b, "sarif", ValidateReport{}); err == nil || !strings.Contains(err.Error(), "codequality, junit") {
		t.Errorf("unknown format: %v", err)
	}
}
