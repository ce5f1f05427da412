package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/platform/registry"
	"github.com/gitops-pipe/pipe/internal/report"
)

type validateOptions struct {
	paths  []string
	output string
	strict bool
	// reports are the CI reports to write (--format, --report).
	reports []validateReportTarget
}

func (a *app) validateCommand() *cobra.Command {
	opts := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check every configuration file of a repository",
		Long: `Discover the configuration files of the repository (or of the given files
and directories) and check each one strictly: YAML syntax, the envelope,
unknown fields (also inside stage options), types, values, references to
files, analysis providers and templates, and repository-wide rules.
Every problem is reported at once with file:line:column, the field path
and a hint.

Application configs are .pipe.yaml, app.pipecd.yaml and *.pipecd.yaml
files anywhere in the repository; shared files live in .pipe/
(AnalysisTemplate, EventWatcher, and config.yaml of kind Pipe).

In GitHub Actions, problems are also emitted as annotations on the files.

--format writes a report for CI systems: codequality (GitLab's code
quality report, for artifacts:reports:codequality: one issue per problem,
errors critical, warnings minor) or junit (JUnit XML, for
artifacts:reports:junit and test reporters: one test case per file,
failed by its errors, its warnings as output). With --report FILE the
report goes to FILE and the usual output to stdout; without it, the report
goes to stdout and the usual text to stderr. Several reports at once take
one --report each, in order. Reports are written whether or not the
configuration is valid.

Exits 0 when every file is valid, 2 otherwise.`,
		Example: `  pipe validate
  pipe validate apps/web apps/api/app.pipecd.yaml
  pipe validate -o json | jq '.files[] | select(.valid | not)'
  pipe validate --format junit > pipe-junit.xml
  pipe validate --format codequality,junit --report gl-code-quality-report.json,pipe-junit.xml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			opts.paths = args
			opts.strict = v.GetBool("strict")
			var err error
			if opts.output, err = outputFormat(v, "text", "json"); err != nil {
				return err
			}
			if opts.reports, err = validateReports(v.GetStringSlice("format"), v.GetStringSlice("report"), opts.output == "json"); err != nil {
				return err
			}
			return a.runValidate(opts)
		},
	}
	addOutputFlag(cmd, "text", "json")
	cmd.Flags().Bool("strict", false, "treat warnings as errors")
	cmd.Flags().StringSlice("format", nil, "also write CI reports in these `formats`: "+report.FormatCodeQuality+" (GitLab code quality), "+report.FormatJUnit+" (JUnit XML); comma-separated or repeated, each with its --report")
	cmd.Flags().StringSlice("report", nil, "write the --format reports to these `files` instead of stdout: one per format, in the same order")
	_ = cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return report.ValidateFormats(), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// validateResult is the JSON shape of `pipe validate -o json` (versioned by
// its fields: new fields may be added, none removed).
type validateResult struct {
	Valid   bool               `json:"valid"`
	Root    string             `json:"root"`
	Files   []validatedFile    `json:"files"`
	Summary validateSummary    `json:"summary"`
	Other   config.Diagnostics `json:"diagnostics,omitempty"`
}

type validatedFile struct {
	Path        string             `json:"path"`
	Kind        config.Kind        `json:"kind,omitempty"`
	App         string             `json:"app,omitempty"`
	Valid       bool               `json:"valid"`
	Diagnostics config.Diagnostics `json:"diagnostics"`
}

type validateSummary struct {
	Files    int `json:"files"`
	Valid    int `json:"valid"`
	Invalid  int `json:"invalid"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

func (a *app) runValidate(opts *validateOptions) error {
	root, rel, err := a.resolvePaths(opts.paths)
	if err != nil {
		return err
	}
	repo, err := config.LoadRepo(root, rel...)
	if err != nil {
		return &Error{Code: ExitUsage, Summary: "cannot read the repository", Detail: err.Error()}
	}
	res := validateResult{Root: root, Valid: true, Other: repo.Diags}
	apps := map[string]*config.App{}
	for _, ap := range repo.Apps {
		apps[ap.File] = ap
	}
	for _, f := range repo.Files {
		diags := f.Diags
		if ap := apps[f.Path]; ap != nil && !diags.HasErrors() {
			// The files the config names, read as the kind reads them.
			f.Diags = append(f.Diags, registry.Check(root, ap)...)
			diags = f.Diags
		}
		if opts.strict {
			diags = promoteWarnings(diags)
		}
		diags.Sort()
		vf := validatedFile{Path: f.Path, Kind: f.Kind, Valid: !diags.HasErrors(), Diagnostics: diags}
		if vf.Diagnostics == nil {
			vf.Diagnostics = config.Diagnostics{}
		}
		if s, ok := f.Spec.(config.AppSpec); ok {
			vf.App = s.Generic().Name
		}
		res.Files = append(res.Files, vf)
		res.Summary.Files++
		if vf.Valid {
			res.Summary.Valid++
		} else {
			res.Summary.Invalid++
			res.Valid = false
		}
		res.Summary.Errors += len(diags.Errors())
		res.Summary.Warnings += len(diags.Warnings())
	}
	if opts.strict {
		res.Other = promoteWarnings(res.Other)
	}
	if res.Other.HasErrors() {
		res.Valid = false
	}
	all := repo.Diagnostics()
	if opts.strict {
		all = promoteWarnings(all)
	}
	if a.ci.Provider == ci.GitHub {
		report.GitHubAnnotations(a.err, all)
	}
	toStdout := false
	for _, r := range opts.reports {
		toStdout = toStdout || r.path == ""
	}
	switch {
	case toStdout:
		// The report has stdout: the text goes to the log on stderr.
		a.printValidate(a.err, a.style, res, root)
	case opts.output == "json":
		if err := writeJSON(a.out, res); err != nil {
			return err
		}
	default:
		a.printValidate(a.out, a.ostyl, res, root)
	}
	if err := a.writeValidateReports(opts.reports, res); err != nil {
		return err
	}
	if res.Summary.Files == 0 {
		return &Error{Code: ExitUsage, Summary: "no configuration files found under " + root,
			Hint: "application configs are named app.pipecd.yaml, *.pipecd.yaml or .pipe.yaml"}
	}
	if !res.Valid {
		return &Error{Code: ExitUsage, Quiet: true, Summary: "invalid configuration"}
	}
	return nil
}

func promoteWarnings(ds config.Diagnostics) config.Diagnostics {
	out := make(config.Diagnostics, len(ds))
	for i, d := range ds {
		d.Severity = config.SeverityError
		out[i] = d
	}
	return out
}

// printValidate writes the human report of res to w, styled by st.
func (a *app) printValidate(w io.Writer, st style, res validateResult, root string) {
	src := sourceCache(root)
	for _, f := range res.Files {
		mark, what := st.Green("ok  "), string(f.Kind)
		if f.App != "" {
			what += " " + f.App
		}
		if !f.Valid {
			mark = st.Red("FAIL")
		}
		fmt.Fprintf(w, "%s %s %s\n", mark, f.Path, st.Dim(what))
		for _, d := range f.Diagnostics {
			report.WriteDiagnostic(indent{w}, d, src, st)
		}
	}
	for _, d := range res.Other {
		report.WriteDiagnostic(w, d, src, st)
	}
	s := res.Summary
	fmt.Fprintf(w, "\n%d files: %d valid, %d invalid (%d errors, %d warnings)\n", s.Files, s.Valid, s.Invalid, s.Errors, s.Warnings)
}

// indent prefixes every line written to it, to nest diagnostics under files.
type indent struct {
	w interface{ Write([]byte) (int, error) }
}

func (i indent) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p)+16)
	start := true
	for _, c := range p {
		if start {
			out = append(out, ' ', ' ', ' ', ' ')
		}
		out = append(out, c)
		start = c == '\n'
	}
	if _, err := i.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// sourceCache reads files for diagnostic excerpts, once each, bounded by
