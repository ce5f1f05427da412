package state

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// notesTree is the content of a notes ref's tree: which object each note is
// attached to, and the entries that are not notes. Git's layout is a tree
// whose entries are named by the annotated object's hex hash, either flat
// (<40 hex>) or fanned out into 2-hex directories (<2>/<38>, <2>/<2>/<36>,
// ...), possibly mixed; anything else is a "non-note" that git keeps as it
// is, and so does pipe.
type notesTree struct {
	// notes maps an annotated object (40 lower-case hex) to its note
	// blob(s): more than one when the same object has a note at two
	// fan-out depths, which git reads as their concatenation.
	notes    map[string][]plumbing.Hash
	nonNotes []nonNote
	// summary is the content of summaryFile (nil if absent or unreadable);
	// the file itself is among nonNotes, so every write keeps it.
	summary *Summary
}

// nonNote is a tree entry of a notes tree that is not a note, with its full
// path from the root.
type nonNote struct {
	path string
	mode filemode.FileMode
	hash plumbing.Hash
}

// maxFanout bounds the recursion into fan-out directories: 19 levels of
// 2-hex directories still leave a 2-hex note name.
const maxFanout = 19

// readNotesTree reads the notes tree root, at any fan-out depth. Problems
// (an unreadable subtree, an entry that is neither a note nor a fan-out
// directory) are reported through warn and the rest is still read.
func readNotesTree(s storer.EncodedObjectStorer, root plumbing.Hash, warn func(string)) (*notesTree, error) {
	nt := &notesTree{notes: map[string][]plumbing.Hash{}}
	t, err := object.GetTree(s, root)
	if err != nil {
		return nil, fmt.Errorf("read notes tree %s: %w", root, err)
	}
	nt.walk(s, t, "", "", 0, warn)
	return nt, nil
}

func (nt *notesTree) walk(s storer.EncodedObjectStorer, t *object.Tree, hexPrefix, dir string, depth int, warn func(string)) {
	for _, e := range t.Entries {
		name := strings.ToLower(e.Name)
		full := hexPrefix + name
		p := path.Join(dir, e.Name)
		switch {
		case isHex(name) && len(full) == 40 && e.Mode.IsFile() && e.Mode != filemode.Symlink:
			nt.notes[full] = append(nt.notes[full], e.Hash)
		case isHex(name) && len(name) == 2 && len(full) < 40 && e.Mode == filemode.Dir && depth < maxFanout:
			sub, err := object.GetTree(s, e.Hash)
			if err != nil {
				warn(fmt.Sprintf("fan-out directory %s cannot be read (%v); its notes are skipped in this read", SafeText(p), err))
				nt.nonNotes = append(nt.nonNotes, nonNote{path: p, mode: e.Mode, hash: e.Hash})
				continue
			}
			nt.walk(s, sub, full, p, depth+1, warn)
		case p == summaryFile && e.Mode == filemode.Regular:
			nt.nonNotes = append(nt.nonNotes, nonNote{path: p, mode: e.Mode, hash: e.Hash})
			sum, err := readSummary(s, e.Hash)
			if err != nil {
				warn(fmt.Sprintf("%s cannot be read (%v); kept as it is", summaryFile, err))
				continue
			}
			nt.summary = sum
		default:
			warn(fmt.Sprintf("tree entry %s (mode %s) is not a note; kept as it is", SafeText(p), e.Mode))
			nt.nonNotes = append(nt.nonNotes, nonNote{path: p, mode: e.Mode, hash: e.Hash})
		}
	}
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// readBlob returns the content of a blob of at most limit bytes; a larger
// one is not read (ErrNoteTooLarge).
func readBlob(s storer.EncodedObjectStorer, h plumbing.Hash, limit int64) ([]byte, error) {
	if n, err := blobSize(s, h); err == nil && n > limit {
		return nil, &sizeError{what: "blob " + h.String(), size: n, limit: limit}
	}
	return readSizedBlob(s, h, limit)
}

// readSizedBlob is readBlob for a blob whose size the caller checked.
func readSizedBlob(s storer.EncodedObjectStorer, h plumbing.Hash, limit int64) ([]byte, error) {
	o, err := s.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, err
	}
	if o.Size() > limit {
		return nil, &sizeError{what: "blob " + h.String(), size: o.Size(), limit: limit}
	}
	r, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && int64(len(data)) > limit {
		return nil, &sizeError{what: "blob " + h.String(), size: int64(len(data)), limit: limit}
	}
	return data, err
}

// blobSize returns the size of an object from its header (loose object or
// pack entry), without inflating its content.
func blobSize(s storer.EncodedObjectStorer, h plumbing.Hash) (int64, error) {
	if sz, ok := s.(interface {
		EncodedObjectSize(plumbing.Hash) (int64, error)
	}); ok {
		if n, err := sz.EncodedObjectSize(h); err == nil {
			return n, nil
		}
	}
	o, err := s.EncodedObject(plumbing.BlobObject, h) // an alternate's object, memory storage
	if err != nil {
		return 0, err
	}
	return o.Size(), nil
}

