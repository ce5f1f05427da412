package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/gitops-pipe/pipe/internal/fsafe"
)

// What rendering reads from a tree is bounded: a repository (a pull
// request's included) may hold a file of any size, a named pipe or a
// symlink to a device where a manifest is expected.
const (
	// maxFileSize caps one file of the tree (a manifest, a values file, a
	// kustomization, a file kustomize reads): 16 MiB. Chart files have
	// Helm's own caps (5 MiB a file, 100 MiB a chart).
	maxFileSize = fsafe.MaxFileSize
	// maxTreeRead caps everything one rendering reads from its tree:
	// 256 MiB.
	maxTreeRead = 256 << 20
)

// tree is the directory being rendered: the repository root of a checked-out
// revision. Every file rendering reads is resolved through it.
type tree struct {
	// root is absolute, with symlinks evaluated.
	root string
	// readBytes counts the bytes read from the tree, against budget
	// (maxTreeRead).
	readBytes atomic.Int64
	budget    int64
}

func newTree(root string) (*tree, error) {
	if root == "" {
		return nil, errors.New("no repository root given")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("repository root: %w", err)
	}
	return &tree{root: real, budget: maxTreeRead}, nil
}

// within reports whether p (absolute, clean) is dir or below it.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel))
}

// rel returns p relative to the root with forward slashes, for messages;
// p itself when it is outside.
func (t *tree) rel(p string) string {
	if r, err := filepath.Rel(t.root, p); err == nil && within(t.root, p) {
		return filepath.ToSlash(r)
	}
	return p
}

// abs returns the absolute path of a slash-separated path relative to the root.
func (t *tree) abs(relSlash string) string {
	return filepath.Join(t.root, filepath.FromSlash(relSlash))
}

// errOutside is wrapped by every refusal to read outside the tree.
var errOutside = errors.New("outside the repository")

// resolve joins ref (relative to the directory base, an absolute path in
// the tree) and returns the absolute path with symlinks evaluated. It fails
// when ref is absolute or when the path, or what a symlink in it points at,
// lies outside the tree. A path that does not exist is returned as joined,
// so that reading it reports that it does not exist.
func (t *tree) resolve(base, ref string) (string, error) {
	if ref == "" {
		return "", errors.New("empty path")
	}
	if filepath.IsAbs(ref) || strings.HasPrefix(ref, "/") {
		return "", fmt.Errorf("%q is an absolute path: paths are relative to the application directory", ref)
	}
	p := filepath.Join(base, filepath.FromSlash(ref))
	return t.confine(p, ref)
}

// confine checks an absolute path: it and its symlink target must be in
// the tree, and not in Git's own files (.git holds the CI job's credentials:
// actions/checkout keeps its token in .git/config).
func (t *tree) confine(p, shown string) (string, error) {
	if !within(t.root, p) {
		return "", fmt.Errorf("%q points %w", shown, errOutside)
	}
	if inGitDir(t.root, p) {
		return "", fmt.Errorf("%q is in .git: pipe renders the repository's files, never Git's own", shown)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// A dangling symlink in the path must not escape either.
			if dir, derr := filepath.EvalSymlinks(filepath.Dir(p)); derr == nil && !within(t.root, dir) {
				return "", fmt.Errorf("%q resolves %w", shown, errOutside)
			}
			return p, nil
		}
		return "", err
	}
	if !within(t.root, real) {
		return "", fmt.Errorf("%q resolves (through a symlink) %w", shown, errOutside)
	}
	if inGitDir(t.root, real) {
		return "", fmt.Errorf("%q resolves (through a symlink) into .git: pipe renders the repository's files, never Git's own", shown)
	}
	return real, nil
}

// inGitDir reports whether p (in the tree root) has a path element .git.
func inGitDir(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	for _, e := range strings.Split(filepath.ToSlash(rel), "/") {
		if strings.EqualFold(e, ".git") {
			return true
		}
	}
	return false
}

// readFile reads ref relative to base, confined to the tree (see read).
func (t *tree) readFile(base, ref string) ([]byte, string, error) {
	p, err := t.resolve(base, ref)
	if err != nil {
		return nil, "", err
	}
	b, err := t.read(p, maxFileSize)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, p, fmt.Errorf("%s does not exist", t.rel(filepath.Join(base, filepath.FromSlash(ref))))
		}
		return nil, p, err
	}
	return b, p, nil
}

// read reads p, a path of the tree as resolve returns it: through an
// os.Root of the tree, so that no symlink leads out of it even if the tree
// changes meanwhile; only a regular file (opening a named pipe does not
// block, a device is refused), of at most max bytes, within the tree's
// budget (maxTreeRead). Errors name the file relative to the root and say
// what to do.
func (t *tree) read(p string, max int64) ([]byte, error) {
	if !within(t.root, p) {
		return nil, fmt.Errorf("%q points %w", p, errOutside)
	}
	name := t.rel(p)
	rel, err := filepath.Rel(t.root, p)
	if err != nil {
		return nil, err
	}
	b, err := fsafe.ReadFileIn(t.root, filepath.Clean(rel), max)
	if err != nil {
		return nil, t.readError(name, err)
	}
	if n := t.readBytes.Add(int64(len(b))); n > t.budget {
		return nil, fmt.Errorf("%s: rendering has read more than %s from the repository for this application: make its files smaller (or fewer)", name, fsafe.Bytes(t.budget))
	}
	return b, nil
}

// open opens p (see read) for reading, checking that it is a regular file
// of at most maxFileSize bytes.
func (t *tree) open(p string) (*os.File, error) {
	if !within(t.root, p) {
		return nil, fmt.Errorf("%q points %w", p, errOutside)
	}
	name := t.rel(p)
	rel, err := filepath.Rel(t.root, p)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(t.root)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := fsafe.Open(root, filepath.Clean(rel))
	if err != nil {
		return nil, t.readError(name, err)
	}
	if st, err := f.Stat(); err != nil || st.Size() > maxFileSize {
		f.Close()
		if err == nil {
			err = t.readError(name, &fsafe.TooLargeError{Name: name, Size: st.Size(), Max: maxFileSize})
		}
		return nil, err
	}
	return f, nil
}

// readError words a refusal of fsafe for the file name (relative to the
// root), with what to do.
func (t *tree) readError(name string, err error) error {
	var (
		tl *fsafe.TooLargeError
		nr *fsafe.NotRegularError
	)
	switch {
	case errors.As(err, &tl):
		tl.Name = name
		return fmt.Errorf("%w: make it smaller (split it into several files)", tl)
	case errors.As(err, &nr):
		nr.Name = name
		return fmt.Errorf("%w; replace it with a regular file", nr)
	case errors.Is(err, fsafe.ErrOutside):
		return fmt.Errorf("%q resolves (through a symlink) %w", name, errOutside)
	}
	return err
}
