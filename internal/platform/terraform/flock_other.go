//go:build !unix

package terraform

import (
	"context"
	"sync"
)

// Without flock, inits of this process still take turns; other processes
// are not excluded.
var cacheMu sync.Mutex

func lockDir(ctx context.Context, dir string) (func(), error) {
	cacheMu.Lock()
	return cacheMu.Unlock, nil
}
