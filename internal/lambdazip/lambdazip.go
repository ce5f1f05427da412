// Package lambdazip zips a directory as an AWS Lambda function's code,
// deterministically: the same tree gives the same bytes, hence the same
// CodeSha256, so that an unchanged source is not a code change and a plan
// can tell whether the code changed.
//
// The archive is a function of the tree's paths, contents, executable bits
// and symlink targets only (and of the pipe build: the bytes of Go's
// compress/flate at a fixed level are stable, but an upgrade of it may
// change them, once):
//
//   - entries are sorted by their slash path (byte order);
//   - every entry has the same modification time, 1980-01-01 00:00 (zip's
//     epoch, in the MS-DOS fields), and no extra field (no extended
//     timestamp, no uid/gid);
//   - regular files are 0644, or 0755 when any executable bit is set
//     (Lambda runtimes need it: a custom runtime's bootstrap);
//   - directories are not stored (they are implied by the files' paths; an
//     empty directory is dropped);
//   - a symlink is stored as a symlink (mode 0777, its target as the data)
//     when its target is relative and stays inside the directory; one
//     leading out (or absolute) is an error naming it. A symlink is never
//     followed;
//   - `.git` (a directory, or a submodule's file) is skipped at any depth;
//   - anything else (devices, named pipes, sockets) is an error;
//   - file data is deflated at a fixed level (stored when that is not
//     smaller), CRC and sizes in the local header (no data descriptor).
package lambdazip

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"unicode/utf8"

	"github.com/gitops-pipe/pipe/internal/fsafe"
)

// AWS Lambda's limits on a function's code
// (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
const (
	// MaxZipped is the largest zip Lambda takes in a direct upload.
	MaxZipped = 50 << 20
	// MaxUnzipped is the largest a function's code (with its layers) may
	// be, unzipped.
	MaxUnzipped = 250 << 20
)

// Options bound the archive: AWS refuses a direct upload over 50 MiB zipped
// and a function over 250 MiB unzipped.
type Options struct {
	// MaxZipped bounds the archive's size; 0 means MaxZipped.
	MaxZipped int64
	// MaxUnzipped bounds the total size of the files; 0 means MaxUnzipped.
	MaxUnzipped int64
}

// Archive is a function's code, zipped.
type Archive struct {
	// Data is the zip file.
	Data []byte
	// SHA256 is the base64 (standard encoding) SHA-256 of Data: what Lambda
	// reports as the function's CodeSha256.
	SHA256 string
	// Files is the number of entries (regular files and symlinks).
	Files int
	// Unzipped is the total size of the entries' data.
	Unzipped int64
}

// compressionLevel is fixed: the archive's bytes depend on it.
const compressionLevel = 6

// The modification time of every entry: 1980-01-01 00:00:00, zip's epoch,
// in MS-DOS format.
const (
	dosDate = (1980-1980)<<9 | 1<<5 | 1
	dosTime = 0
)

const (
	creatorUnix  = 3
	zipVersion20 = 20
	maxEntrySize = 1<<32 - 1 // no zip64: Lambda's limits are far below
)

type entry struct {
	rel    string // slash path inside dir
	mode   fs.FileMode
	target string // a symlink's target
}

