package eventwatch

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitops-pipe/pipe/internal/fieldedit"
	"github.com/gitops-pipe/pipe/internal/state"
)

// Item is what happened to one watcher's event.
type Item struct {
	Watcher string                 `json:"watcher"`
	Source  string                 `json:"source"`
	App     string                 `json:"app,omitempty"`
	Event   *state.RegisteredEvent `json:"event"`
	// Status is state's SUCCESS, FAILURE or OUTDATED, or HANDLED, ERROR,
	// PLANNED (a dry run).
	Status      string   `json:"status"`
	Message     string   `json:"message,omitempty"`
	Changes     []Change `json:"changes,omitempty"`
	Commit      string   `json:"commit,omitempty"`
	Branch      string   `json:"branch,omitempty"`
	PullRequest string   `json:"pullRequest,omitempty"`
}

// Change is one replacement of a watcher.
type Change struct {
	File  string `json:"file"`
	Field string `json:"field"`
	Expr  string `json:"expr"`
	// Lines are where the replaced values were (1-based).
	Lines []int `json:"lines,omitempty"`
	// Old are the replaced values; Changed is false when they already
	// were the event's value.
	Old     []string `json:"old,omitempty"`
	Changed bool     `json:"changed"`
	Source  string   `json:"source"`
	Error   string   `json:"error,omitempty"`
}

func newItem(w *Watcher, ev *state.RegisteredEvent) *Item {
	return &Item{Watcher: w.ID, Source: w.Source, App: w.App, Event: ev}
}

// files is a view of the branch being built: the files read at its base
// commit, with the edits made so far.
type files struct {
	read func(commit plumbing.Hash, path string) ([]byte, error)
	base plumbing.Hash
	data map[string][]byte
}

func (f *files) get(p string) ([]byte, error) {
	if d, ok := f.data[p]; ok {
		return d, nil
	}
	d, err := f.read(f.base, p)
	if err != nil {
		return nil, err
	}
	f.data[p] = d
	return d, nil
}

// apply writes t's event value to each of its replacements in fs and
// returns the files it changed. A replacement that cannot be applied (no
// such file or path) is reported in its Change and the others still
// apply.
func apply(t *task, fs *files) (map[string][]byte, []Change) {
	changed := map[string][]byte{}
	var changes []Change
	for _, r := range t.w.Replacements {
		c := Change{File: r.File, Field: r.Field, Expr: r.Expr, Source: r.Source}
		data, err := fs.get(r.File)
		if err != nil {
			c.Error = fileError(r, err)
			changes = append(changes, c)
			continue
		}
		res, err := edit(r, data, t.ev.Value)
		if err != nil {
			c.Error = fmt.Sprintf("%s: %s %s in %s: %v", r.Source, r.Field, r.Expr, r.File, err)
			changes = append(changes, c)
			continue
		}
		c.Lines, c.Old, c.Changed = res.Lines, res.Old, res.Changed
		if res.Changed {
			fs.data[r.File] = res.Out
			changed[r.File] = res.Out
		}
		changes = append(changes, c)
	}
	return changed, changes
}

func edit(r Replacement, data []byte, value string) (fieldedit.Result, error) {
	switch r.Field {
	case "yamlField":
		return fieldedit.YAML(data, r.Expr, value)
	case "jsonField":
		return fieldedit.JSON(data, r.Expr, value)
	case "hclField":
		return fieldedit.HCL(data, r.Expr, value)
	case "regex":
		return fieldedit.Regex(data, r.Expr, value)
	}
	return fieldedit.Result{}, fmt.Errorf("unknown replacement %q: use yamlField, jsonField, hclField or regex", r.Field)
}

func fileError(r Replacement, err error) string {
	if errors.Is(err, state.ErrFileNotFound) {
		return fmt.Sprintf("%s: %s does not exist on the branch: fix the file path of the replacement", r.Source, r.File)
	}
	return fmt.Sprintf("%s: %s: %v", r.Source, r.File, err)
}

// failures joins the errors of changes ("" when none).
func failures(changes []Change) string {
	var errs []string
	for _, c := range changes {
		if c.Error != "" {
			errs = append(errs, c.Error)
		}
	}
	return strings.Join(errs, "; ")
}
