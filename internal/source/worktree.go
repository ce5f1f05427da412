package source

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gitops-pipe/pipe/internal/fsafe"
)

// ExportWorkTree writes into dir (which must exist and be empty) the
// working tree as Git sees it: the files of the commit rev (the working
// tree's HEAD), with the changes of the working tree over it (modified and
// untracked files, ignored ones excepted; deleted files removed). It is a
// copy of the working tree for a step that must write into the tree
// (rendering secrets into files) without touching the working tree, and
// without the files Git ignores (build output, tool caches, credentials
// earlier CI steps left). The changes are read on the first call and
// reused: the copies of one run (one per application that renders files)
// are of the working tree as it was then.
func (r *Repo) ExportWorkTree(rev Revision, dir string) error {
	if err := r.ExportTree(rev, dir); err != nil {
		return err
	}
	if r.changes == nil {
		paths, err := r.DirtyPaths()
		r.changes = &workTreeChanges{paths: paths, err: err}
	}
	dirty, err := r.changes.paths, r.changes.err
	if err != nil {
		return err
	}
	if len(dirty) == 0 {
		return nil
	}
	src, err := os.OpenRoot(r.root)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer dst.Close()
	for _, p := range dirty {
		if err := overlay(src, dst, filepath.FromSlash(p)); err != nil {
			return fmt.Errorf("copy the working tree's %s: %w", p, err)
		}
	}
	return nil
}

type workTreeChanges struct {
	paths []string
	err   error
}

// overlay copies the working tree's file name over the export (a regular
// file; a symlink or other file type is left out, as a renderer would not
// follow it either), or removes it from the export when it was deleted.
func overlay(src, dst *os.Root, name string) error {
	st, err := src.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		if err := dst.RemoveAll(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if err != nil {
		return err
	}
	if err := dst.RemoveAll(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if !st.Mode().IsRegular() {
		return nil
	}
	// Streamed: an untracked binary an earlier CI step downloaded may be
	// large; it is copied, not refused.
	in, err := fsafe.Open(src, name)
	if err != nil {
		return err
	}
	defer in.Close()
	if d := filepath.Dir(name); d != "." {
		if err := dst.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	f, err := dst.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, in); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
