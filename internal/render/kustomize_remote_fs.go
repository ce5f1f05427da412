package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// ktree is a tree kustomize reads: the repository, or the tree of a remote
// base fetched from Git.
type ktree struct {
	*tree
	// desc names a fetched tree in messages (remote@ref); "" for the
	// repository.
	desc string
}

// name is p for messages: relative to the repository root, or
// remote@ref:path for a file of a fetched tree.
func (t *ktree) name(p string) string {
	if t.desc == "" {
		return t.rel(p)
	}
	return t.desc + ":" + t.rel(p)
}

// kustFS is the file system kustomize builds from, read-only: the trees
// (the repository and the remote bases fetched), each read through its
// confinement (tree.confine, tree.read: nothing outside them, nothing in
// .git, regular files within the caps), with virtual files over them: the
// kustomizations whose remote entries and helmCharts were rewritten, the
// remote files downloaded and the charts rendered. Predicates (Exists,
// IsDir) answer false outside the trees and record the violation, so that
// the error kustomize then reports can be replaced by the reason.
type kustFS struct {
	filesys.FileSystem
	trees []*ktree
	// files and dirs are the virtual files and directories, by absolute
	// path (symlinks evaluated).
	files map[string][]byte
	dirs  map[string]bool

	mu  sync.Mutex
	bad error
}

func newKustFS(main *ktree) *kustFS {
	return &kustFS{FileSystem: filesys.MakeFsOnDisk(), trees: []*ktree{main}, files: map[string][]byte{}, dirs: map[string]bool{}}
}

var errReadOnly = errors.New("rendering does not write files")

// addFile sets the virtual file p (absolute, in a tree), and its
// directory as a virtual one when it does not exist. Setting a file twice
// with other content is an error: one kustomization would have to read
// two ways.
func (f *kustFS) addFile(p string, data []byte) error {
	if old, ok := f.files[p]; ok && !bytes.Equal(old, data) {
		return errConflict
	}
	f.files[p] = data
	if d := filepath.Dir(p); !f.dirs[d] {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			f.dirs[d] = true
		}
	}
	return nil
}

var errConflict = errors.New("a kustomization is read twice and would have to be rewritten two ways")

// treeOf returns the tree holding p (absolute), the innermost one.
func (f *kustFS) treeOf(p string) *ktree {
	var best *ktree
	for _, t := range f.trees {
		if within(t.root, p) && (best == nil || len(t.root) > len(best.root)) {
			best = t
		}
	}
	return best
}

// check confines p (absolute, or relative to the working directory as
// kustomize's on-disk file system takes it) to its tree and returns it
// with symlinks evaluated.
func (f *kustFS) check(p string) (string, *ktree, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", nil, err
	}
	t := f.treeOf(abs)
	if t == nil {
		t = f.trees[0] // its refusal words it
	}
	real, err := t.confine(abs, t.name(abs))
	if err != nil {
		f.record(err)
		return "", nil, err
	}
	if t2 := f.treeOf(real); t2 != t {
		// A symlink of a fetched tree into another tree: refused like one
		// out of the tree.
		err := fmt.Errorf("%q resolves (through a symlink) %w", t.name(abs), errOutside)
		f.record(err)
		return "", nil, err
	}
	return real, t, nil
}

// record keeps the first refusal, to report it instead of what kustomize
// makes of it.
func (f *kustFS) record(err error) {
	f.mu.Lock()
	if f.bad == nil {
		f.bad = err
	}
	f.mu.Unlock()
}

func (f *kustFS) violation() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bad
}

// virtual returns the content of the virtual file p, and whether p is a
// virtual file or directory.
func (f *kustFS) virtual(p string) (data []byte, file, dir bool) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, false, false
	}
	if b, ok := f.files[abs]; ok {
		return b, true, false
	}
	return nil, false, f.dirs[abs]
}

func (f *kustFS) ok(p string) bool {
	_, _, err := f.check(p)
	return err == nil
}

