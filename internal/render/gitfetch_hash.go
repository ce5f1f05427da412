package render

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gitops-pipe/pipe/internal/lazyre"
)

// hashLikeRe matches a ref that may be a commit hash, full or abbreviated
// (git's shortest abbreviation is 4 hex digits; pipe takes 7, what git
// shows by default).
var hashLikeRe = lazyre.New(`^[0-9a-fA-F]{7,64}$`)

// isFullHash reports whether ref is a whole commit hash, which is never
// taken for a branch or tag name. go-git reads SHA-1 repositories: 40 hex
// digits.
func isFullHash(ref string) bool { return plumbing.IsHash(ref) }

// abbreviated reports whether ref can only be an abbreviated commit hash
// when it names no branch or tag: hex, shorter than a full hash.
func abbreviated(ref string) bool {
	return hashLikeRe().MatchString(ref) && len(ref) < 2*len(plumbing.ZeroHash)
}

// hashPrefixer is the object storage that lists hashes by prefix (go-git's
// filesystem storage).
type hashPrefixer interface {
	HashesWithPrefix(prefix []byte) ([]plumbing.Hash, error)
}

// abbrevCommit finds the commit (held with its tree) whose hash starts
// with prefix, an abbreviated hash. ok is false when repo holds none; two
// or more are an error listing them.
func abbrevCommit(repo *git.Repository, prefix string) (h plumbing.Hash, ok bool, err error) {
	prefix = strings.ToLower(prefix)
	var found []plumbing.Hash
	add := func(c plumbing.Hash) {
		if strings.HasPrefix(c.String(), prefix) && hasCommit(repo, c) {
			found = append(found, c)
		}
	}
	if ps, isPS := repo.Storer.(hashPrefixer); isPS {
		b, err := hex.DecodeString(prefix[:len(prefix)&^1])
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		hs, err := ps.HashesWithPrefix(b)
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		for _, c := range hs {
			add(c)
		}
	} else {
		iter, err := repo.CommitObjects()
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		err = iter.ForEach(func(c *object.Commit) error { add(c.Hash); return nil })
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
	}
	switch len(found) {
	case 0:
		return plumbing.ZeroHash, false, nil
	case 1:
		return found[0], true, nil
	}
	names := make([]string, len(found))
	for i, c := range found {
		names[i] = c.String()
	}
	return plumbing.ZeroHash, false, fmt.Errorf("the abbreviated commit hash %s is ambiguous: %d commits start with it (%s): give the full commit hash",
		prefix, len(found), strings.Join(names, ", "))
}

// localRef resolves ref (a tag, a branch or a commit hash, full or
// abbreviated) in repo, to a commit repo holds with its tree; an
// ambiguous abbreviated hash is an error.
func localRef(repo *git.Repository, ref string) (plumbing.Hash, bool, error) {
	if isFullHash(ref) {
		h := plumbing.NewHash(ref)
		return h, hasCommit(repo, h), nil
	}
	for _, n := range tagFirst(ref) {
		if h, err := repo.ResolveRevision(plumbing.Revision(n)); err == nil && hasCommit(repo, *h) {
			return *h, true, nil
		}
	}
	if abbreviated(ref) {
		return abbrevCommit(repo, ref)
	}
	return plumbing.ZeroHash, false, nil
}

// hasCommit reports whether repo holds commit h and its root tree.
func hasCommit(repo *git.Repository, h plumbing.Hash) bool {
	c, err := repo.CommitObject(h)
	if err != nil {
		return false
	}
	_, err = c.Tree()
	return err == nil
}
