package kube

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// pidsFile lists the processes of a detached cluster, one "name pid path"
// line each in start order, so that another process can stop them.
const pidsFile = "pids"

// writePIDs is called with c.mu held.
func (c *Cluster) writePIDs() error {
	var sb strings.Builder
	for _, p := range c.procs {
		fmt.Fprintf(&sb, "%s %d %s\n", p.name, p.pid(), p.path)
	}
	return writeFileAtomic(filepath.Join(c.Dir, pidsFile), []byte(sb.String()))
}

type pidEntry struct {
	name, path string
	pid        int
}

func readPIDs(dir string) ([]pidEntry, error) {
	f, err := os.Open(filepath.Join(dir, pidsFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []pidEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), " ", 3)
		if len(fields) != 3 {
			continue
		}
		pid, err := strconv.Atoi(fields[1])
		if err != nil {
			continue
		}
		out = append(out, pidEntry{name: fields[0], pid: pid, path: fields[2]})
	}
	return out, sc.Err()
}

// DevClusterDir is where `testenv up` keeps the dev cluster: <cache>/dev-cluster.
func DevClusterDir() (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "dev-cluster"), nil
}

// RunningIn reports whether every process of the detached cluster in dir
// is alive.
func RunningIn(dir string) bool {
	entries, err := readPIDs(dir)
	if err != nil || len(entries) < 5 {
		return false
	}
	for _, e := range entries {
		if !pidIs(e.pid, e.path) {
			return false
		}
	}
	return true
}

// StartDetached starts a control plane in dir whose processes outlive the
// caller (for people: `make dev-cluster`), replacing a broken one left
// there. When one is already running it is reused. It returns the
// kubeconfig path.
func StartDetached(ctx context.Context, dir string, logf Logf) (kubeconfig string, err error) {
	if dir, err = filepath.Abs(dir); err != nil {
		return "", err
	}
	kubeconfig = filepath.Join(dir, "kubeconfig")
	if RunningIn(dir) {
		if logf != nil {
			logf("kube: a control plane is already running in %s", dir)
		}
		return kubeconfig, nil
	}
	if err := StopDir(dir); err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if _, err := Start(ctx, Options{Dir: dir, Keep: true, Detach: true, Logf: logf}); err != nil {
		return "", err
	}
	return kubeconfig, nil
}

// StopDir stops the processes of a detached cluster in dir by their pids
// (only those still running the recorded program), in reverse start order,
// and removes its pid file. A directory with no cluster is not an error.
func StopDir(dir string) error {
	entries, err := readPIDs(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for i := len(entries) - 1; i >= 0; i-- {
		if err := stopPID(entries[i].pid, entries[i].path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", entries[i].name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.Remove(filepath.Join(dir, pidsFile))
}
