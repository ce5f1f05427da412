package source

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// packSet reads commits and trees straight from the clone's pack files,
// mapped into memory: the index is binary-searched in place (nothing is
// loaded up front), objects are inflated from the mapped pack and deltas are
// applied on cached bases. go-git's own pack reader re-reads object headers
// through buffered file reads and hashes every object it caches, which made
// comparing two revisions several times slower than git; this is the part of
// go-git's storage that ChangedFiles and history walks need, done as git does
// it. Objects found in no pack (loose objects, alternates) are read by go-git.
type packSet struct {
	packs []*pack
	cache *objectCache
	br    bytes.Reader
	zr    io.ReadCloser
}

type pack struct {
	name      string
	idx, data []byte
	unmap     []func() error
	count     uint32
}

// openPacks maps the packs of the objects directory; none is not an error.
func openPacks(objectsDir string) (*packSet, error) {
	s := &packSet{cache: newObjectCache(int(objectCacheSize))}
	dir := filepath.Join(objectsDir, "pack")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".idx")
		if !ok || !strings.HasPrefix(name, "pack-") {
			continue
		}
		p, err := openPack(filepath.Join(dir, name))
		if err != nil {
			s.close()
			return nil, err
		}
		if p != nil {
			s.packs = append(s.packs, p)
		}
	}
	return s, nil
}

// openPack maps base.idx and base.pack; nil when the index is not version 2
// (go-git then reads that pack).
func openPack(base string) (*pack, error) {
	p := &pack{name: filepath.Base(base)}
	for _, f := range []struct {
		ext string
		dst *[]byte
	}{{".idx", &p.idx}, {".pack", &p.data}} {
		data, unmap, err := mapFile(base + f.ext)
		if errors.Is(err, os.ErrNotExist) {
			p.close()
			return nil, nil // a pack being written or removed
		}
		if err != nil {
			p.close()
			return nil, err
		}
		*f.dst = data
		p.unmap = append(p.unmap, unmap)
	}
	const fanoutEnd = 8 + 256*4
	if len(p.idx) < fanoutEnd || !bytes.Equal(p.idx[:8], []byte{0xff, 't', 'O', 'c', 0, 0, 0, 2}) ||
		len(p.data) < 12 || string(p.data[:4]) != "PACK" {
		p.close()
		return nil, nil
	}
	p.count = binary.BigEndian.Uint32(p.idx[fanoutEnd-4:])
	if uint64(len(p.idx)) < fanoutEnd+uint64(p.count)*28 {
		p.close()
		return nil, fmt.Errorf("pack index %s.idx is truncated", base)
	}
	return p, nil
}

func (p *pack) close() (err error) {
	for _, u := range p.unmap {
		err = errors.Join(err, u())
	}
	p.unmap = nil
	return err
}

func (s *packSet) close() (err error) {
	for _, p := range s.packs {
		err = errors.Join(err, p.close())
	}
	s.packs = nil
	return err
}

// offset finds h in the pack's index, as git does: the fan-out table bounds a
// binary search of the sorted names.
func (p *pack) offset(h plumbing.Hash) (int64, bool) {
	fanout := func(i int) uint32 {
		if i < 0 {
			return 0
		}
		return binary.BigEndian.Uint32(p.idx[8+i*4:])
	}
	lo, hi := fanout(int(h[0])-1), fanout(int(h[0]))
	names := p.idx[8+256*4:]
	for lo < hi {
		mid := lo + (hi-lo)/2
		switch c := bytes.Compare(names[mid*20:mid*20+20], h[:]); {
		case c == 0:
			return p.offsetAt(mid)
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return 0, false
}

func (p *pack) offsetAt(i uint32) (int64, bool) {
	off32 := 8 + 256*4 + int(p.count)*24
	o := binary.BigEndian.Uint32(p.idx[off32+int(i)*4:])
	if o&0x80000000 == 0 {
		return int64(o), true
	}
	at := off32 + int(p.count)*4 + int(o&0x7fffffff)*8
	if at+8 > len(p.idx) {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(p.idx[at:])), true
}

// get returns the type and content of h, found false when no pack holds it
// (or when it is a delta on a base outside the packs: go-git reads those).
func (s *packSet) get(h plumbing.Hash) (plumbing.ObjectType, []byte, bool, error) {
	return s.getDepth(h, 0)
}

func (s *packSet) getDepth(h plumbing.Hash, depth int) (plumbing.ObjectType, []byte, bool, error) {
	for _, p := range s.packs {
		if off, ok := p.offset(h); ok {
			t, data, err := s.read(p, off, depth)
			if errors.Is(err, errBaseNotPacked) {
				return 0, nil, false, nil
			}
			if err != nil {
				return 0, nil, true, fmt.Errorf("%s: object %s: %w", p.name, h, err)
			}
			return t, data, true, nil
		}
	}
	return 0, nil, false, nil
}
