package source

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// ExportTree writes the files of the commit rev into dir (which must exist
// and be empty), as a checkout would, without touching the working tree or
// the index: regular and executable files, and symlinks. Submodules are left
// as empty directories. It is how pipe renders a past revision (the last
// successfully deployed commit) next to the working tree.
func (r *Repo) ExportTree(rev Revision, dir string) error {
	c, err := r.readCommitHeader(rev.hash())
	if err != nil {
		return r.walkError(rev.Name, rev.Name, rev.hash(), err)
	}
	if err := r.exportTree(c.tree, dir); err != nil {
		return fmt.Errorf("export %s: %w", rev, err)
	}
	return nil
}

func (r *Repo) exportTree(h plumbing.Hash, dir string) error {
	entries, err := r.readTree(h)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := string(e.name)
		if name == "" || name == "." || name == ".." || strings.EqualFold(name, ".git") || filepath.Base(name) != name {
			return fmt.Errorf("tree %s has an unsafe entry name %q", h, name)
		}
		p := filepath.Join(dir, name)
		switch canonicalMode(e.mode) {
		case modeTree:
			if err := os.Mkdir(p, 0o755); err != nil {
				return err
			}
			if err := r.exportTree(e.hash, p); err != nil {
				return err
			}
		case modeGitlink:
			if err := os.Mkdir(p, 0o755); err != nil {
				return err
			}
		case modeSymlink:
			target, _, err := r.readObject(plumbing.BlobObject, e.hash)
			if err != nil {
				return err
			}
			if err := os.Symlink(string(target), p); err != nil {
				return err
			}
		default:
			data, _, err := r.readObject(plumbing.BlobObject, e.hash)
			if err != nil {
				return err
			}
			perm := os.FileMode(0o644)
			if canonicalMode(e.mode) == modeExec {
				perm = 0o755
			}
			if err := os.WriteFile(p, data, perm); err != nil {
				return err
			}
		}
	}
	return nil
}
