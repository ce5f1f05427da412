package state

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

// TestNotesTreeLayoutMatchesGit adds notes one by one with `git notes add`
// and checks, at several sizes across the flat/fan-out switch, that pipe
// reads exactly git's notes and that writing the same notes gives git's
// tree, hash for hash.
func TestNotesTreeLayoutMatchesGit(t *testing.T) {
	root := t.TempDir()
	bare := gitserver.NewBareRepo(t, root, "r.git")
	commits := seedCommits(t, bare, 300)
	repo, err := git.PlainOpen(bare)
	if err != nil {
		t.Fatal(err)
	}
	checkpoints := map[int]bool{1: true, 17: true, 40: true, 120: true, 300: true}
	sawFlat, sawFanout := false, false
	for i, c := range commits {
		gitserver.Git(t, bare, "notes", "--ref=pipe/apps/x", "add", "-m", fmt.Sprintf("note %d", i), c)
		if !checkpoints[i+1] {
			continue
		}
		ref, err := repo.Reference("refs/notes/pipe/apps/x", true)
		if err != nil {
			t.Fatal(err)
		}
		cm, _ := repo.CommitObject(ref.Hash())
		nt, err := readNotesTree(repo.Storer, cm.TreeHash, func(m string) { t.Errorf("warning: %s", m) })
		if err != nil {
			t.Fatal(err)
		}
		if len(nt.notes) != i+1 {
			t.Fatalf("%d notes: read %d", i+1, len(nt.notes))
		}
		flat := map[string]plumbing.Hash{}
		for k, bs := range nt.notes {
			flat[k] = bs[0]
		}
		got, err := writeNotesTree(repo.Storer, flat, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got != cm.TreeHash {
			t.Errorf("%d notes: pipe wrote tree %s, git wrote %s\ngit:\n%s", i+1, got, cm.TreeHash,
				gitserver.Git(t, bare, "ls-tree", cm.TreeHash.String()))
		}
		tree, _ := object.GetTree(repo.Storer, cm.TreeHash)
		if len(tree.Entries[0].Name) == 40 {
			sawFlat = true
		} else {
			sawFanout = true
		}
	}
	if !sawFlat || !sawFanout {
		t.Errorf("the checkpoints should cover both layouts: flat %v, fan-out %v", sawFlat, sawFanout)
	}
}

// TestReadsDeepAndMixedFanout reads a hand-built tree mixing flat, 2/38 and
// 2/2/36 paths plus non-note entries, as git would (git reads any depth).
func TestReadsDeepAndMixedFanout(t *testing.T) {
	root := t.TempDir()
	bare := gitserver.NewBareRepo(t, root, "r.git")
	repo, _ := git.PlainOpen(bare)
	blob, _ := storeBlob(repo.Storer, []byte("x\n"))
	keys := []string{strings.Repeat("a", 40), strings.Repeat("b", 40), strings.Repeat("c", 40)}
	// a: flat; b: 2/38; c: 2/2/36; plus README and a non-hex directory.
	sub2, _ := storeObject(repo.Storer, treeOf(entry(keys[2][4:], blob)))
	sub1c, _ := storeObject(repo.Storer, treeOf(dirEntry(keys[2][2:4], sub2)))
	sub1b, _ := storeObject(repo.Storer, treeOf(entry(keys[1][2:], blob)))
	other, _ := storeObject(repo.Storer, treeOf(entry("file", blob)))
	rootTree, _ := storeObject(repo.Storer, treeOf(entry("README", blob), entry(keys[0], blob),
		dirEntry("bb", sub1b), dirEntry("cc", sub1c), dirEntry("zz-not-hex", other)))
	var warns []string
	nt, err := readNotesTree(repo.Storer, rootTree, func(m string) { warns = append(warns, m) })
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if len(nt.notes[k]) != 1 {
			t.Errorf("note %s not read: %v", k, nt.notes)
		}
	}
	if len(nt.nonNotes) != 2 || len(warns) != 2 {
		t.Errorf("non-notes %v, warnings %v", nt.nonNotes, warns)
	}
	// Written back: notes in git's layout, non-notes where they were.
	flat := map[string]plumbing.Hash{}
	for k, bs := range nt.notes {
		flat[k] = bs[0]
	}
	h, err := writeNotesTree(repo.Storer, flat, nt.nonNotes)
	if err != nil {
		t.Fatal(err)
	}
	ls := gitserver.Git(t, bare, "ls-tree", "-r", "--name-only", h.String())
	want := "README\n" + keys[0] + "\n" + keys[1] + "\n" + keys[2] + "\nzz-not-hex/file\n"
	if ls != want {
		t.Errorf("rewritten tree:\n%s\nwant:\n%s", ls, want)
	}
}

func entry(name string, h plumbing.Hash) object.TreeEntry {
	return object.TreeEntry{Name: name, Mode: 0o100644, Hash: h}
}

func dirEntry(name string, h plumbing.Hash) object.TreeEntry {
	return object.TreeEntry{Name: name, Mode: 0o040000, Hash: h}
}

func treeOf(es ...object.TreeEntry) *object.Tree {
	t := &object.Tree{Entries: es}
	sortEntries(t.Entries)
	return t
}

func sortEntries(es []object.TreeEntry) { sort.Sort(object.TreeEntrySorter(es)) }
