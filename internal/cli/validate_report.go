package cli

import (
	"bytes"
	"os"
	"slices"
	"strings"

	"github.com/gitops-pipe/pipe/internal/report"
)

// This file writes the CI reports of pipe validate (--format, --report):
// GitLab code quality and JUnit XML.

// validateReportTarget is one --format report and where it goes: a file,
// or stdout when path is empty.
type validateReportTarget struct {
	format, path string
}

// validateReports pairs the --format reports with their --report files.
// One report may go to stdout (no --report), with the text output moved
// to stderr; JSON output (-o json) and a report cannot share stdout.
func validateReports(formats, paths []string, jsonOutput bool) ([]validateReportTarget, error) {
	seen := map[string]bool{}
	for _, f := range formats {
		if !slices.Contains(report.ValidateFormats(), f) {
			return nil, usageError("--format: unsupported report format %q; use one of: %s", f, strings.Join(report.ValidateFormats(), ", "))
		}
		if seen[f] {
			return nil, usageError("--format %s is given twice", f)
		}
		seen[f] = true
	}
	switch {
	case len(formats) == 0 && len(paths) > 0:
		return nil, usageError("--report needs --format (%s)", strings.Join(report.ValidateFormats(), " or "))
	case len(formats) == 0:
		return nil, nil
	case len(paths) == 0 && len(formats) > 1:
		return nil, usageError("%d report formats and no --report: give each its file (--report FILE,FILE)", len(formats))
	case len(paths) == 0 && jsonOutput:
		return nil, usageError("-o json and --format %s both write to stdout: add --report FILE for the report", formats[0])
	case len(paths) == 0:
		return []validateReportTarget{{format: formats[0]}}, nil
	case len(paths) != len(formats):
		return nil, usageError("%d --format reports but %d --report files: give one file per format, in the same order", len(formats), len(paths))
	}
	out := make([]validateReportTarget, len(formats))
	for i, f := range formats {
		if strings.TrimSpace(paths[i]) == "" {
			return nil, usageError("--report: the file of the %s report is empty", f)
		}
		out[i] = validateReportTarget{format: f, path: paths[i]}
	}
	return out, nil
}

// writeValidateReports writes the --format reports of res, each to its
// file or to stdout.
func (a *app) writeValidateReports(targets []validateReportTarget, res validateResult) error {
	if len(targets) == 0 {
		return nil
	}
	rep := report.ValidateReport{Other: res.Other}
	for _, f := range res.Files {
		rep.Files = append(rep.Files, report.ValidatedFile{Path: f.Path, Kind: string(f.Kind), App: f.App, Diagnostics: f.Diagnostics})
	}
	for _, t := range targets {
		if t.path == "" {
			if err := report.WriteValidateReport(a.out, t.format, rep); err != nil {
				return &Error{Code: ExitFailed, Summary: "cannot write the " + t.format + " report to stdout", Err: err}
			}
			continue
		}
		var b bytes.Buffer
		if err := report.WriteValidateReport(&b, t.format, rep); err != nil {
			return &Error{Code: ExitFailed, Summary: "cannot write the " + t.format + " report", Err: err}
		}
		if err := os.WriteFile(t.path, b.Bytes(), 0o644); err != nil {
			return &Error{Code: ExitFailed, Summary: "cannot write the " + t.format + " report to " + t.path, Detail: err.Error(),
				Hint: "--report names a file in an existing, writable directory"}
		}
	}
	return nil
}
