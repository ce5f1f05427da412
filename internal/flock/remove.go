package flock

import (
	"errors"
	"io/fs"
	"os"
)

// Remove removes the lock file p, which the caller has locked (and
// releases after): a process waiting for it then finds it gone and locks
// the next file at p (Lock). A file already gone is not an error.
func Remove(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
