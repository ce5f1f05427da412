package source

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing"
)

// readObject returns the content of the object h, which must be of type t
// (plumbing.AnyObject accepts any) and its actual type.
func (r *Repo) readObject(t plumbing.ObjectType, h plumbing.Hash) ([]byte, plumbing.ObjectType, error) {
	obj, err := r.st.EncodedObject(t, h)
	if err != nil {
		return nil, 0, err
	}
	rd, err := obj.Reader()
	if err != nil {
		return nil, 0, err
	}
	defer rd.Close()
	buf := make([]byte, 0, obj.Size())
	for {
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
	return buf, obj.Type(), nil
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
