//go:build !unix

package render

import (
	"context"
	"sync"
)

// Without flock, the fetches of this process still take turns; other
// processes are not excluded.
var gitCacheMu sync.Mutex

func lockFile(ctx context.Context, p string) (func(), error) {
	gitCacheMu.Lock()
	return gitCacheMu.Unlock, nil
}
