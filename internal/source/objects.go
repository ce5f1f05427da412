package source

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing"
)

// readObject returns the content of the object h, which must be of type t
// (plumbing.AnyObject accepts any) and its actual type.
// The content may be shared with the object cache: callers must not modify it.
func (r *Repo) readObject(t plumbing.ObjectType, h plumbing.Hash) ([]byte, plumbing.ObjectType, error) {
	if r.packs != nil {
		got, data, found, err := r.packs.get(h)
		switch {
		case !found:
		case err != nil:
			return nil, 0, err
		case t != plumbing.AnyObject && got != t:
			return nil, 0, plumbing.ErrObjectNotFound // as go-git's storage says it
		default:
			return data, got, nil
		}
	}
	obj, err := r.st.EncodedObject(t, h)
	if err != nil {
		return nil, 0, err
	}
	rd, err := obj.Reader()
	if err != nil {
		return nil, 0, err
	}
	defer rd.Close()
	var buf bytes.Buffer
	buf.Grow(int(obj.Size()))
	if _, err := buf.ReadFrom(rd); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), obj.Type(), nil
}

// commitHeader is the part of a commit that history walks need.
type commitHeader struct {
	tree    plumbing.Hash
	parents []plumbing.Hash
	// when is the committer time in Unix seconds.
	when int64
}

// readCommitHeader reads a commit's tree, parents and committer time without
// decoding the rest of it.
func (r *Repo) readCommitHeader(h plumbing.Hash) (commitHeader, error) {
	data, _, err := r.readObject(plumbing.CommitObject, h)
	if err != nil {
		return commitHeader{}, err
	}
	var c commitHeader
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) == 0 {
			break // end of headers
		}
		key, val, _ := bytes.Cut(line, []byte{' '})
		switch string(key) {
		case "tree":
			c.tree = plumbing.NewHash(string(val))
		case "parent":
			c.parents = append(c.parents, plumbing.NewHash(string(val)))
		case "committer":
			c.when = signatureTime(val)
		}
	}
	if c.tree.IsZero() {
		return c, fmt.Errorf("commit %s: malformed: no tree", h)
	}
	return c, nil
}

// signatureTime extracts the Unix time from "Name <email> 1700000000 +0000".
func signatureTime(sig []byte) int64 {
	i := bytes.LastIndexByte(sig, '>')
	if i < 0 {
		return 0
	}
	fields := bytes.Fields(sig[i+1:])
	if len(fields) == 0 {
		return 0
	}
	t, _ := strconv.ParseInt(string(fields[0]), 10, 64)
	return t
}
