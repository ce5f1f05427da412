package fetchcache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/gitops-pipe/pipe/internal/lazyre"
)

// maxRefSize bounds a ref file (a key is a URL and a name or two).
const maxRefSize = 64 << 10

// kindRe is what a ref kind may be: a directory name.
var kindRe = lazyre.New(`^[a-z0-9][a-z0-9-]{0,63}$`)

// ref is the content of a ref file. The key is not kept: it may be a URL
// holding a token, and cache directories are saved and restored by CI.
type ref struct {
	Digest string `json:"digest"`
}

func (c *Cache) refPath(kind, key string) (string, bool) {
	if c.dir == "" || !kindRe().MatchString(kind) {
		return "", false
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.dir, "refs", kind, hex.EncodeToString(sum[:])+".json"), true
}

// Ref returns the digest the ref (kind, key) points at. kind is a short
// lower-case word ("chart", "oci-manifest", ...); key is any string
// (URLs, names, versions).
func (c *Cache) Ref(kind, key string) (string, bool) {
	p, ok := c.refPath(kind, key)
	if !ok {
		return "", false
	}
	b, err := fsafe.ReadHostFile(p, maxRefSize)
	if err != nil {
		return "", false
	}
	var r ref
	if json.Unmarshal(b, &r) != nil {
		return "", false
	}
	if _, ok := ParseDigest(r.Digest); !ok {
		return "", false
	}
	if st, err := os.Stat(p); err == nil {
		c.used(p, st)
	}
	return r.Digest, true
}

// SetRef points the ref (kind, key) at digest. Failing to write is not
// an error (see Cache).
func (c *Cache) SetRef(kind, key, digest string) {
	p, ok := c.refPath(kind, key)
	if !ok || !c.writable() {
		return
	}
	if cur, ok := c.Ref(kind, key); ok && cur == digest {
		return
	}
	b, err := json.Marshal(ref{Digest: digest})
	if err == nil {
		err = writeAtomic(p, append(b, '\n'))
	}
	if err != nil {
		c.writeFailed(err)
	}
}

// Get returns the content the ref (kind, key) points at, of at most max
// bytes, verified (Blob). A ref whose blob is gone or corrupt is a miss.
func (c *Cache) Get(kind, key string, max int64) ([]byte, bool) {
	d, ok := c.Ref(kind, key)
	if !ok {
		return nil, false
	}
	return c.Blob(d, max)
}

// Put stores data as a blob and points the ref (kind, key) at it; it
// returns the blob's digest.
func (c *Cache) Put(kind, key string, data []byte) string {
	d := c.PutBlob(data)
	c.SetRef(kind, key, d)
	return d
}
