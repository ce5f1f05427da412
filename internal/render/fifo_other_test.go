//go:build !unix

package render

import "errors"

func mkfifo(string) error { return errors.New("no named pipes as files here") }
