package cli

import (
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
)

// Version information, set by the release build's ldflags.
var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// Env is everything pipe takes from the process it runs in.
type Env struct {
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Environ is the whole environment, for the scripts pipe runs
	// (SCRIPT_RUN); nil means none is passed on.
	Environ func() []string
	// ReadFile reads files named by the environment (CI event payloads).
	ReadFile func(string) ([]byte, error)
	Now      func() time.Time
	// StdoutTTY and StderrTTY say whether the streams are terminals.
	StdoutTTY, StderrTTY bool
}

// System returns the Env of the running process.
func System() Env {
	return Env{
		Args:      os.Args[1:],
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		Getenv:    os.Getenv,
		Environ:   os.Environ,
		ReadFile:  os.ReadFile,
		Now:       time.Now,
		StdoutTTY: isTerminal(os.Stdout),
		StderrTTY: isTerminal(os.Stderr),
	}
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}