// writeNotesTree stores the tree for notes (annotated object -> note blob)
// and nonNotes and returns its hash. The layout is the one git's notes.c
// writes for the same notes (determine_fanout): a directory level splits
// into 2-hex subdirectories when each of its 16 possible next hex digits
// starts at least two of its notes, which for random hashes happens at a few
// hundred notes per level; otherwise the notes are files named by the rest
// of their hex. git reads any layout; writing git's own keeps `git notes`
// from rewriting the whole tree on its next edit, and keeps trees that
// git and pipe each write for the same notes identical.
func writeNotesTree(s storer.EncodedObjectStorer, notes map[string]plumbing.Hash, nonNotes []nonNote) (plumbing.Hash, error) {
	keys := make([]string, 0, len(notes))
	for k := range notes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	root := layoutDir(keys, notes, 0)
	for _, nn := range nonNotes {
		root.insertNonNote(nn)
	}
	return root.store(s)
}

// dirNode is a directory being written.
type dirNode struct {
	entries []object.TreeEntry
	subdirs map[string]*dirNode
}

func newDirNode() *dirNode { return &dirNode{subdirs: map[string]*dirNode{}} }

// layoutDir lays out keys (sorted, sharing their first b bytes) in the
// directory at byte depth b.
func layoutDir(keys []string, notes map[string]plumbing.Hash, b int) *dirNode {
	d := newDirNode()
	if b < maxFanout && fansOut(keys, 2*b) {
		for i := 0; i < len(keys); {
			j := i
			for j < len(keys) && keys[j][2*b:2*b+2] == keys[i][2*b:2*b+2] {
				j++
			}
			d.subdirs[keys[i][2*b:2*b+2]] = layoutDir(keys[i:j], notes, b+1)
			i = j
		}
		return d
	}
	for _, k := range keys {
		d.entries = append(d.entries, object.TreeEntry{Name: k[2*b:], Mode: filemode.Regular, Hash: notes[k]})
	}
	return d
}

// fansOut reports whether every one of the 16 hex digits at position pos
// begins at least two of keys (git's determine_fanout).
func fansOut(keys []string, pos int) bool {
	var count [16]int
	for _, k := range keys {
		c := k[pos]
		if c <= '9' {
			count[c-'0']++
		} else {
			count[c-'a'+10]++
		}
	}
	for _, n := range count {
		if n < 2 {
			return false
		}
	}
	return true
}

// insertNonNote puts a non-note entry back at its path. One whose path is
// now taken by a note or a fan-out directory moves under
// _pipe_displaced/ rather than being lost.
func (d *dirNode) insertNonNote(nn nonNote) {
	if !d.place(strings.Split(nn.path, "/"), nn) {
		d.place(append([]string{"_pipe_displaced"}, strings.Split(nn.path, "/")...), nn)
	}
}

func (d *dirNode) place(parts []string, nn nonNote) bool {
	if len(parts) == 1 {
		if d.subdirs[parts[0]] != nil || d.hasEntry(parts[0]) {
			return false
		}
		d.entries = append(d.entries, object.TreeEntry{Name: parts[0], Mode: nn.mode, Hash: nn.hash})
		return true
	}
	if d.hasEntry(parts[0]) {
		return false
	}
	sub := d.subdirs[parts[0]]
	if sub == nil {
		sub = newDirNode()
		d.subdirs[parts[0]] = sub
	}
	return sub.place(parts[1:], nn)
}

func (d *dirNode) hasEntry(name string) bool {
	for _, e := range d.entries {
		if e.Name == name {
			return true
		}
	}
	return false
}

// store writes the directory and its subdirectories, skipping trees the
// repository already has, and returns the directory's tree hash.
func (d *dirNode) store(s storer.EncodedObjectStorer) (plumbing.Hash, error) {
	entries := append([]object.TreeEntry(nil), d.entries...)
	for name, sub := range d.subdirs {
		h, err := sub.store(s)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
	}
	sort.Sort(object.TreeEntrySorter(entries))
	return storeObject(s, &object.Tree{Entries: entries})
}

// encoder is an object that encodes itself (tree, commit).
type encoder interface {
	Encode(plumbing.EncodedObject) error
}

// storeObject encodes obj and writes it unless the storage has it already.
func storeObject(s storer.EncodedObjectStorer, obj encoder) (plumbing.Hash, error) {
	o := &plumbing.MemoryObject{}
	if err := obj.Encode(o); err != nil {
		return plumbing.ZeroHash, err
	}
	h := o.Hash()
	if s.HasEncodedObject(h) == nil {
		return h, nil
	}
	return s.SetEncodedObject(o)
}

// storeBlob writes a blob unless the storage has it already.
func storeBlob(s storer.EncodedObjectStorer, data []byte) (plumbing.Hash, error) {
	o := &plumbing.MemoryObject{}
	o.SetType(plumbing.BlobObject)
	o.SetSize(int64(len(data)))
	if _, err := o.Write(data); err != nil {
		return plumbing.ZeroHash, err
	}
	h := o.Hash()
	if s.HasEncodedObject(h) == nil {
		return h, nil
	}
	return s.SetEncodedObject(o)
}
