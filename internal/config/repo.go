package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// App is one application found in a repository.
type App struct {
	// Name is spec.name, the application's identity in pipe.
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// File is the config file's path relative to the repository root, with
	// forward slashes (e.g. "apps/web/app.pipecd.yaml").
	File string `json:"file"`
	// Dir is the application directory relative to the repository root, with
	// forward slashes; "." for the root.
	Dir    string            `json:"dir"`
	Labels map[string]string `json:"labels,omitempty"`
	// Spec is the decoded spec (e.g. *KubernetesApplicationSpec).
	Spec AppSpec `json:"-"`
}

// Repo is a repository of configurations, loaded and validated as a whole.
type Repo struct {
	// Root is the absolute path of the repository root.
	Root string
	// Files holds every configuration file found, sorted by path, each with
	// its diagnostics (including repository-level ones such as duplicate names).
	Files []*File
	// Apps holds the applications of the files that decoded; an app whose
	// file has errors is still listed when its name could be read.
	Apps []*App
	// Config is the repository config (.pipe/config.yaml), nil when absent.
	Config *PipeSpec
	// Diags holds diagnostics that belong to no single file.
	Diags Diagnostics
}

// Diagnostics returns every diagnostic of the repository, sorted.
func (r *Repo) Diagnostics() Diagnostics {
	var all Diagnostics
	all = append(all, r.Diags...)
	for _, f := range r.Files {
		all = append(all, f.Diags...)
	}
	all.Sort()
	return all
}

// App returns the application with the given name. It fails when there is
// none, or when the name is ambiguous (several apps share it).
func (r *Repo) App(name string) (*App, error) {
	var found []*App
	for _, a := range r.Apps {
		if a.Name == name {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		var names []string
		for _, a := range r.Apps {
			names = append(names, a.Name)
		}
		if m := didYouMean(name, names); m != "" {
			return nil, fmt.Errorf("no application named %q (did you mean %q?)", name, m)
		}
		return nil, fmt.Errorf("no application named %q", name)
	default:
		var files []string
		for _, a := range found {
			files = append(files, a.File)
		}
		return nil, fmt.Errorf("application name %q is ambiguous: %s", name, strings.Join(files, ", "))
	}
}

// IsAppConfigFile reports whether a file name is an application config:
// `.pipe.yaml`, `app.pipecd.yaml` or `*.pipecd.yaml`.
func IsAppConfigFile(name string) bool {
	return name == ".pipe.yaml" || strings.HasSuffix(name, ".pipecd.yaml")
}

// SharedDir is the repository folder of shared files (.pipe/).
const SharedDir = ".pipe"

// RepoConfigFile is the repository config, relative to the root.
const RepoConfigFile = ".pipe/config.yaml"

// FindRoot returns the repository root for a path: the nearest ancestor
// (or the path itself) holding `.git` or `.pipe/`; the path itself when
// there is none.
func FindRoot(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, unwrapPathError(err))
	}
	start := abs
	if !st.IsDir() {
		start = filepath.Dir(abs)
	}
	for d := start; ; {
		for _, marker := range []string{".git", SharedDir} {
			if _, err := os.Stat(filepath.Join(d, marker)); err == nil {
				return d, nil
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return start, nil
		}
		d = parent
	}
}

// skipDir reports directories discovery never enters.
func skipDir(name string) bool {
	return name == ".git" || name == "node_modules" || strings.HasPrefix(name, ExportDirPrefix)
}

// ExportDirPrefix starts the names of the directories pipe exports past
// commits to (their configs are not the repository's): discovery skips
// them, should one be left inside the working tree by a killed job whose
// temporary directory is there.
const ExportDirPrefix = "pipe-rev-"

