// Package fsafe reads files that an untrusted party may have prepared (a
// repository checked out from a pull request, a tree fetched from another
// repository) without hanging or exhausting memory: only regular files are
// read (a named pipe, a device or a socket is refused, and opening one
// never blocks), and every read is capped. Reads inside a directory go
// through an os.Root, so that neither a path nor a symlink in it leads out
// of that directory, even if the tree changes during the read.
package fsafe

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxFileSize is the cap pipe applies to one file of a repository unless
// a caller has a better one: 16 MiB, far more than a manifest, a values
// file or a kustomization needs.
const MaxFileSize = 16 << 20

// MaxSecretSize caps a credential file (a password, a token): 64 KiB.
const MaxSecretSize = 64 << 10

// ErrNotRegular is wrapped by the error for a file that is not a regular
// file (a directory, a named pipe, a device, a socket).
var ErrNotRegular = errors.New("not a regular file")

// NotRegularError is the error for a file that is not a regular file; it
// matches ErrNotRegular.
type NotRegularError struct {
	// Name is the file as the caller named it.
	Name string
	// Kind says what it is instead: "a named pipe", "a character device", ...
	Kind string
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file: pipe reads only regular files", e.Name, e.Kind)
}

func (e *NotRegularError) Is(target error) bool { return target == ErrNotRegular }

// ErrOutside is matched by the error for a path that leads out of the
// directory it is read in (through "..", or a symlink).
var ErrOutside = errors.New("outside the directory")

// OutsideError is the error for a path that leads out of the directory it
// is read in; it matches ErrOutside.
type OutsideError struct {
	// Name is the file as the caller named it.
	Name string
}

func (e *OutsideError) Error() string {
	return fmt.Sprintf("%s leads outside the directory it is read from (through \"..\" or a symlink)", e.Name)
}

func (e *OutsideError) Is(target error) bool { return target == ErrOutside }

// TooLargeError is the error for a file larger than its cap.
type TooLargeError struct {
	// Name is the file as the caller named it.
	Name string
	// Size is the file's size, or what was read when the file grew past
	// Max while it was read (Grew).
	Size int64
	Grew bool
	// Max is the cap.
	Max int64
}

func (e *TooLargeError) Error() string {
	if e.Grew {
		return fmt.Sprintf("%s is larger than the %s pipe reads from one file", e.Name, Bytes(e.Max))
	}
	return fmt.Sprintf("%s is %s, more than the %s pipe reads from one file", e.Name, Bytes(e.Size), Bytes(e.Max))
}

// Bytes formats a size for messages: "16 MiB", "5.5 MiB", "700 bytes".
func Bytes(n int64) string {
	const k, m = 1 << 10, 1 << 20
	switch {
	case n >= m && n%m == 0:
		return fmt.Sprintf("%d MiB", n/m)
	case n >= m:
		return fmt.Sprintf("%.1f MiB (%d bytes)", float64(n)/m, n)
	case n >= k && n%k == 0:
		return fmt.Sprintf("%d KiB", n/k)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ReadFile reads the file name (a relative path) inside root. Symlinks are
// followed only as long as they stay inside root. The file must be a regular
// file of at most max bytes.
func ReadFile(root *os.Root, name string, max int64) ([]byte, error) {
	f, err := Open(root, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(f, name, max)
}

// ReadFileIn is ReadFile for the directory dir, opened for this one read.
func ReadFileIn(dir, name string, max int64) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return ReadFile(root, name, max)
}

// ReadHostFile reads a file of the machine pipe runs on that the trusted
// configuration names (a credentials file): anywhere, but a regular file of
// at most max bytes. Errors name the path and never hold the content.
func ReadHostFile(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkRegular(f, path); err != nil {
		return nil, err
	}
	return readAll(f, path, max)
}

// Open opens the file name inside root for reading, like ReadFile, and
// checks that it is a regular file. Opening does not block on a named pipe.
func Open(root *os.Root, name string) (*os.File, error) {
	f, err := root.OpenFile(name, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		if isEscape(err) {
			return nil, &OutsideError{Name: name}
		}
		return nil, err
	}
	if err := checkRegular(f, name); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func checkRegular(f *os.File, name string) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return &NotRegularError{Name: name, Kind: FileType(st.Mode())}
	}
	return nil
}

// FileType names a file type for messages, with its article ("a named
// pipe").
func FileType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	}
	return "mode " + m.String()
}

// readAll reads the regular file f, at most max bytes.
func readAll(f *os.File, name string, max int64) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > max {
		return nil, &TooLargeError{Name: name, Size: st.Size(), Max: max}
	}
	// The size is a hint only: the file may grow while it is read.
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, &TooLargeError{Name: name, Size: int64(len(b)), Grew: true, Max: max}
	}
	return b, nil
}
