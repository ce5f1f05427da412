package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
)

// JUnitTestSuites is the root of a JUnit XML report, in the shape GitLab
// (artifacts:reports:junit), Jenkins and the GitHub test reporters read.
type JUnitTestSuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Errors   int              `xml:"errors,attr"`
	Suites   []JUnitTestSuite `xml:"testsuite"`
}

// JUnitTestSuite is one suite of test cases.
type JUnitTestSuite struct {
	Name     string          `xml:"name,attr"`
	Tests    int             `xml:"tests,attr"`
	Failures int             `xml:"failures,attr"`
	Errors   int             `xml:"errors,attr"`
	Cases    []JUnitTestCase `xml:"testcase"`
}

// JUnitTestCase is one checked file: it fails when the file has errors;
// its warnings are in SystemOut.
type JUnitTestCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Failure   *JUnitFailure `xml:"failure,omitempty"`
	SystemOut *JUnitOutput  `xml:"system-out,omitempty"`
}

// JUnitFailure says why a test case failed: a summary in Message, every
// error (one a line, with its position) in Text.
type JUnitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

const junitSuite = "pipe validate"

// JUnit converts rep into a JUnit report: one test case per file (named by
// its path, classed by its kind), failed by its errors, with its warnings
// as system output; the diagnostics of no single file are one more test
// case, "repository".
func JUnit(rep ValidateReport) JUnitTestSuites {
	suite := JUnitTestSuite{Name: junitSuite, Cases: []JUnitTestCase{}}
	add := func(name, class, file string, ds config.Diagnostics) {
		tc := JUnitTestCase{Name: xmlText(name), ClassName: xmlText(class), File: xmlText(file)}
		if errs := ds.Errors(); len(errs) > 0 {
			tc.Failure = &JUnitFailure{Message: xmlText(failureMessage(errs)), Type: "error", Text: xmlText(diagnosticLines(errs))}
			suite.Failures++
		}
		if warns := ds.Warnings(); len(warns) > 0 {
			tc.SystemOut = &JUnitOutput{Text: xmlText(diagnosticLines(warns))}
		}
		suite.Cases = append(suite.Cases, tc)
		suite.Tests++
	}
	for _, f := range rep.Files {
		class := junitSuite
		if f.Kind != "" {
			class = f.Kind
		}
		add(f.Path, class, f.Path, f.Diagnostics)
	}
	if len(rep.Other) > 0 {
		add("repository", junitSuite, "", rep.Other)
	}
	return JUnitTestSuites{Name: junitSuite, Tests: suite.Tests, Failures: suite.Failures, Suites: []JUnitTestSuite{suite}}
}

// JUnitOutput is the output of a test case: its warnings, one a line.
type JUnitOutput struct {
	Text string `xml:",cdata"`
}

// failureMessage sums up errors on one line: the count and the first.
func failureMessage(errs config.Diagnostics) string {
	first := diagnosticText(errs[0])
	if len(errs) == 1 {
		return "1 error: " + first
	}
	return fmt.Sprintf("%d errors, the first: %s", len(errs), first)
}

// diagnosticLines renders diagnostics one a line, as compilers do
// (file:line:column: severity: path: message (hint: ...)).
func diagnosticLines(ds config.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		if pos := d.Position(); d.File != "" {
			b.WriteString(pos)
			b.WriteString(": ")
		}
		b.WriteString(string(d.Severity))
		b.WriteString(": ")
		b.WriteString(diagnosticText(d))
		b.WriteByte('\n')
	}
	return b.String()
}

// xmlText replaces the characters XML 1.0 cannot hold (most control
// characters, lone surrogates, U+FFFE and U+FFFF) by U+FFFD: messages
// quote file content, and a CDATA section is not escaped.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r',
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, s)
}

// WriteJUnit writes rep as JUnit XML: the diagnostics in CDATA sections,
// so that they read as they print.
func WriteJUnit(w io.Writer, rep ValidateReport) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(JUnit(rep)); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
