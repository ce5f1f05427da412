package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"

	"github.com/gitops-pipe/pipe/internal/config"
)

// CodeQualityIssue is one entry of a GitLab code quality report, the
// CodeClimate subset GitLab reads: description, check_name, fingerprint,
// severity and location (path and first line).
type CodeQualityIssue struct {
	Description string              `json:"description"`
	CheckName   string              `json:"check_name"`
	Fingerprint string              `json:"fingerprint"`
	Severity    string              `json:"severity"`
	Location    CodeQualityLocation `json:"location"`
}

// CodeQualityLocation is where a code quality issue is: a path relative to
// the repository root and its first line (1-based).
type CodeQualityLocation struct {
	Path  string           `json:"path"`
	Lines CodeQualityLines `json:"lines"`
}

// CodeQualityLines holds the first line of an issue.
type CodeQualityLines struct {
	Begin int `json:"begin"`
}

// Code quality severities, from GitLab's list (info, minor, major,
// critical, blocker): an error makes a configuration invalid, so that
// nothing can be deployed from it; a warning does not.
const (
	codeQualityError   = "critical"
	codeQualityWarning = "minor"
)

// CodeQualityIssues converts rep into code quality issues, in file order.
// A diagnostic's fingerprint hashes its file, field path and message (and
// how many identical ones came before it in the file), not its line, so
// that GitLab recognises the same problem after lines above it moved and
// can tell new problems of a merge request from old ones.
func CodeQualityIssues(rep ValidateReport) []CodeQualityIssue {
	issues := []CodeQualityIssue{}
	seen := map[string]int{}
	add := func(d config.Diagnostic, file ValidatedFile) {
		path := d.File
		if path == "" {
			path = file.Path
		}
		if path == "" {
			path = "."
		}
		check := "pipe-validate"
		if file.Kind != "" && (d.File == "" || d.File == file.Path) {
			check += "/" + file.Kind
		}
		sev := codeQualityError
		if d.Severity == config.SeverityWarning {
			sev = codeQualityWarning
		}
		key := path + "\x00" + d.Path + "\x00" + d.Message
		n := seen[key]
		seen[key] = n + 1
		sum := sha256.Sum256([]byte("pipe-validate\x00" + key + "\x00" + strconv.Itoa(n)))
		issues = append(issues, CodeQualityIssue{
			Description: diagnosticText(d),
			CheckName:   check,
			Fingerprint: hex.EncodeToString(sum[:16]),
			Severity:    sev,
			Location:    CodeQualityLocation{Path: path, Lines: CodeQualityLines{Begin: max(d.Line, 1)}},
		})
	}
	for _, f := range rep.Files {
		for _, d := range f.Diagnostics {
			add(d, f)
		}
	}
	for _, d := range rep.Other {
		add(d, ValidatedFile{})
	}
	return issues
}

// WriteCodeQuality writes rep as a GitLab code quality report
// (artifacts:reports:codequality): a JSON array of issues, [] when every
// file is clean.
func WriteCodeQuality(w io.Writer, rep ValidateReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(CodeQualityIssues(rep))
}
