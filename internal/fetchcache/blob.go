package fetchcache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Digest returns the digest of data as the cache names blobs:
// "sha256:<hex>" (the OCI form).
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ParseDigest returns the lower-case hex of a SHA-256 digest written
// "sha256:<hex>" or as the bare hex (a chart repository index's form).
func ParseDigest(d string) (string, bool) {
	h := strings.ToLower(strings.TrimPrefix(d, "sha256:"))
	if len(h) != sha256.Size*2 {
		return "", false
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", false
	}
	return h, true
}

func (c *Cache) blobPath(hexDigest string) string {
	return filepath.Join(c.dir, "blobs", "sha256", hexDigest)
}

// Blob returns the blob of digest ("sha256:<hex>" or the bare hex), of
// at most max bytes, after checking that its content has that digest. A
// blob that does not is removed; any failure is a miss.
func (c *Cache) Blob(digest string, max int64) ([]byte, bool) {
	h, ok := ParseDigest(digest)
	if c.dir == "" || !ok {
		return nil, false
	}
	p := c.blobPath(h)
	// Lstat first: opening a named pipe someone left there would block.
	if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() || st.Size() > max {
		return nil, false
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() > max {
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil || int64(len(data)) > max {
		return nil, false
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) == h {
		c.used(p, st)
		return data, true
	}
	// Corrupt or truncated: drop it, unless another process has replaced
	// it since it was opened.
	if now, err := os.Stat(p); err == nil && os.SameFile(st, now) && c.writable() {
		if err := os.Remove(p); err == nil {
			c.warn(fmt.Sprintf("the download cache held a corrupt copy of %s (%s): removed", "sha256:"+h, p))
		}
	}
	return nil, false
}

// PutBlob stores data as a blob and returns its digest ("sha256:<hex>").
// A blob already there and intact is kept. Failing to write is not an
// error (see Cache): the digest is returned all the same.
func (c *Cache) PutBlob(data []byte) string {
	d := Digest(data)
	if !c.writable() {
		return d
	}
	h, _ := ParseDigest(d)
	if _, ok := c.Blob(d, int64(len(data))); ok {
		return d
	}
	if err := writeAtomic(c.blobPath(h), data); err != nil {
		c.writeFailed(err)
	}
	return d
}