// the config file size limit.
func sourceCache(root string) report.SourceFunc {
	var mu sync.Mutex
	cache := map[string][]byte{}
	return func(file string) []byte {
		mu.Lock()
		defer mu.Unlock()
		if b, ok := cache[file]; ok {
			return b
		}
		var b []byte
		p := filepath.Join(root, filepath.FromSlash(file))
		if st, err := os.Stat(p); err == nil && st.Size() <= config.MaxFileSize {
			b, _ = os.ReadFile(p)
		}
		cache[file] = b
		return b
	}
}

// resolvePaths finds the repository root from --repo (or from the first
// path when --repo is not given) and makes the paths relative to it.
func (a *app) resolvePaths(paths []string) (string, []string, error) {
	start := a.repoDir
	if len(paths) > 0 && (start == "" || start == ".") {
		start = paths[0]
	}
	root, err := config.FindRoot(start)
	if err != nil {
		return "", nil, &Error{Code: ExitUsage, Summary: "cannot open " + start, Detail: err.Error()}
	}
	var rel []string
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", nil, err
		}
		r, err := filepath.Rel(root, abs)
		if err != nil || r == ".." || len(r) > 2 && r[:3] == ".."+string(filepath.Separator) {
			return "", nil, usageError("%s is outside the repository %s", p, root)
		}
		if _, err := os.Stat(abs); err != nil {
			return "", nil, usageError("%s does not exist", p)
		}
		rel = append(rel, filepath.ToSlash(r))
	}
	return root, rel, nil
}

// loadRepo reads the configuration of the repository at root, as a
// command's usage error when it cannot.
func loadRepo(root string) (*config.Repo, error) {
	repo, err := config.LoadRepo(root)
	if err != nil {
		return nil, &Error{Code: ExitUsage, Summary: "cannot read the repository", Detail: err.Error()}
	}
	return repo, nil
}

// openRepo finds the repository of the run (--repo) and reads its
// configuration.
func (a *app) openRepo() (string, *config.Repo, error) {
	root, _, err := a.resolvePaths(nil)
	if err != nil {
		return "", nil, err
	}
	repo, err := loadRepo(root)
	return root, repo, err
}
