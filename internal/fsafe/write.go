package fsafe

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
)

// TreeWriter writes a tree of directories, files and symlinks (the export
// of a Git tree) below a directory, for trees an untrusted party may have
// crafted. It never writes through a symlink, whether it made it or found
// it: every entry is created new (a repeated entry is an error) below a
// directory this writer made, through an os.Root of the destination. A
// symlink must lead to a path inside the destination (relative, not
// climbing out of it); Finish checks that no chain of them leads out.
// Errors name the entry.
type TreeWriter struct {
	root *os.Root
	// made holds the entries written, by slash path: true for directories.
	made map[string]bool
	// links are the symlinks written, in order.
	links []string
	// Budget, when positive, caps the bytes of all files written: a Git
	// blob compresses a lot, and a fetched tree must not fill the disk.
	Budget  int64
	written int64
}

// ErrBudget is wrapped by the error of a write past TreeWriter.Budget.
var ErrBudget = errors.New("tree larger than allowed")

// NewTreeWriter writes below dir, which must exist (and should be empty).
func NewTreeWriter(dir string) (*TreeWriter, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &TreeWriter{root: root, made: map[string]bool{}}, nil
}

// Close releases the destination; it does not remove what was written.
func (w *TreeWriter) Close() error { return w.root.Close() }

// Mkdir creates the directory name (a slash-separated path relative to the
// destination).
func (w *TreeWriter) Mkdir(name string) error {
	if err := w.check(name); err != nil {
		return err
	}
	if err := w.root.Mkdir(filepath.FromSlash(name), 0o755); err != nil {
		return entryError(name, err)
	}
	w.made[name] = true
	return nil
}

// WriteFile creates the file name with the content of r; executable makes
// it 0755 (less the umask), else 0644.
func (w *TreeWriter) WriteFile(name string, r io.Reader, executable bool) error {
	if err := w.check(name); err != nil {
		return err
	}
	perm := fs.FileMode(0o644)
	if executable {
		perm = 0o755
	}
	// O_EXCL: a file, a directory or a symlink already there is an error,
	// never followed.
	f, err := w.root.OpenFile(filepath.FromSlash(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return entryError(name, err)
	}
	w.made[name] = false
	src := r
	if w.Budget > 0 {
		src = io.LimitReader(r, w.Budget-w.written+1)
	}
	n, err := io.Copy(f, src)
	w.written += n
	if err != nil {
		f.Close()
		return entryError(name, err)
	}
	if w.Budget > 0 && w.written > w.Budget {
		f.Close()
		return fmt.Errorf("tree entry %s: the tree is larger than %s: %w", name, Bytes(w.Budget), ErrBudget)
	}
	if err := f.Close(); err != nil {
		return entryError(name, err)
	}
	return nil
}

// ErrSymlinkOut is wrapped by Symlink's refusal of a target that is
// absolute or climbs out of the destination. The name is taken all the
// same (no entry may be written below it or under it again), so a caller
// may leave such a link out and go on.
var ErrSymlinkOut = errors.New("symlink target outside the tree")

// Symlink creates the symlink name pointing at target, which must be a
// relative path that stays inside the destination.
func (w *TreeWriter) Symlink(target, name string) error {
	if err := w.check(name); err != nil {
		return err
	}
	if err := checkTarget(target, name); err != nil {
		w.made[name] = false
		return err
	}
	if err := w.root.Symlink(target, filepath.FromSlash(name)); err != nil {
		return entryError(name, err)
	}
	w.made[name] = false
	w.links = append(w.links, name)
	return nil
}

// Finish checks, once everything is written, that no symlink leads out of
// the destination through other symlinks ("a -> b/../..", "b -> x/y").
func (w *TreeWriter) Finish() error {
	for _, name := range w.links {
		if _, err := w.root.Stat(filepath.FromSlash(name)); isEscape(err) {
			target, _ := w.root.Readlink(filepath.FromSlash(name))
			return fmt.Errorf("symlink %s -> %q leads outside the tree (through other symlinks): pipe exports only symlinks that stay inside it", name, target)
		}
	}
	return nil
}

// check refuses a name that is not a plain relative path, that was already
// written, or whose directory is not one this writer made.
func (w *TreeWriter) check(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if _, ok := w.made[name]; ok {
		return fmt.Errorf("tree entry %s appears more than once in the tree: refusing a crafted tree", name)
	}
	dir := path.Dir(name)
	if dir == "." {
		return nil
	}
	isDir, ok := w.made[dir]
	switch {
	case !ok:
		return fmt.Errorf("tree entry %s: its directory %s was not written first", name, dir)
	case !isDir:
		return fmt.Errorf("tree entry %s is below %s, which is a symlink or a file: refusing to write through it", name, dir)
	}
	return nil
}

func checkName(name string) error {
	if name == "" {
		return errors.New("a tree entry has an empty name")
	}
	for _, part := range strings.Split(name, "/") {
		bad := part == "" || part == "." || part == ".." || strings.EqualFold(part, ".git") || strings.ContainsRune(part, 0)
		if runtime.GOOS == "windows" && strings.ContainsAny(part, `\:`) {
			bad = true
		}
		if bad {
			return fmt.Errorf("tree entry %q has an unsafe name", name)
		}
	}
	return nil
}

// checkTarget refuses a symlink target that is absolute or climbs out of
// the destination, judged by its text.
func checkTarget(target, name string) error {
	t := filepath.ToSlash(target)
	switch {
	case target == "":
		return fmt.Errorf("symlink %s has an empty target", name)
	case path.IsAbs(t) || filepath.IsAbs(target) || filepath.VolumeName(target) != "":
		return fmt.Errorf("symlink %s -> %q is absolute: pipe exports only symlinks to paths inside the tree: %w", name, target, ErrSymlinkOut)
	}
	if c := path.Join(path.Dir(name), t); c == ".." || strings.HasPrefix(c, "../") {
		return fmt.Errorf("symlink %s -> %q leads outside the tree: pipe exports only symlinks to paths inside it: %w", name, target, ErrSymlinkOut)
	}
	return nil
}

func entryError(name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("tree entry %s appears more than once in the tree: refusing a crafted tree", name)
	}
	if isEscape(err) {
		return fmt.Errorf("tree entry %s leads outside the tree: refusing a crafted tree", name)
	}
	return fmt.Errorf("tree entry %s: %w", name, err)
}

// isEscape reports os.Root's refusal of a path that leads out of it. It has
// no exported sentinel; its text is pinned by this package's tests.
func isEscape(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return err != nil && err.Error() == "path escapes from parent"
}
