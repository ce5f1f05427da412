package source

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// Git tree entry modes, canonicalised as git does when it compares trees.
const (
	modeTree    uint32 = 0o040000
	modeFile    uint32 = 0o100644
	modeExec    uint32 = 0o100755
	modeSymlink uint32 = 0o120000
	modeGitlink uint32 = 0o160000
)

// entry is one tree entry; name points into the tree object's content.
type entry struct {
	name []byte
	mode uint32
	hash plumbing.Hash
}

func (e *entry) isTree() bool { return e.mode == modeTree }

// ChangedFiles lists the files (repo-relative, slash-separated) whose content,
// mode or type differs between the trees of base and head, in git's order:
// what `git diff --name-only --no-renames base head` prints. A rename is a
// deletion and an addition, so both paths are listed; a submodule is one entry
// listed when the commit it points to changes.
//
// Only the subtrees whose hashes differ are read, so the cost follows the size
// of the change, not of the repository or of the history between the commits.
func (r *Repo) ChangedFiles(base, head Revision) ([]string, error) {
	trees := [2]plumbing.Hash{}
	for i, rev := range []Revision{base, head} {
		c, err := r.readCommitHeader(rev.hash())
		if err != nil {
			return nil, r.walkError(rev.Name, rev.Name, rev.hash(), err)
		}
		trees[i] = c.tree
	}
	d := differ{r: r}
	if err := d.diff(trees[0], trees[1]); err != nil {
		return nil, fmt.Errorf("compare %s and %s: %w", base, head, err)
	}
	return d.out, nil
}

type differ struct {
	r    *Repo
	path []byte // the directory being compared: empty or ending with "/"
	out  []string
}

// diff appends the paths that differ between trees a and b of d.path.
func (d *differ) diff(a, b plumbing.Hash) error {
	ea, err := d.r.readTree(a)
	if err != nil {
		return err
	}
	eb, err := d.r.readTree(b)
	if err != nil {
		return err
	}
	i, j := 0, 0
	for i < len(ea) || j < len(eb) {
		var c int
		switch {
		case i == len(ea):
			c = 1
		case j == len(eb):
			c = -1
		default:
			c = compareEntries(&ea[i], &eb[j])
		}
		switch {
		case c < 0:
			err = d.all(&ea[i])
			i++
		case c > 0:
			err = d.all(&eb[j])
			j++
		default:
			x, y := &ea[i], &eb[j]
			i, j = i+1, j+1
			if x.hash == y.hash && x.mode == y.mode {
				continue
			}
			if x.isTree() { // so is y: compareEntries tells trees from the rest
				n := d.enter(x.name)
				err = d.diff(x.hash, y.hash)
				d.path = d.path[:n]
			} else {
				d.emit(x.name)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// all appends every file of an entry that exists on one side only.
func (d *differ) all(e *entry) error {
	if !e.isTree() {
		d.emit(e.name)
		return nil
	}
	es, err := d.r.readTree(e.hash)
	if err != nil {
		return err
	}
	n := d.enter(e.name)
	defer func() { d.path = d.path[:n] }()
	for k := range es {
		if err := d.all(&es[k]); err != nil {
			return err
		}
	}
	return nil
}

// enter descends into directory name and returns the length to restore.
func (d *differ) enter(name []byte) int {
	n := len(d.path)
	d.path = append(append(d.path, name...), '/')
	return n
}

func (d *differ) emit(name []byte) { d.out = append(d.out, string(d.path)+string(name)) }

// compareEntries orders entries as git sorts a tree: by name, with a tree's
// name compared as if it ended in "/". A file and a directory of the same
// name are therefore different entries (a type change is a deletion plus an
// addition, as git reports it).
func compareEntries(a, b *entry) int {
	n := min(len(a.name), len(b.name))
	if c := bytes.Compare(a.name[:n], b.name[:n]); c != 0 {
		return c
	}
	ca, cb := nextChar(a, n), nextChar(b, n)
	switch {
	case ca < cb:
		return -1
	case ca > cb:
		return 1
	}
	return 0
}

func nextChar(e *entry, n int) int {
	if n < len(e.name) {
		return int(e.name[n])
	}
	if e.isTree() {
		return '/'
	}
	return 0
}

// treeCache keeps the last trees parsed: walking a history compares each
// commit's trees with its parent's, which the commit before read already.
type treeCache struct {
	mu   sync.Mutex
	next int
	slot [32]struct {
		h  plumbing.Hash
		es []entry
	}
}

func (c *treeCache) get(h plumbing.Hash) ([]entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.slot {
		if c.slot[i].es != nil && c.slot[i].h == h {
			return c.slot[i].es, true
		}
	}
	return nil, false
}

func (c *treeCache) put(h plumbing.Hash, es []entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slot[c.next].h, c.slot[c.next].es = h, es
	c.next = (c.next + 1) % len(c.slot)
}

// readTree reads and parses a tree object. The entries are shared: callers
// must not modify them.
func (r *Repo) readTree(h plumbing.Hash) ([]entry, error) {
	if es, ok := r.trees.get(h); ok {
		return es, nil
	}
	es, err := r.readTreeUncached(h)
	if err == nil {
		r.trees.put(h, es)
	}
	return es, err
}

func (r *Repo) readTreeUncached(h plumbing.Hash) ([]entry, error) {
	data, _, err := r.readObject(plumbing.TreeObject, h)
	if err != nil {
		if isNotFound(err) {
			return nil, &Error{Subject: "tree " + h.String(), Msg: "not in this clone",
				Hint: r.missingHint(), Err: ErrMissingObject}
		}
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	return parseTree(h, data)
}

// parseTree parses "<mode> <name>\x00<20-byte hash>" records.
func parseTree(h plumbing.Hash, data []byte) ([]entry, error) {
	es := make([]entry, 0, bytes.Count(data, []byte{0}))
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		nul := bytes.IndexByte(data, 0)
		if sp <= 0 || nul < sp+2 || len(data) < nul+1+len(plumbing.ZeroHash) {
			return nil, fmt.Errorf("tree %s: malformed entry", h)
		}
		mode, ok := parseMode(data[:sp])
		if !ok {
			return nil, fmt.Errorf("tree %s: malformed mode %q", h, data[:sp])
		}
		var e entry
		e.mode = canonicalMode(mode)
		e.name = data[sp+1 : nul]
		copy(e.hash[:], data[nul+1:])
		data = data[nul+1+len(plumbing.ZeroHash):]
		es = append(es, e)
	}
	return es, nil
}

// canonicalMode maps a mode to one of the five git compares with, as git's
// canon_mode does (old trees may hold e.g. 100664).
// parseMode reads an octal mode as Git writes it (at most 7 digits),
// without the allocation of strconv on a hot path.
func parseMode(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 7 {
		return 0, false
	}
	var m uint32
	for _, c := range b {
		if c < '0' || c > '7' {
			return 0, false
		}
		m = m<<3 | uint32(c-'0')
	}
	return m, true
}

func canonicalMode(m uint32) uint32 {
	switch m & 0o170000 {
	case 0o100000:
		if m&0o100 != 0 {
			return modeExec
		}
		return modeFile
	case 0o040000:
		return modeTree
	case 0o120000:
		return modeSymlink
	default:
		return modeGitlink
	}
}
