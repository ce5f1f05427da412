//go:build unix

// Package flock takes exclusive locks on files shared by pipe processes
// (the download cache's Git repositories, Terraform's plugin cache).
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Lock takes an exclusive flock on the file p (created if needed), waiting
// until it is free or ctx ends; holder says who holds it, for the message
// of a wait cut short ("another fetch"). flock locks belong to the open
// file, so two goroutines of one process exclude each other as two
// processes do. The returned func releases the lock.
//
// A holder may remove the file before releasing it (Remove): whoever was
// waiting on it then finds it gone, and locks the file at p anew.
func Lock(ctx context.Context, p, holder string) (func(), error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	wait := 5 * time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			if !stillAt(f, p) {
				// Removed (and perhaps made again) while we waited: the
				// lock that counts is the file now at p.
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
				if f, err = os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644); err != nil {
					return nil, err
				}
				continue
			}
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", p, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for %s (%s holds it): %w", p, holder, ctx.Err())
		case <-time.After(wait):
		}
		if wait < 200*time.Millisecond {
			wait *= 2
		}
	}
}

// stillAt reports whether the open file f is the file at p.
func stillAt(f *os.File, p string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(p)
	return err == nil && os.SameFile(a, b)
}
