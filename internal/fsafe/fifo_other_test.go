//go:build !unix

package fsafe

import "errors"

func makeFifo(string) error { return errors.New("no named pipes as files here") }
