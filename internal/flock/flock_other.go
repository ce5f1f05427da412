//go:build !unix

// Package flock takes exclusive locks on files shared by pipe processes
// (the download cache's Git repositories, Terraform's plugin cache).
package flock

import (
	"context"
	"sync"
)

// Without flock, the locks of this process still take turns; other
// processes are not excluded.
var mu sync.Mutex

// Lock takes the process's one lock (see the unix version).
func Lock(ctx context.Context, p, holder string) (func(), error) {
	mu.Lock()
	return mu.Unlock, nil
}