// Dir zips the files under dir (recursively) deterministically, as
// described in the package documentation. Errors name the file, as
// <base of dir>/<path>, and the limit or the rule it breaks.
func Dir(dir string, opts Options) (*Archive, error) {
	if opts.MaxZipped <= 0 {
		opts.MaxZipped = MaxZipped
	}
	if opts.MaxUnzipped <= 0 {
		opts.MaxUnzipped = MaxUnzipped
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return nil, err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s: is a symlink; a function's code is zipped from a directory, not through a symlink", dir)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	name := displayName(dir)
	show := func(rel string) string {
		if name == "" {
			return rel
		}
		return name + "/" + rel
	}
	entries, err := list(dir, show)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%s: no files to zip", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()

	var (
		out      bytes.Buffer
		deflated bytes.Buffer
		unzipped int64
	)
	zw := zip.NewWriter(&out)
	fw, _ := flate.NewWriter(&deflated, compressionLevel)
	for _, e := range entries {
		var content []byte
		if e.mode&fs.ModeSymlink != 0 {
			content = []byte(e.target)
		} else {
			var err error
			if content, err = fsafe.ReadFile(root, filepath.FromSlash(e.rel), opts.MaxUnzipped-unzipped); err != nil {
				if _, ok := errors.AsType[*fsafe.TooLargeError](err); ok {
					return nil, fmt.Errorf("%s: the function's code is over AWS Lambda's %s unzipped limit", show(e.rel), human(opts.MaxUnzipped))
				}
				return nil, fmt.Errorf("%s: %w", show(e.rel), err)
			}
		}
		unzipped += int64(len(content))
		if unzipped > opts.MaxUnzipped {
			return nil, fmt.Errorf("%s: the function's code is over AWS Lambda's %s unzipped limit", show(e.rel), human(opts.MaxUnzipped))
		}
		if len(content) > maxEntrySize {
			return nil, fmt.Errorf("%s: a file of 4 GiB or more cannot be zipped", show(e.rel))
		}
		h := &zip.FileHeader{
			Name:               e.rel,
			CreatorVersion:     creatorUnix<<8 | zipVersion20,
			ReaderVersion:      zipVersion20,
			Method:             zip.Deflate,
			ModifiedTime:       dosTime,
			ModifiedDate:       dosDate,
			CRC32:              crc32.ChecksumIEEE(content),
			UncompressedSize64: uint64(len(content)),
		}
		h.SetMode(e.mode) // ExternalAttrs: the Unix mode, and MS-DOS's read-only bit for none
		if !isASCII(e.rel) && utf8.ValidString(e.rel) {
			h.Flags |= 0x800 // the name is UTF-8
		}
		data := content
		if e.mode&fs.ModeSymlink != 0 {
			h.Method = zip.Store
		} else {
			deflated.Reset()
			fw.Reset(&deflated)
			if _, err := fw.Write(data); err != nil {
				return nil, err
			}
			if err := fw.Close(); err != nil {
				return nil, err
			}
			if deflated.Len() < len(data) {
				data = deflated.Bytes()
			} else {
				h.Method = zip.Store
			}
		}
		h.CompressedSize64 = uint64(len(data))
		w, err := zw.CreateRaw(h)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", show(e.rel), err)
		}
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
		if err := zw.Flush(); err != nil { // out.Len() counts this entry
			return nil, err
		}
		if int64(out.Len()) > opts.MaxZipped {
			return nil, fmt.Errorf("%s: the function's code is over AWS Lambda's %s zipped limit", show(e.rel), human(opts.MaxZipped))
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if int64(out.Len()) > opts.MaxZipped {
		where := name
		if where == "" {
			where = dir
		}
		return nil, fmt.Errorf("%s: the function's code is over AWS Lambda's %s zipped limit (%s)", where, human(opts.MaxZipped), human(int64(out.Len())))
	}
	sum := sha256.Sum256(out.Bytes())
	return &Archive{
		Data:     out.Bytes(),
		SHA256:   base64.StdEncoding.EncodeToString(sum[:]),
		Files:    len(entries),
		Unzipped: unzipped,
	}, nil
}

// displayName is the name errors give dir: its base name ("" for the
// current directory or the root).
func displayName(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	base := filepath.Base(abs)
	if base == "." || base == string(filepath.Separator) {
		return ""
	}
	return base
}

// list walks dir without following symlinks and returns its entries,
// sorted by slash path.
func list(dir string, show func(string) string) ([]entry, error) {
	var entries []entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.Name() == ".git" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		t := d.Type()
		switch {
		case t.IsDir():
			return nil
		case t.IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			mode := fs.FileMode(0o644)
			if info.Mode().Perm()&0o111 != 0 {
				mode = 0o755
			}
			entries = append(entries, entry{rel: rel, mode: mode})
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := checkLink(rel, target); err != nil {
				return fmt.Errorf("%s: %w", show(rel), err)
			}
			entries = append(entries, entry{rel: rel, mode: fs.ModeSymlink | 0o777, target: filepath.ToSlash(target)})
		default:
			return fmt.Errorf("%s: %s cannot be part of a function's code", show(rel), fsafe.FileType(t))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].rel < entries[j].rel })
	return entries, nil
}

// checkLink refuses a symlink whose target leaves the directory: absolute,
// or climbing above it.
func checkLink(rel, target string) error {
	t := filepath.ToSlash(target)
	if target == "" || path.IsAbs(t) || filepath.IsAbs(target) {
		return fmt.Errorf("symlink to %q leads outside the function's directory", target)
	}
	if !filepath.IsLocal(filepath.FromSlash(path.Join(path.Dir(rel), t))) {
		return fmt.Errorf("symlink to %q leads outside the function's directory", target)
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func human(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
