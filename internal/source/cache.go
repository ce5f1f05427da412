package source

import (
	"container/list"

	"github.com/go-git/go-git/v5/plumbing"
)

// objectCache keeps recently read objects (and the delta bases they were
// rebuilt from) up to a total size, evicting the least recently used.
type objectCache struct {
	max, size int
	order     *list.List // front: most recent
	byKey     map[cacheKey]*list.Element
}

type cacheKey struct {
	p   *pack
	off int64
}

type cacheEntry struct {
	key  cacheKey
	t    plumbing.ObjectType
	data []byte
}

func newObjectCache(max int) *objectCache {
	return &objectCache{max: max, order: list.New(), byKey: map[cacheKey]*list.Element{}}
}

func (c *objectCache) get(p *pack, off int64) (*cacheEntry, bool) {
	e, ok := c.byKey[cacheKey{p, off}]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheEntry), true
}

func (c *objectCache) put(p *pack, off int64, t plumbing.ObjectType, data []byte) {
	k := cacheKey{p, off}
	if _, ok := c.byKey[k]; ok || len(data) > c.max/4 {
		return
	}
	c.byKey[k] = c.order.PushFront(&cacheEntry{key: k, t: t, data: data})
	c.size += len(data)
	for c.size > c.max {
		last := c.order.Back()
		e := last.Value.(*cacheEntry)
		c.order.Remove(last)
		delete(c.byKey, e.key)
		c.size -= len(e.data)
	}
}
