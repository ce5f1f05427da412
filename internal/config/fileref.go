package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FileRefKind says what a file reference must point at.
type FileRefKind int

const (
	// RefFile must be a regular file.
	RefFile FileRefKind = iota
	// RefDir must be a directory.
	RefDir
	// RefAny may be a file or a directory.
	RefAny
)

// CheckFileRef checks a path written in a config (a manifest, a values file,
// a decryption target...): it must be relative, resolve inside the repository
// (after following symlinks), and exist. base is the directory the reference
// is relative to ("" for the file's own directory). It returns the resolved
// absolute path, or "" when the reference is invalid or cannot be checked.
func (c *Checker) CheckFileRef(path, ref, base string, kind FileRefKind) string {
	if ref == "" {
		c.Errorf(path, "", "file path is empty")
		return ""
	}
	if filepath.IsAbs(ref) || strings.HasPrefix(ref, "/") || filepath.VolumeName(ref) != "" {
		c.Errorf(path, "write the path relative to the application directory", "absolute path %q is not allowed", ref)
		return ""
	}
	if c.Ctx.RepoRoot == "" || c.Ctx.FileDir == "" {
		return "" // checked on its own: nothing to resolve against
	}
	if base == "" {
		base = c.Ctx.FileDir
	}
	abs := filepath.Join(base, filepath.FromSlash(ref))
	if !within(c.Ctx.RepoRoot, abs) {
		c.Errorf(path, "a configuration may only refer to files inside its repository", "%q points outside the repository", ref)
		return ""
	}
	st, err := os.Lstat(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			c.Errorf(path, "paths are relative to "+c.relToRoot(base), "%q does not exist", ref)
		} else {
			c.Errorf(path, "", "cannot read %q: %v", ref, unwrapPathError(err))
		}
		return ""
	}
	if st.Mode()&fs.ModeSymlink != 0 || hasSymlinkParent(c.Ctx.RepoRoot, abs) {
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			c.Errorf(path, "", "cannot resolve symlink %q: %v", ref, unwrapPathError(err))
			return ""
		}
		rootReal, err := filepath.EvalSymlinks(c.Ctx.RepoRoot)
		if err != nil {
			rootReal = c.Ctx.RepoRoot
		}
		if !within(rootReal, real) {
			c.Errorf(path, "a symlink may not lead outside the repository", "%q resolves to %s, outside the repository", ref, real)
			return ""
		}
		abs = real
		st, err = os.Stat(real)
		if err != nil {
			c.Errorf(path, "", "cannot read %q: %v", ref, unwrapPathError(err))
			return ""
		}
	}
	switch {
	case kind == RefFile && st.IsDir():
		c.Errorf(path, "", "%q is a directory, expected a file", ref)
		return ""
	case kind == RefDir && !st.IsDir():
		c.Errorf(path, "", "%q is a file, expected a directory", ref)
		return ""
	}
	return abs
}

func (c *Checker) relToRoot(dir string) string {
	rel, err := filepath.Rel(c.Ctx.RepoRoot, dir)
	if err != nil || rel == "." {
		return "the repository root"
	}
	return filepath.ToSlash(rel) + "/"
}

// within reports whether p is root or lies under it (both cleaned, absolute).
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	return rel == "." || rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// hasSymlinkParent reports whether a directory between root and p is a symlink.
func hasSymlinkParent(root, p string) bool {
	for d := filepath.Dir(p); within(root, d) && d != root; d = filepath.Dir(d) {
		if st, err := os.Lstat(d); err == nil && st.Mode()&fs.ModeSymlink != 0 {
			return true
		}
	}
	return false
}
