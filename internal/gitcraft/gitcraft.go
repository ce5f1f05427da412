// Package gitcraft writes Git objects by hand, for tests: trees that hold
// what Git itself never writes (two entries of one name, symlinks out of
// the tree, unsafe names), as an attacker's push could.
package gitcraft

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// Repo is a repository in a temporary directory (Dir) whose objects are
// written by hand.
type Repo struct {
	Dir  string
	Repo *git.Repository
	t    testing.TB
}

// New initialises a repository (bare or not) in a temporary directory.
func New(t testing.TB, bare bool) *Repo {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, bare)
	if err != nil {
		t.Fatal(err)
	}
	return &Repo{Dir: dir, Repo: repo, t: t}
}

// Put stores an object of type typ with the given content.
func (c *Repo) Put(typ plumbing.ObjectType, data []byte) plumbing.Hash {
	c.t.Helper()
	o := c.Repo.Storer.NewEncodedObject()
	o.SetType(typ)
	o.SetSize(int64(len(data)))
	w, err := o.Writer()
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		c.t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		c.t.Fatal(err)
	}
	h, err := c.Repo.Storer.SetEncodedObject(o)
	if err != nil {
		c.t.Fatal(err)
	}
	return h
}

// Blob stores a blob.
func (c *Repo) Blob(s string) plumbing.Hash { return c.Put(plumbing.BlobObject, []byte(s)) }

// Entry is one raw tree entry: the mode as Git writes it ("100644",
// "100755", "120000", "40000"), the name and the object.
type Entry struct {
	Mode, Name string
	Hash       plumbing.Hash
}

// Tree encodes the entries in the order given: no sorting, no checks.
func (c *Repo) Tree(entries ...Entry) plumbing.Hash {
	var b bytes.Buffer
	for _, e := range entries {
		b.WriteString(e.Mode + " " + e.Name + "\x00")
		b.Write(e.Hash[:])
	}
	return c.Put(plumbing.TreeObject, b.Bytes())
}

// Commit makes a parentless commit of tree and returns its hash as hex.
func (c *Repo) Commit(tree plumbing.Hash) string {
	raw := "tree " + hex.EncodeToString(tree[:]) + "\n" +
		"author a <a@example.com> 1700000000 +0000\ncommitter a <a@example.com> 1700000000 +0000\n\ncrafted\n"
	return c.Put(plumbing.CommitObject, []byte(raw)).String()
}

// E is an Entry.
func E(mode, name string, hash plumbing.Hash) Entry { return Entry{Mode: mode, Name: name, Hash: hash} }
