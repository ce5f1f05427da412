// Package proc checks and stops the background processes the test
// environment starts (the dev cluster, the dev cloud) by their pid and the
// program recorded with it, so that a pid reused by another program after
// a reboot is never signalled.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// StopPID stops a process that this process did not start (a dev
// cluster's or dev cloud's, from its pid file), if it is still the program at path:
// SIGTERM to its group, SIGKILL after the grace period.
func StopPID(pid int, path string, grace time.Duration) error {
	if !PIDIs(pid, path) {
		return nil // already gone, or the pid was reused by another program
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !PIDIs(pid, path) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %d: %w", pid, err)
	}
	return nil
}

// PIDIs reports whether pid is alive (not a zombie) and runs path.
func PIDIs(pid int, path string) bool {
	if pid <= 0 {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return false
	}
	return strings.TrimSuffix(exe, " (deleted)") == path
}
