package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tree is the directory being rendered: the repository root of a checked-out
// revision. Every file rendering reads is resolved through it.
type tree struct {
	// root is absolute, with symlinks evaluated.
	root string
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
	return &tree{root: real}, nil
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

// confine checks an absolute path: it and its symlink target must be in the tree.
func (t *tree) confine(p, shown string) (string, error) {
	if !within(t.root, p) {
		return "", fmt.Errorf("%q points %w", shown, errOutside)
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
	return real, nil
}

// readFile reads ref relative to base, confined to the tree.
func (t *tree) readFile(base, ref string) ([]byte, string, error) {
	p, err := t.resolve(base, ref)
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, p, fmt.Errorf("%s does not exist", t.rel(filepath.Join(base, filepath.FromSlash(ref))))
		}
		return nil, p, err
	}
	return b, p, nil
}
