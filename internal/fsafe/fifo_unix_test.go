//go:build unix

package fsafe

import "syscall"

// mkfifo makes a named pipe at p.
func makeFifo(p string) error { return syscall.Mkfifo(p, 0o600) }
