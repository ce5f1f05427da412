//go:build unix

package execute

import (
	"os/exec"
	"syscall"
)

// setProcessGroup runs the script in a process group of its own, which
// cancellation terminates as a whole (children of the shell too).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
}
