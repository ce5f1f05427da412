package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomize builds the application directory in-process, like `kustomize
// build` with input.kustomizeOptions. Remote bases and resources are refused
// before kustomize could fetch them, and every file kustomize reads must be
// in the tree.
func (r *Renderer) kustomize(ctx context.Context, a *appTree) ([]rendered, error) {
	kfile := a.rel(filepath.Join(a.dir, a.kustomization()))
	opts, err := kustomizeOptions(a.input.KustomizeOptions)
	if err != nil {
		return nil, &Error{File: a.configFile(), Err: err}
	}
	if err := checkKustomizations(a.tree, a.dir); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fsys := &treeFS{FileSystem: filesys.MakeFsOnDisk(), tree: a.tree}
	m, err := krusty.MakeKustomizer(opts).Run(fsys, a.dir)
	if err != nil {
		if v := fsys.violation(); v != nil {
			return nil, &Error{File: kfile, Err: fmt.Errorf("kustomize build: %w", v)}
		}
		return nil, &Error{File: kfile, Err: fmt.Errorf("kustomize build: %s", a.relPaths(err.Error()))}
	}
	out := make([]rendered, 0, m.Size())
	for i, res := range m.Resources() {
		b, err := res.MarshalJSON()
		if err != nil {
			return nil, &Error{File: kfile, Err: fmt.Errorf("kustomize output %d: %w", i+1, err)}
		}
		var obj map[string]any
		if err := utiljson.Unmarshal(b, &obj); err != nil {
			return nil, &Error{File: kfile, Err: fmt.Errorf("kustomize output %d: %w", i+1, err)}
		}
		u := &unstructured.Unstructured{Object: obj}
		if err := checkObject(u); err != nil {
			return nil, &Error{File: kfile, Err: fmt.Errorf("kustomize output %d (%s): %w", i+1, res.CurId(), err)}
		}
		out = append(out, rendered{obj: u, src: Source{File: kfile, Doc: i, Item: -1}})
	}
	return out, nil
}

// relPaths shortens absolute paths of the tree in a message to
// repository-relative ones.
func (a *appTree) relPaths(msg string) string {
	return strings.ReplaceAll(msg, a.root+string(filepath.Separator), "")
}

// kustomizeOptions maps input.kustomizeOptions (flags of `kustomize build`,
// by name without dashes) to krusty options. Flags that need an external
// program or the network are refused.
func kustomizeOptions(in map[string]string) (*krusty.Options, error) {
	opts := krusty.MakeDefaultOptions()
	// Like the kustomize CLI: the kustomization's sortOptions, else legacy order.
	opts.Reorder = krusty.ReorderOptionUnspecified
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.TrimSpace(in[k])
		name := strings.TrimLeft(k, "-")
		bad := func(format string, args ...any) error {
			return fmt.Errorf("kustomizeOptions.%s: %s", k, fmt.Sprintf(format, args...))
		}
		switch name {
		case "load-restrictor", "load_restrictor":
			switch strings.ToLower(v) {
			case "loadrestrictionsnone", "none":
				opts.LoadRestrictions = types.LoadRestrictionsNone
			case "loadrestrictionsrootonly", "rootonly":
				opts.LoadRestrictions = types.LoadRestrictionsRootOnly
			default:
				return nil, bad("%q is not a load restrictor (LoadRestrictionsRootOnly or LoadRestrictionsNone)", v)
			}
		case "enable-managedby-label", "enable_managedby_label":
			b, err := flagBool(v)
			if err != nil {
				return nil, bad("%v", err)
			}
			opts.AddManagedbyLabel = b
		case "reorder":
			switch v {
			case "legacy":
				opts.Reorder = krusty.ReorderOptionLegacy
			case "none":
				opts.Reorder = krusty.ReorderOptionNone
			default:
				return nil, bad("%q is not an order (legacy or none)", v)
			}
		case "enable-helm", "enable_helm", "helm-command", "helm-api-versions", "helm-kube-version", "helm-debug":
			return nil, bad("kustomize's Helm support runs the helm program, and pipe renders without external programs; render the chart with input.helmChart instead")
		case "enable-alpha-plugins", "enable-exec", "enable-star", "mount", "network", "network-name", "env", "e", "as-current-user":
			return nil, bad("KRM function plugins run containers or programs, and pipe renders in-process only")
		case "output", "o", "stack-trace":
			// Output options of the CLI: nothing to render differently.
		default:
			return nil, bad("unknown or unsupported option (supported: load-restrictor, enable-managedby-label, reorder)")
		}
	}
	return opts, nil
}

func flagBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean", v)
}

// treeFS is the on-disk file system confined to the tree, read-only.
// kustomize's own load restrictor keeps files under each kustomization's
// root, but bases may be anywhere: treeFS keeps everything in the
// repository. Predicates (Exists, IsDir) answer false outside it and record
// the violation, so that the error kustomize then reports can be replaced
// by the reason.
type treeFS struct {
	filesys.FileSystem
	tree *tree
	mu   sync.Mutex
	bad  error
}

var errReadOnly = errors.New("rendering does not write files")

// check confines p (absolute, or relative to the working directory as
// kustomize's on-disk file system takes it) to the tree and returns it with
// symlinks evaluated.
func (f *treeFS) check(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	real, err := f.tree.confine(abs, f.tree.rel(abs))
	if err != nil {
		f.record(err)
		return "", err
	}
	return real, nil
}

// record keeps the first refusal, to report it instead of what kustomize
// makes of it.
func (f *treeFS) record(err error) {
	f.mu.Lock()
	if f.bad == nil {
		f.bad = err
	}
	f.mu.Unlock()
}

func (f *treeFS) ok(p string) bool {
	_, err := f.check(p)
	return err == nil
}

func (f *treeFS) violation() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bad
}

func (f *treeFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (f *treeFS) Mkdir(string) error                  { return errReadOnly }
func (f *treeFS) MkdirAll(string) error               { return errReadOnly }
func (f *treeFS) RemoveAll(string) error              { return errReadOnly }
func (f *treeFS) WriteFile(string, []byte) error      { return errReadOnly }

// Open and ReadFile read regular files only, within the tree's caps (see
// tree.read): a named pipe or a device where kustomize expects a file is
// refused, and so is a file too large.
func (f *treeFS) Open(p string) (filesys.File, error) {
	real, err := f.check(p)
	if err != nil {
		return nil, err
	}
	file, err := f.tree.open(real)
	if err != nil {
		f.record(err)
		return nil, err
	}
	return file, nil
}

func (f *treeFS) IsDir(p string) bool { return f.ok(p) && f.FileSystem.IsDir(p) }

func (f *treeFS) Exists(p string) bool { return f.ok(p) && f.FileSystem.Exists(p) }

func (f *treeFS) ReadDir(p string) ([]string, error) {
	if _, err := f.check(p); err != nil {
		return nil, err
	}
	return f.FileSystem.ReadDir(p)
}

func (f *treeFS) ReadFile(p string) ([]byte, error) {
	real, err := f.check(p)
	if err != nil {
		return nil, err
	}
	if f.FileSystem.IsDir(real) {
		// kustomize tries a resource as a file, then as a directory.
		return f.FileSystem.ReadFile(real)
	}
	b, err := f.tree.read(real, maxFileSize)
	if err == nil {
		// kyaml follows aliases without bounds: see checkAliases.
		if aerr := checkAliases(f.tree.rel(real), b); aerr != nil {
			b, err = nil, aerr
		}
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.record(err)
	}
	return b, err
}

func (f *treeFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	if _, err := f.check(p); err != nil {
		return "", "", err
	}
	return f.FileSystem.CleanedAbs(p)
}

func (f *treeFS) Glob(pattern string) ([]string, error) {
	if _, err := f.check(filepath.Dir(pattern)); err != nil {
		return nil, err
	}
	matches, err := f.FileSystem.Glob(pattern)
	if err != nil {
		return nil, err
	}
	kept := matches[:0]
	for _, m := range matches {
		if f.ok(m) {
			kept = append(kept, m)
		}
	}
	return kept, nil
}

func (f *treeFS) Walk(p string, fn filepath.WalkFunc) error {
	if _, err := f.check(p); err != nil {
		return err
	}
	return f.FileSystem.Walk(p, fn)
}
