package render

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// writeTree writes the tree t, found at sub ("" for the root), below
// dir/sub: directories, regular and executable files, and symlinks that
// stay inside dir; submodules are left out. The tree may be crafted (two
// entries with one name, a symlink and then files below it, a symlink out
// of the tree): nothing is ever written through a symlink or outside dir,
// and such an entry is an error naming it.
func writeTree(ctx context.Context, t *object.Tree, dir, sub string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	w, err := fsafe.NewTreeWriter(dir)
	if err != nil {
		return err
	}
	w.Budget = maxFetchedTree
	defer w.Close()
	base := ""
	if sub != "" {
		for _, part := range strings.Split(sub, "/") {
			base = path.Join(base, part)
			if err := w.Mkdir(base); err != nil {
				return err
			}
		}
	}
	walker := object.NewTreeWalker(t, true, nil)
	defer walker.Close()
	for {
		name, e, err := walker.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		p := path.Join(base, name)
		switch e.Mode {
		case filemode.Dir:
			err = w.Mkdir(p)
		case filemode.Symlink:
			var target string
			if target, err = blobText(t, e, p); err == nil {
				err = w.Symlink(target, p)
			}
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			err = writeBlob(w, t, e, p)
		default:
			// Submodules: not part of the chart.
		}
		if err != nil {
			return err
		}
	}
	return w.Finish()
}

// maxSymlinkTarget bounds what a symlink's blob may hold.
const maxSymlinkTarget = 4096

func blobText(t *object.Tree, e object.TreeEntry, name string) (string, error) {
	f, err := t.TreeEntryFile(&e)
	if err != nil {
		return "", fmt.Errorf("tree entry %s: %w", name, err)
	}
	if f.Size > maxSymlinkTarget {
		return "", fmt.Errorf("symlink %s: its target is %d bytes long", name, f.Size)
	}
	return f.Contents()
}

func writeBlob(w *fsafe.TreeWriter, t *object.Tree, e object.TreeEntry, name string) error {
	f, err := t.TreeEntryFile(&e)
	if err != nil {
		return fmt.Errorf("tree entry %s: %w", name, err)
	}
	r, err := f.Reader()
	if err != nil {
		return fmt.Errorf("tree entry %s: %w", name, err)
	}
	defer r.Close()
	return w.WriteFile(name, r, e.Mode == filemode.Executable)
}

// maxFetchedTree caps what a chart fetched from Git may write: Helm reads
// at most 100 MiB of a chart, and a small pack can hold gigabytes.
const maxFetchedTree = 256 << 20