func (f *kustFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (f *kustFS) Mkdir(string) error                  { return errReadOnly }
func (f *kustFS) MkdirAll(string) error               { return errReadOnly }
func (f *kustFS) RemoveAll(string) error              { return errReadOnly }
func (f *kustFS) WriteFile(string, []byte) error      { return errReadOnly }

// Open and ReadFile read regular files only, within the tree's caps (see
// tree.read): a named pipe or a device where kustomize expects a file is
// refused, and so is a file too large.
func (f *kustFS) Open(p string) (filesys.File, error) {
	if b, file, dir := f.virtual(p); file || dir {
		if dir {
			return nil, fmt.Errorf("%s is a directory", p)
		}
		return &memFile{Reader: bytes.NewReader(b), name: filepath.Base(p), size: int64(len(b))}, nil
	}
	real, t, err := f.check(p)
	if err != nil {
		return nil, err
	}
	file, err := t.open(real)
	if err != nil {
		f.record(err)
		return nil, err
	}
	return file, nil
}

func (f *kustFS) IsDir(p string) bool {
	if _, file, dir := f.virtual(p); file || dir {
		return dir
	}
	return f.ok(p) && f.FileSystem.IsDir(p)
}

func (f *kustFS) Exists(p string) bool {
	if _, file, dir := f.virtual(p); file || dir {
		return true
	}
	return f.ok(p) && f.FileSystem.Exists(p)
}

func (f *kustFS) ReadDir(p string) ([]string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	var names []string
	if !f.dirs[abs] {
		if _, _, err := f.check(p); err != nil {
			return nil, err
		}
		if names, err = f.FileSystem.ReadDir(p); err != nil {
			return nil, err
		}
	}
	for v := range f.files {
		if filepath.Dir(v) == abs {
			names = append(names, filepath.Base(v))
		}
	}
	for v := range f.dirs {
		if filepath.Dir(v) == abs {
			names = append(names, filepath.Base(v))
		}
	}
	sort.Strings(names)
	return names, nil
}

func (f *kustFS) ReadFile(p string) ([]byte, error) {
	if b, file, dir := f.virtual(p); file || dir {
		if dir {
			return nil, fmt.Errorf("%s is a directory", p)
		}
		return bytes.Clone(b), nil
	}
	real, t, err := f.check(p)
	if err != nil {
		return nil, err
	}
	if f.FileSystem.IsDir(real) {
		// kustomize tries a resource as a file, then as a directory.
		return f.FileSystem.ReadFile(real)
	}
	b, err := t.read(real, maxFileSize)
	if err == nil {
		// kyaml follows aliases without bounds: see checkAliases.
		if aerr := checkAliases(t.name(real), b); aerr != nil {
			b, err = nil, aerr
		}
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.record(err)
	}
	return b, err
}

func (f *kustFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	if _, file, dir := f.virtual(p); file || dir {
		abs, _ := filepath.Abs(p)
		if dir {
			return filesys.ConfirmedDir(abs), "", nil
		}
		return filesys.ConfirmedDir(filepath.Dir(abs)), filepath.Base(abs), nil
	}
	if abs, err := filepath.Abs(p); err == nil && f.dirs[filepath.Dir(abs)] {
		// In a virtual directory, and not one of its files.
		return "", "", fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	if _, _, err := f.check(p); err != nil {
		return "", "", err
	}
	return f.FileSystem.CleanedAbs(p)
}

func (f *kustFS) Glob(pattern string) ([]string, error) {
	if _, _, err := f.check(filepath.Dir(pattern)); err != nil {
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

func (f *kustFS) Walk(p string, fn filepath.WalkFunc) error {
	if _, _, err := f.check(p); err != nil {
		return err
	}
	return f.FileSystem.Walk(p, fn)
}

// relPaths shortens the absolute paths of the trees in a message: the
// repository's to repository-relative ones, a fetched tree's to
// remote@ref:path.
func (f *kustFS) relPaths(msg string) string {
	trees := append([]*ktree(nil), f.trees...)
	sort.Slice(trees, func(i, j int) bool { return len(trees[i].root) > len(trees[j].root) })
	for _, t := range trees {
		sep := t.root + string(filepath.Separator)
		if t.desc == "" {
			msg = strings.ReplaceAll(msg, sep, "")
			continue
		}
		msg = strings.ReplaceAll(msg, sep, t.desc+":")
		msg = strings.ReplaceAll(msg, t.root, t.desc+":.")
	}
	return msg
}

// memFile is a virtual file opened.
type memFile struct {
	*bytes.Reader
	name string
	size int64
}

func (m *memFile) Write([]byte) (int, error) { return 0, errReadOnly }
func (m *memFile) Close() error              { return nil }
func (m *memFile) Stat() (os.FileInfo, error) {
	return memInfo{name: m.name, size: m.size}, nil
}

type memInfo struct {
	name string
	size int64
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() os.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
