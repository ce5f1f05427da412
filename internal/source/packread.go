package source

import (
	"compress/zlib"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// maxChain bounds delta chains (git writes at most 50 by default, 4095 ever).
const maxChain = 10000

var errBaseNotPacked = errors.New("delta base not in the packs")

// read returns the object at off, resolving its delta chain down to a cached
// or whole base and patching back up. depth counts the chain links already
// followed (through REF deltas, which may cross packs).
func (s *packSet) read(p *pack, off int64, depth int) (plumbing.ObjectType, []byte, error) {
	type delta struct {
		off, data int64
		size      int64
	}
	var chain []delta
	var t plumbing.ObjectType
	var base []byte
	for {
		if e, ok := s.cache.get(p, off); ok {
			t, base = e.t, e.data
			break
		}
		h, err := parseHeader(p.data, off)
		if err != nil {
			return 0, nil, err
		}
		if h.t == plumbing.OFSDeltaObject || h.t == plumbing.REFDeltaObject {
			if depth+len(chain) >= maxChain {
				return 0, nil, errors.New("delta chain too long")
			}
			chain = append(chain, delta{off: off, data: h.data, size: h.size})
			if h.t == plumbing.OFSDeltaObject {
				off = h.base
				continue
			}
			var found bool
			t, base, found, err = s.getDepth(h.ref, depth+len(chain))
			if err == nil && !found {
				err = errBaseNotPacked
			}
			if err != nil {
				return 0, nil, err
			}
			break
		}
		if base, err = s.inflate(p.data, h.data, h.size); err != nil {
			return 0, nil, err
		}
		t = h.t
		s.cache.put(p, off, t, base)
		break
	}
	for i := len(chain) - 1; i >= 0; i-- {
		d := chain[i]
		instr, err := s.inflate(p.data, d.data, d.size)
		if err != nil {
			return 0, nil, err
		}
		if base, err = packfile.PatchDelta(base, instr); err != nil {
			return 0, nil, err
		}
		s.cache.put(p, d.off, t, base)
	}
	return t, base, nil
}

type objHeader struct {
	t    plumbing.ObjectType
	size int64 // inflated size of the object or of the delta
	data int64 // where the compressed data starts
	base int64 // OFS delta: the base's offset
	ref  plumbing.Hash
}

var errCorrupt = errors.New("corrupt pack")

// parseHeader decodes the object header at off.
func parseHeader(data []byte, off int64) (objHeader, error) {
	var h objHeader
	if off < 12 || off >= int64(len(data)) {
		return h, errCorrupt
	}
	i := off
	c := data[i]
	i++
	h.t = plumbing.ObjectType((c >> 4) & 7)
	h.size = int64(c & 15)
	for shift := 4; c&0x80 != 0; shift += 7 {
		if i >= int64(len(data)) || shift > 56 {
			return h, errCorrupt
		}
		c = data[i]
		i++
		h.size |= int64(c&0x7f) << shift
	}
	switch h.t {
	case plumbing.OFSDeltaObject:
		if i >= int64(len(data)) {
			return h, errCorrupt
		}
		c = data[i]
		i++
		rel := int64(c & 0x7f)
		for c&0x80 != 0 {
			if i >= int64(len(data)) || rel > 1<<55 {
				return h, errCorrupt
			}
			c = data[i]
			i++
			rel = (rel+1)<<7 | int64(c&0x7f)
		}
		if h.base = off - rel; rel <= 0 || h.base < 12 {
			return h, errCorrupt
		}
	case plumbing.REFDeltaObject:
		if i+20 > int64(len(data)) {
			return h, errCorrupt
		}
		copy(h.ref[:], data[i:i+20])
		i += 20
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
	default:
		return h, errCorrupt
	}
	h.data = i
	return h, nil
}

// inflate decompresses size bytes of zlib data starting at data[at].
func (s *packSet) inflate(data []byte, at, size int64) ([]byte, error) {
	if size < 0 || size > int64(len(data))*1032 { // zlib expands at most ~1032:1
		return nil, errCorrupt
	}
	s.br.Reset(data[at:])
	var err error
	if s.zr == nil {
		s.zr, err = zlib.NewReader(&s.br)
	} else {
		err = s.zr.(zlib.Resetter).Reset(&s.br, nil)
	}
	if err != nil {
		return nil, err
	}
	out := make([]byte, size)
	if _, err := io.ReadFull(s.zr, out); err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	return out, nil
}
