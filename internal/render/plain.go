package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/gitops-pipe/pipe/internal/config"
)

// plain loads plain manifests: input.manifests in order, or else every
// top-level .yaml, .yml and .json file of the application directory (sorted
// by name) but the application config files.
func (a *appTree) plain(ctx context.Context) ([]rendered, error) {
	names := a.input.Manifests
	listed := len(names) > 0
	if !listed {
		entries, err := os.ReadDir(a.dir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || !isManifestName(n) || n == a.app.ConfigFile || config.IsAppConfigFile(n) {
				continue
			}
			if e.Type()&os.ModeSymlink != 0 {
				// A symlink to a directory is no manifest.
				if st, err := os.Stat(filepath.Join(a.dir, n)); err != nil || st.IsDir() {
					continue
				}
			}
			names = append(names, n)
		}
		sort.Strings(names)
	}
	// Files decode in parallel (YAML parsing is most of the work); results
	// and the first error keep the file order.
	results := make([][]rendered, len(names))
	errs := make([]error, len(names))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(names)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i], errs[i] = a.plainFile(ctx, i, names[i], listed)
			}
		}()
	}
	for i := range names {
		work <- i
	}
	close(work)
	wg.Wait()
	var out []rendered
	for i := range names {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, results[i]...)
	}
	return out, nil
}

// plainFile reads and decodes the i-th manifest file n; listed says it was
// named by input.manifests.
func (a *appTree) plainFile(ctx context.Context, i int, n string, listed bool) ([]rendered, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, p, err := a.readFile(a.dir, n)
	if err != nil {
		if listed {
			return nil, &Error{File: a.configFile(), Err: fmt.Errorf("input.manifests[%d]: %w", i, err)}
		}
		return nil, &Error{File: a.rel(filepath.Join(a.dir, n)), Err: err}
	}
	return decodeStream(data, a.rel(p), true, nil)
}

func isManifestName(n string) bool {
	switch strings.ToLower(filepath.Ext(n)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}
