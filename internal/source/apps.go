package source

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/pathpattern"
)

// maxExampleFiles is how many matching files an AppChange keeps.
const maxExampleFiles = 3

// Rule names the trigger rule that made a change touch an application.
type Rule string

const (
	// RuleTriggerPath: a changed file matches trigger.onCommit.paths.
	RuleTriggerPath Rule = "trigger-path"
	// RuleAppDir: files changed under the application directory.
	RuleAppDir Rule = "app-dir"
	// RuleConfigFile: the application's configuration file changed.
	RuleConfigFile Rule = "config-file"
)

// AppChange is an application touched by a change, and why.
type AppChange struct {
	App *config.App `json:"app"`
	// Rule is the rule that matched; Pattern the trigger path, for RuleTriggerPath.
	Rule    Rule   `json:"rule"`
	Pattern string `json:"pattern,omitempty"`
	// Files are the first (in path order) of the Count changed files that matched.
	Files []string `json:"files"`
	Count int      `json:"count"`
	// Reason says it in a phrase: "3 files changed under apps/web/".
	Reason string `json:"reason"`
}

// onCommit is the part of an application's trigger that ChangedApps reads.
type onCommit struct {
	disabled       bool
	paths, ignores []string
}

func onCommitOf(app *config.App) onCommit {
	if app.Spec == nil || app.Spec.Generic() == nil {
		return onCommit{}
	}
	g := app.Spec.Generic()
	return onCommit{disabled: g.Trigger.OnCommit.Disabled, paths: g.OnCommitPaths(), ignores: g.Trigger.OnCommit.Ignores}
}

// ChangedApps returns the applications that the changed files (repo-relative,
// slash-separated, as ChangedFiles returns them) touch, in the order of apps,
// with PipeCD's trigger.onCommit rules, checked in this order:
//
//  1. onCommit.disabled: the application is never touched;
//  2. onCommit.ignores: if any changed file matches any ignore pattern, the
//     application is not touched (PipeCD's rule: an ignored file vetoes the
//     whole change for that application, even with other files in its dir);
//  3. onCommit.paths (or the deprecated triggerPaths): a changed file matching
//     one of them touches the application;
//  4. a changed file under the application directory touches it ("." is the
//     whole repository), and so does a change to its configuration file.
//
// Patterns follow PipeCD's syntax (see pattern). An application with an invalid
// pattern is left out and reported in the error, which joins all of them.
func ChangedApps(apps []*config.App, changed []string) ([]AppChange, error) {
	return changedApps(apps, changed, onCommitOf)
}

func changedApps(apps []*config.App, changed []string, triggerOf func(*config.App) onCommit) ([]AppChange, error) {
	if !slices.IsSorted(changed) {
		changed = slices.Clone(changed)
		slices.Sort(changed)
	}
	m := matcher{files: changed, clean: allClean(changed), results: map[string]*patternResult{}}
	var out []AppChange
	var errs []error
	for _, app := range apps {
		c, err := m.appChange(app, triggerOf(app))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: application %s: %w", app.File, app.Name, err))
			continue
		}
		if c != nil {
			out = append(out, *c)
		}
	}
	return out, errors.Join(errs...)
}

// matcher holds the sorted changed files and each pattern's matches, computed
// once however many applications share the pattern.
type matcher struct {
	files []string
	// clean: every file is a clean relative path (as git lists them), so a
	// pattern can only match files that start with its literal prefix.
	clean   bool
	results map[string]*patternResult
}

type patternResult struct {
	files []string // first matches
	count int
	err   error
}

func (m *matcher) appChange(app *config.App, t onCommit) (*AppChange, error) {
	if t.disabled {
		return nil, nil
	}
	ignored := false
	for i, p := range t.ignores {
		res := m.match(p)
		if res.err != nil {
			return nil, fmt.Errorf("trigger.onCommit.ignores[%d] %q: %w", i, p, res.err)
		}
		ignored = ignored || res.count > 0
	}
	var touched *AppChange
	for i, p := range t.paths {
		res := m.match(p)
		if res.err != nil {
			return nil, fmt.Errorf("trigger.onCommit.paths[%d] %q: %w", i, p, res.err)
		}
		if res.count > 0 && touched == nil {
			touched = &AppChange{App: app, Rule: RuleTriggerPath, Pattern: p, Files: slices.Clone(res.files),
				Count: res.count, Reason: "matches trigger path " + p}
		}
	}
	if ignored {
		return nil, nil
	}
	if touched != nil {
		return touched, nil
	}
	dir := strings.TrimSuffix(app.Dir, "/")
	if files := m.under(dir); len(files) > 0 {
		where := "under " + dir + "/"
		if dir == "." || dir == "" {
			where = "in the repository"
		}
		return &AppChange{App: app, Rule: RuleAppDir, Files: firstFiles(files), Count: len(files),
			Reason: fmt.Sprintf("%s changed %s", plural(len(files), "file"), where)}, nil
	}
	if app.File != "" {
		if _, ok := slices.BinarySearch(m.files, app.File); ok {
			return &AppChange{App: app, Rule: RuleConfigFile, Files: []string{app.File}, Count: 1,
				Reason: "its configuration file " + app.File + " changed"}, nil
		}
	}
	return nil, nil
}

// under returns the changed files below dir.
func (m *matcher) under(dir string) []string {
	if dir == "." || dir == "" {
		return m.files
	}
	return m.withPrefix(dir + "/")
}

// withPrefix returns the files starting with prefix, a range of the sorted list.
func (m *matcher) withPrefix(prefix string) []string {
	lo := sort.SearchStrings(m.files, prefix)
	hi := lo
	for hi < len(m.files) && strings.HasPrefix(m.files[hi], prefix) {
		hi++
	}
	return m.files[lo:hi]
}

func (m *matcher) match(text string) *patternResult {
	if r, ok := m.results[text]; ok {
		return r
	}
	r := &patternResult{}
	m.results[text] = r
	p, err := pathpattern.Compile(text)
	if err != nil {
		r.err = err
		return r
	}
	files := m.files
	if m.clean && p.Literal() != "" {
		files = m.withPrefix(p.Literal())
	}
	for _, f := range files {
		if p.Match(f) {
			if r.count < maxExampleFiles {
				r.files = append(r.files, f)
			}
			r.count++
		}
	}
	return r
}

// allClean reports whether every file is a clean relative slash path: no
// leading or trailing "/", no empty, "." or ".." part.
func allClean(files []string) bool {
	for _, f := range files {
		for part := range strings.SplitSeq(f, "/") {
			if part == "" || part == "." || part == ".." {
				return false
			}
		}
	}
	return true
}

func firstFiles(files []string) []string {
	return slices.Clone(files[:min(len(files), maxExampleFiles)])
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
