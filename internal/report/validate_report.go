package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
)

// ValidateReport is what `pipe validate` found, as the machine-readable
// reports for CI systems see it: every checked file with its diagnostics,
// and the diagnostics that belong to no single file.
type ValidateReport struct {
	Files []ValidatedFile
	Other config.Diagnostics
}

// ValidatedFile is one configuration file checked by `pipe validate`.
// Path is relative to the repository root, with forward slashes; Kind and
// App are empty when the file could not be read that far.
type ValidatedFile struct {
	Path        string
	Kind        string
	App         string
	Diagnostics config.Diagnostics
}

// Validate report formats, for `pipe validate --format`.
const (
	// FormatCodeQuality is GitLab's code quality report (a CodeClimate
	// JSON array), for artifacts:reports:codequality.
	FormatCodeQuality = "codequality"
	// FormatJUnit is a JUnit XML report (one test case per file), for
	// artifacts:reports:junit and the test reporters of other CI systems.
	FormatJUnit = "junit"
)

// ValidateFormats are the report formats of `pipe validate --format`.
func ValidateFormats() []string { return []string{FormatCodeQuality, FormatJUnit} }

// WriteValidateReport writes rep to w in format (one of ValidateFormats).
func WriteValidateReport(w io.Writer, format string, rep ValidateReport) error {
	switch format {
	case FormatCodeQuality:
		return WriteCodeQuality(w, rep)
	case FormatJUnit:
		return WriteJUnit(w, rep)
	}
	return fmt.Errorf("unknown report format %q; use one of: %s", format, strings.Join(ValidateFormats(), ", "))
}

// diagnosticText is a diagnostic on one line without its position: the
// field path, the message and the hint.
func diagnosticText(d config.Diagnostic) string {
	var b strings.Builder
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Message)
	if d.Hint != "" {
		b.WriteString(" (hint: ")
		b.WriteString(d.Hint)
		b.WriteString(")")
	}
	return b.String()
}
