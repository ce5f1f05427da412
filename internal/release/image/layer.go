package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// entry is one file or directory of a layer this package writes.
type entry struct {
	// name is the absolute path in the image ("/usr/local/bin/pipe").
	name string
	// dir marks a directory; otherwise a regular file holding data.
	dir  bool
	mode int64
	uid  int
	gid  int
	data []byte
}

// newLayer writes entries as a gzip-compressed OCI layer whose bytes
// depend only on the entries and mtime: entries are sorted by name, every
// time field is mtime (whole seconds, UTC), owner names are left empty and
// the gzip header carries no name or time. The same toolchain and inputs
// therefore give the same layer digest.
func newLayer(entries []entry, mtime time.Time) (v1.Layer, error) {
	sorted := append([]entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	mtime = mtime.UTC().Truncate(time.Second)

	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for i, e := range sorted {
		name := strings.TrimPrefix(path.Clean(e.name), "/")
		if name == "" || name == "." || !path.IsAbs(e.name) {
			return nil, fmt.Errorf("internal error: layer entry %q is not an absolute path below /", e.name)
		}
		if i > 0 && sorted[i-1].name == e.name {
			return nil, fmt.Errorf("internal error: layer entry %q is listed twice", e.name)
		}
		hdr := &tar.Header{
			Name:    name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: mtime,
			Format:  tar.FormatPAX,
		}
		if e.dir {
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("writing layer entry %s: %w", e.name, err)
		}
		if !e.dir {
			if _, err := tw.Write(e.data); err != nil {
				return nil, fmt.Errorf("writing layer entry %s: %w", e.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing layer: %w", err)
	}

	var compressed bytes.Buffer
	zw, err := gzip.NewWriterLevel(&compressed, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, fmt.Errorf("compressing layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing layer: %w", err)
	}
	blob := compressed.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(blob)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// parentDirs returns the directories above name ("/usr/local/bin/pipe" →
// "/usr", "/usr/local", "/usr/local/bin"), outermost first.
func parentDirs(name string) []string {
	var dirs []string
	for d := path.Dir(name); d != "/" && d != "."; d = path.Dir(d) {
		dirs = append([]string{d}, dirs...)
	}
	return dirs
}
