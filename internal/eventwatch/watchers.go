// Package eventwatch applies registered events to the files of a GitOps
// repository, as PipeCD's event watcher does: for each watcher (an
// application's `eventWatcher` entry or an event of a .pipe/ EventWatcher
// file) whose event has a value it has not handled yet, it replaces the
// watched fields with the value, commits the change on top of the remote
// branch (or proposes it in a pull request) and records what it did in the
// events notes ref, so that the next run does nothing.
//
// It reads and writes through a Store (state.GitStore): files are read at the
// remote branch's tip and commits are made with the plumbing, so the
// working tree is never touched.
package eventwatch

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/state"
)

// Watcher updates files when an event of its name and labels arrives.
type Watcher struct {
	// ID names the watcher in records: "app web: web-image (env=prod)
	// #1a2b3c4d" or ".pipe: image-update #5e6f7a8b" (see watcherID).
	ID string
	// Source is where it is configured, file:line.
	Source string
	// App is the application it belongs to ("" for a .pipe/ file).
	App             string
	Name            string
	Labels          map[string]string
	CommitMessage   string
	MakePullRequest bool
	Replacements    []Replacement
}

// Key is the identity of the events the watcher handles.
func (w *Watcher) Key() string { return state.EventKey(w.Name, w.Labels) }

// Replacement is one field a watcher writes the event's value to.
type Replacement struct {
	// File is relative to the repository root, slash separated.
	File string
	// Field is "yamlField", "jsonField", "hclField" or "regex"; Expr is
	// the path or pattern.
	Field, Expr string
	// Source is where it is configured, file:line.
	Source string
}

// Collect lists the watchers of the repository: its applications'
// eventWatcher entries, then the events of the .pipe/ EventWatcher files.
// Entries of files that did not decode are skipped (`pipe validate`
// reports them); a replacement whose file leaves the repository is an
// error.
func Collect(repo *config.Repo) ([]Watcher, error) {
	files := map[string]*config.File{}
	for _, f := range repo.Files {
		files[f.Path] = f
	}
	var out []Watcher
	for _, app := range repo.Apps {
		f := files[app.File]
		for i, ew := range app.Spec.Generic().EventWatcher {
			p := fmt.Sprintf("spec.eventWatcher[%d]", i)
			w := Watcher{
				Source: source(f, app.File, p),
				App:    app.Name, Name: ew.Matcher.Name, Labels: ew.Matcher.Labels,
				CommitMessage: ew.Handler.Config.CommitMessage, MakePullRequest: ew.Handler.Config.MakePullRequest,
			}
			for j, r := range ew.Handler.Config.Replacements {
				rp := fmt.Sprintf("%s.handler.config.replacements[%d]", p, j)
				rep, err := replacement(path.Join(app.Dir, r.File), r.YAMLField, r.JSONField, r.HCLField, r.Regex, source(f, app.File, rp))
				if err != nil {
					return nil, err
				}
				w.Replacements = append(w.Replacements, rep)
			}
			w.ID = watcherID("app "+app.Name, &w)
			out = append(out, w)
		}
	}
	for _, f := range repo.Files {
		spec, ok := f.Spec.(*config.EventWatcherSpec)
		if !ok || !strings.HasPrefix(f.Path, config.SharedDir+"/") {
			continue
		}
		for i, ev := range spec.Events {
			p := fmt.Sprintf("spec.events[%d]", i)
			w := Watcher{Source: source(f, f.Path, p), Name: ev.Name, Labels: ev.Labels}
			for j, r := range ev.Replacements {
				rep, err := replacement(r.File, r.YAMLField, r.JSONField, r.HCLField, r.Regex, source(f, f.Path, fmt.Sprintf("%s.replacements[%d]", p, j)))
				if err != nil {
					return nil, err
				}
				w.Replacements = append(w.Replacements, rep)
			}
			w.ID = watcherID(config.SharedDir, &w)
			out = append(out, w)
		}
	}
	return out, nil
}

// watcherID identifies a watcher in records by what it does, not by where
// it is listed: its owner (an app, or .pipe), its event and a digest of its
// replacements. Reordering watchers, or moving them between .pipe/ files,
// keeps their records; changing what one replaces makes it a new watcher,
// which applies the latest event to its new fields.
func watcherID(owner string, w *Watcher) string {
	h := sha256.New()
	for _, r := range w.Replacements {
		fmt.Fprintf(h, "%s\x00%s\x00%s\n", r.File, r.Field, r.Expr)
	}
	name := w.Name
	if len(w.Labels) > 0 {
		var ls []string
		for _, k := range slices.Sorted(maps.Keys(w.Labels)) {
			ls = append(ls, k+"="+w.Labels[k])
		}
		name += " (" + strings.Join(ls, ",") + ")"
	}
	return fmt.Sprintf("%s: %s #%x", owner, name, h.Sum(nil)[:4])
}

func replacement(file, yamlField, jsonField, hclField, regex, src string) (Replacement, error) {
	clean := path.Clean(strings.ReplaceAll(file, "\\", "/"))
	if file == "" || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || clean == "." {
		return Replacement{}, fmt.Errorf("%s: replacement file %q is not a file inside the repository: write it relative to the application directory (.pipe/ files: to the repository root)", src, file)
	}
	r := Replacement{File: clean, Source: src}
	switch {
	case yamlField != "":
		r.Field, r.Expr = "yamlField", yamlField
	case jsonField != "":
		r.Field, r.Expr = "jsonField", jsonField
	case hclField != "":
		r.Field, r.Expr = "hclField", hclField
	case regex != "":
		r.Field, r.Expr = "regex", regex
	default:
		return Replacement{}, fmt.Errorf("%s: the replacement of %s says nothing to replace: set one of yamlField, jsonField, hclField or regex", src, file)
	}
	return r, nil
}

// source is file:line of the field path p of f ("file" alone when its
// position is unknown).
func source(f *config.File, file, p string) string {
	if f != nil {
		if pos, ok := f.Positions[p]; ok && pos.Line > 0 {
			return fmt.Sprintf("%s:%d", file, pos.Line)
		}
	}
	return file
}
