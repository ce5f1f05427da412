package kube

import (
	"fmt"
	"github.com/gitops-pipe/pipe/internal/testenv/proc"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long a process gets between SIGTERM and SIGKILL.
const stopGrace = 10 * time.Second

// process is one program of the control plane, started in its own process
// group with its output appended to logs/<name>.log.
type process struct {
	name    string
	path    string
	args    []string
	logPath string
	// detach: the process may outlive this one (the dev cluster); otherwise
	// the kernel kills it when this process dies, even by SIGKILL or a
	// test timeout's panic, so that nothing leaks.
	detach bool

	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // its exit error, valid after exited is closed
}

func newProcess(dir, name, path string, args ...string) *process {
	return &process{name: name, path: path, args: args, logPath: filepath.Join(dir, "logs", name+".log")}
}

// start runs the program. Its own process group keeps a terminal's Ctrl-C
// from reaching it directly and lets stop kill anything it forked.
func (p *process) start() error {
	if err := os.MkdirAll(filepath.Dir(p.logPath), 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "==== %s %s %s\n", time.Now().Format(time.RFC3339), p.path, strings.Join(p.args, " "))
	cmd := exec.Command(p.path, p.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Stdin = nil
	if p.detach {
		// A session of its own: no controlling terminal whose hang-up
		// would reach it; it still leads its own process group.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited, p.err = cmd, exited, nil
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.err = err
		close(exited)
	}()
	return nil
}

func (p *process) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *process) pid() int {
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// exitError describes how the process ended, for start-up errors.
func (p *process) exitError() error {
	if p.err == nil {
		return fmt.Errorf("%s exited", p.name)
	}
	return fmt.Errorf("%s exited: %w", p.name, p.err)
}

// stop sends SIGTERM to the process group, then SIGKILL after the grace
// period, and waits for the process to be reaped.
func (p *process) stop() {
	if !p.running() {
		return
	}
	pid := p.pid()
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopGrace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.exited
	}
	// Anything left in the group (a forked child) goes too.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

// stopPID stops pid (proc.StopPID), given stopGrace.
func stopPID(pid int, path string) error { return proc.StopPID(pid, path, stopGrace) }

// pidIs is proc.PIDIs.
func pidIs(pid int, path string) bool { return proc.PIDIs(pid, path) }

// tailFile returns the last n lines of a file, or a note that it could not
// be read.
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	defer f.Close()
	const max = 256 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		_, _ = f.Seek(st.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return tail(b, n)
}
