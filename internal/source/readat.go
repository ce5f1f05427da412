package source

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// ErrFileNotFound is returned by ReadFileAt for a path the commit does not
// have as a regular file.
var ErrFileNotFound = errors.New("no such file in the commit")

// ReadFileAt returns the content of the regular file at path (slash
// separated, relative to the repository root) in the commit rev, reading
// Git objects only: the working tree is not looked at, and a symlink is not
// followed (it is ErrFileNotFound, like a missing file). Files over max
// bytes are refused.
func (r *Repo) ReadFileAt(rev Revision, path string, max int64) ([]byte, error) {
	c, err := r.readCommitHeader(rev.hash())
	if err != nil {
		return nil, r.walkError(rev.Name, rev.Name, rev.hash(), err)
	}
	h := c.tree
	parts := strings.Split(path, "/")
	for i, name := range parts {
		entries, err := r.readTree(h)
		if err != nil {
			return nil, err
		}
		var found *entry
		for j := range entries {
			if string(entries[j].name) == name {
				found = &entries[j]
				break
			}
		}
		last := i == len(parts)-1
		switch {
		case found == nil, !last && found.mode != modeTree,
			last && found.mode != modeFile && found.mode != modeExec:
			return nil, fmt.Errorf("%s at %s: %w", path, rev.Short(), ErrFileNotFound)
		}
		h = found.hash
	}
	data, _, err := r.readObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w", path, rev.Short(), err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s at %s is %d bytes, over the %d-byte limit", path, rev.Short(), len(data), max)
	}
	return bytes.Clone(data), nil
}
