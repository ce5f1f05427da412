package source

import (
	"bytes"
	"errors"
	"fmt"
	"path"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitops-pipe/pipe/internal/fsafe"
)

// ExportTree writes the files of the commit rev into dir (which must exist
// and be empty), as a checkout would, without touching the working tree or
// the index: regular and executable files, and symlinks. Submodules are left
// as empty directories. It is how pipe renders a past revision (the last
// successfully deployed commit) next to the working tree.
//
// The tree may have been crafted (a pushed branch is anyone's): nothing is
// ever written through a symlink or outside dir. An entry repeated in a
// tree, an unsafe name ("..", ".git"), an entry below a symlink and a chain
// of symlinks leading out are errors naming the entry. A symlink that is
// absolute or leads out of the tree by its own target is left out of the
// export (the renderer would refuse to follow it in the working tree too):
// reading through it says the file does not exist.
func (r *Repo) ExportTree(rev Revision, dir string) error {
	c, err := r.readCommitHeader(rev.hash())
	if err != nil {
		return r.walkError(rev.Name, rev.Name, rev.hash(), err)
	}
	w, err := fsafe.NewTreeWriter(dir)
	if err != nil {
		return fmt.Errorf("export %s: %w", rev, err)
	}
	defer w.Close()
	if err := r.exportTree(w, c.tree, "", 0); err != nil {
		return fmt.Errorf("export %s: %w", rev, err)
	}
	if err := w.Finish(); err != nil {
		return fmt.Errorf("export %s: %w", rev, err)
	}
	return nil
}

// maxExportDepth bounds the nesting of exported directories (as go-git's
// tree walker does).
const maxExportDepth = 1024

// maxSymlinkTarget bounds what a symlink's blob may hold.
const maxSymlinkTarget = 4096

// exportTree writes the tree h at dir, a slash path below the writer's
// destination ("" for it).
func (r *Repo) exportTree(w *fsafe.TreeWriter, h plumbing.Hash, dir string, depth int) error {
	if depth > maxExportDepth {
		return fmt.Errorf("%s: directories nested more than %d deep", dir, maxExportDepth)
	}
	entries, err := r.readTree(h)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if bytes.IndexByte(e.name, '/') >= 0 {
			return fmt.Errorf("tree entry %q in %s has an unsafe name (a slash)", e.name, path.Join("/", dir))
		}
		p := path.Join(dir, string(e.name))
		switch canonicalMode(e.mode) {
		case modeTree:
			if err := w.Mkdir(p); err != nil {
				return err
			}
			if err := r.exportTree(w, e.hash, p, depth+1); err != nil {
				return err
			}
		case modeGitlink:
			if err := w.Mkdir(p); err != nil {
				return err
			}
		case modeSymlink:
			target, _, err := r.readObject(plumbing.BlobObject, e.hash)
			if err != nil {
				return fmt.Errorf("symlink %s: %w", p, err)
			}
			if len(target) > maxSymlinkTarget {
				return fmt.Errorf("symlink %s: its target is %d bytes long", p, len(target))
			}
			if err := w.Symlink(string(target), p); err != nil && !errors.Is(err, fsafe.ErrSymlinkOut) {
				return err
			}
		default:
			data, _, err := r.readObject(plumbing.BlobObject, e.hash)
			if err != nil {
				return fmt.Errorf("file %s: %w", p, err)
			}
			if err := w.WriteFile(p, bytes.NewReader(data), canonicalMode(e.mode) == modeExec); err != nil {
				return err
			}
		}
	}
	return nil
}
