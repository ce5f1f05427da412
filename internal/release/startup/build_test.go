//go:build unix

package startup

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// releaseLDFlags are the linker flags of a release build (Makefile,
// goreleaser.yaml), less the -X version stamps, which do not change the
// size or the start.
const releaseLDFlags = "-s -w"

// helloSource is the baseline: the smallest Go program that writes a line.
const helloSource = `package main

import "fmt"

func main() { fmt.Println("hello, world") }
`

// probeSource is the RSS probe: it runs a command as its child and writes
// to the file named by its first argument the child's peak resident set
// (rusage ru_maxrss, as the OS counts it) and its own (VmHWM, Linux only:
// 0 elsewhere), then exits with the child's status.
//
// A child's ru_maxrss is never below its parent's resident set when it was
// started: Go starts processes with vfork semantics, the child runs in the
// parent's memory until exec, and the kernel keeps that high-water mark.
// Started from the benchmark's process, a small program would be reported
// as large as the benchmark; started from the probe, at least as large as
// the probe (about 2 MB), which its own figure tells.
const probeSource = `package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: probe OUTFILE COMMAND [ARG...]")
		os.Exit(125)
	}
	self := int64(0)
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "VmHWM:" {
				self, _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
	}
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(125)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		fmt.Fprintln(os.Stderr, "probe: no rusage on this system")
		os.Exit(125)
	}
	if err := os.WriteFile(os.Args[1], []byte(fmt.Sprintf("%d %d\n", ru.Maxrss, self)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(125)
	}
	os.Exit(cmd.ProcessState.ExitCode())
}
`

// binaries are the programs built for a run.
type binaries struct {
	pipe, hello, probe  string
	pipeSize, helloSize int64
}

// buildBinaries builds pipe (./cmd/pipe of this module) and hello-world
// into dir, with the go command on PATH and release flags.
func buildBinaries(b *testing.B, dir string) binaries {
	b.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Fatalf("the go command is needed to build pipe: %v", err)
	}
	out, err := exec.Command(goTool, "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || filepath.Base(gomod) != "go.mod" {
		b.Fatalf("finding the module root (go env GOMOD = %q): %v", gomod, err)
	}
	bins := binaries{pipe: filepath.Join(dir, "pipe"), hello: filepath.Join(dir, "hello"), probe: filepath.Join(dir, "probe")}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if err := goBuild(ctx, goTool, filepath.Dir(gomod), bins.pipe, "./cmd/pipe"); err != nil {
		b.Fatal(err)
	}
	for out, src := range map[string]string{bins.hello: helloSource, bins.probe: probeSource} {
		srcDir := out + "-src"
		writeFile(b, filepath.Join(srcDir, "go.mod"), "module "+filepath.Base(out)+"\n\ngo 1.26\n")
		writeFile(b, filepath.Join(srcDir, "main.go"), src)
		// GOWORK=off: the throwaway module is in no workspace.
		if err := goBuild(ctx, goTool, srcDir, out, ".", "GOWORK=off"); err != nil {
			b.Fatal(err)
		}
	}
	bins.pipeSize, bins.helloSize = fileSize(b, bins.pipe), fileSize(b, bins.hello)
	return bins
}

// goBuild builds pkg in dir as a release is built, and installs the
// program at out as a release archive's extraction or `install` does: by
// writing a copy. (The resident set of a short run is mostly the binary's
// pages it touches, and how many pages a fault maps depends on how the file
// came into the page cache: run straight from the linker's output, pipe
// version shows some 10 MB more than run from a copy.)
func goBuild(ctx context.Context, goTool, dir, out, pkg string, env ...string) error {
	built := out + ".built"
	defer os.Remove(built)
	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-ldflags", releaseLDFlags, "-o", built, pkg)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	start := time.Now()
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s (in %s): %v\n%s", pkg, dir, err, msg)
	}
	if err := install(built, out); err != nil {
		return err
	}
	// On stderr, not in the benchmark's output: a cold build takes minutes.
	fmt.Fprintf(os.Stderr, "built %s in %s\n", out, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// install copies the program src to dst.
func install(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("installing %s: %w", dst, err)
	}
	return out.Close()
}

func fileSize(b *testing.B, path string) int64 {
	b.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}