// Discover lists the configuration files under root (or under the given
// repository-relative paths), relative to root with forward slashes, sorted.
// Application configs are found anywhere; shared files only directly in .pipe/.
func Discover(root string, paths ...string) ([]string, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	set := map[string]bool{}
	for _, p := range paths {
		start := filepath.Join(root, filepath.FromSlash(p))
		st, err := os.Stat(start)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, unwrapPathError(err))
		}
		if !st.IsDir() {
			rel, err := filepath.Rel(root, start)
			if err != nil {
				return nil, err
			}
			set[filepath.ToSlash(rel)] = true
			continue
		}
		err = filepath.WalkDir(start, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrPermission) {
					return nil
				}
				return err
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			if de.IsDir() {
				if p != start && skipDir(de.Name()) {
					return filepath.SkipDir
				}
				return nil
			}
			if isConfigPath(rel) {
				set[rel] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

func isConfigPath(rel string) bool {
	if IsAppConfigFile(path.Base(rel)) {
		return true
	}
	dir, base := path.Split(rel)
	return dir == SharedDir+"/" && (strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml"))
}

// LoadRepo discovers, parses and validates the configuration files of the
// repository at root (restricted to paths when given). Files are parsed and
// checked in parallel. The shared files (.pipe/) are always loaded, since
// application checks refer to them.
func LoadRepo(root string, paths ...string) (*Repo, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	files, err := Discover(root, paths...)
	if err != nil {
		return nil, err
	}
	shared, err := Discover(root, SharedDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		shared = nil
	}
	all := map[string]bool{}
	for _, f := range append(files, shared...) {
		all[f] = true
	}
	names := make([]string, 0, len(all))
	for f := range all {
		names = append(names, f)
	}
	sort.Strings(names)

	rootDir, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer rootDir.Close()
	r := &Repo{Root: root, Files: make([]*File, len(names))}
	parallel(len(names), func(i int) {
		r.Files[i] = ReadFileIn(rootDir, names[i])
	})
	ctx := r.sharedContext()
	parallel(len(r.Files), func(i int) { r.check(r.Files[i], ctx) })
	r.collectApps()
	r.checkDuplicates()
	return r, nil
}

func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// check runs the semantic checks of one decoded file.
func (r *Repo) check(f *File, ctx CheckContext) {
	if f.Spec == nil {
		return
	}
	inShared := strings.HasPrefix(f.Path, SharedDir+"/")
	switch {
	case inShared && f.Kind.IsApp():
		f.Diags = append(f.Diags, Diagnostic{File: f.Path, Line: posLine(f, "kind"), Severity: SeverityError,
			Message: fmt.Sprintf("an application config (%s) cannot live in %s/", f.Kind, SharedDir),
			Hint:    "move it to the application's directory as app.pipecd.yaml"})
		return
	case !inShared && !f.Kind.IsApp():
		f.Diags = append(f.Diags, Diagnostic{File: f.Path, Severity: SeverityError,
			Message: fmt.Sprintf("a %s belongs in %s/, not in an application config file", f.Kind, SharedDir)})
		return
	case f.Path == RepoConfigFile && f.Kind != KindPipe:
		f.Diags = append(f.Diags, Diagnostic{File: f.Path, Severity: SeverityError,
			Message: fmt.Sprintf("%s must be of kind Pipe, got %s", RepoConfigFile, f.Kind)})
		return
	case inShared && f.Kind == KindPipe && f.Path != RepoConfigFile:
		f.Diags = append(f.Diags, Diagnostic{File: f.Path, Severity: SeverityError,
			Message: "the repository config (kind Pipe) must be " + RepoConfigFile})
		return
	}
	ctx.FileDir = filepath.Dir(filepath.Join(r.Root, filepath.FromSlash(f.Path)))
	c := &Checker{File: f.Path, Kind: f.Kind, Positions: f.Positions, Ctx: ctx}
	c.Walk(f.Spec, "spec")
	f.Diags = append(f.Diags, c.Diags...)
}

func posLine(f *File, p string) int { return f.Positions[p].Line }

func (r *Repo) collectApps() {
	for _, f := range r.Files {
		if f.Spec == nil {
			continue
		}
		if f.Kind == KindPipe && f.Path == RepoConfigFile {
			r.Config = f.Spec.(*PipeSpec)
		}
		spec, ok := f.Spec.(AppSpec)
		if !ok || !f.Kind.IsApp() || spec.Generic().Name == "" {
			continue
		}
		g := spec.Generic()
		r.Apps = append(r.Apps, &App{Name: g.Name, Kind: f.Kind, File: f.Path, Dir: path.Dir(f.Path), Labels: g.Labels, Spec: spec})
	}
}

// checkDuplicates reports applications sharing a name. pipe keys records,
// locks and history by name, so commands refuse an ambiguous name; validation
// reports it as a warning, since PipeCD (which keys apps by ID) accepts it.
func (r *Repo) checkDuplicates() {
	byName := map[string][]*App{}
	for _, a := range r.Apps {
		byName[a.Name] = append(byName[a.Name], a)
	}
	files := map[string]*File{}
	for _, f := range r.Files {
		files[f.Path] = f
	}
	for name, apps := range byName {
		if len(apps) < 2 {
			continue
		}
		for _, a := range apps {
			var others []string
			for _, o := range apps {
				if o != a {
					others = append(others, o.File)
				}
			}
			f := files[a.File]
			p := f.Positions["spec.name"]
			f.Diags = append(f.Diags, Diagnostic{File: a.File, Line: p.Line, Column: p.Column, Path: "spec.name", Severity: SeverityWarning,
				Message: fmt.Sprintf("application name %q is also used by %s", name, strings.Join(others, ", ")),
				Hint:    "pipe keys deployment records and locks by name: give each application a unique name, or pipe refuses to sync or show either by name"})
		}
	}
}
