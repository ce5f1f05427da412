package terraform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gitops-pipe/pipe/internal/flock"
)

// lockFileName is the lock pipe takes in a plugin cache directory.
const lockFileName = ".pipe-init.lock"

// lockDir takes an exclusive lock on dir/.pipe-init.lock, waiting until it
// is free or ctx ends (see flock.Lock).
func lockDir(ctx context.Context, dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %v", dir, err)
	}
	return flock.Lock(ctx, filepath.Join(dir, lockFileName), "another init")
}
