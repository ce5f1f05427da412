package awsemu

import (
	"context"
	"fmt"
	"github.com/gitops-pipe/pipe/internal/testenv/proc"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The dev cloud: an emulator run in the background for people (make
// dev-cloud), its state in a directory: pid, addr and log. testenv
// cloud-serve serves it.

// ExportLine is the shell line that points the AWS CLI and SDKs at url.
func ExportLine(url, region string) string {
	env := ClientEnv(url, region)
	var b strings.Builder
	b.WriteString("export")
	// The order people expect: endpoint first.
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_EC2_METADATA_DISABLED"} {
		fmt.Fprintf(&b, " %s=%s", k, env[k])
	}
	return b.String()
}

// RunningURL returns the URL of the dev cloud running from dir, if one is.
func RunningURL(dir string) (string, bool) {
	pid, exe, err := readPID(dir)
	if err != nil || !proc.PIDIs(pid, exe) {
		return "", false
	}
	addr, err := os.ReadFile(filepath.Join(dir, "addr"))
	if err != nil {
		return "", false
	}
	url := "http://" + strings.TrimSpace(string(addr))
	return url, answers(url)
}

func answers(url string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url + "/_awsemu/state")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// readPID reads the pid of the detached emulator and the program it runs
// (a pid alone may have been reused by another program since).
func readPID(dir string) (int, string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		return 0, "", err
	}
	exe, err := os.ReadFile(filepath.Join(dir, "exe"))
	if err != nil {
		return 0, "", err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid, strings.TrimSpace(string(exe)), err
}

// StartDetached starts `exe args... ADDR` (which must serve an emulator on
// ADDR) detached in its own session, with its pid, address and log in
// dir, and waits until it answers. When one is already running from dir,
// it returns its URL.
func StartDetached(ctx context.Context, dir, exe string, args ...string) (string, error) {
	if url, ok := RunningURL(dir); ok {
		return url, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	logf, err := os.OpenFile(filepath.Join(dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", err
	}
	defer logf.Close()
	cmd := exec.Command(exe, append(args, addr)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	if err := os.WriteFile(filepath.Join(dir, "pid"), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return "", err
	}
	// As /proc/PID/exe names it.
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	if err := os.WriteFile(filepath.Join(dir, "exe"), []byte(exe+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "addr"), []byte(addr+"\n"), 0o644); err != nil {
		return "", err
	}
	url := "http://" + addr
	deadline := time.Now().Add(15 * time.Second)
	for !answers(url) {
		if time.Now().After(deadline) || syscall.Kill(pid, 0) != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			return "", fmt.Errorf("the emulator did not start (log %s):\n%s", filepath.Join(dir, "log"), log)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return url, nil
}

// StopDetached stops the dev cloud running from dir and removes dir.
func StopDetached(dir string) error {
	if pid, exe, err := readPID(dir); err == nil {
		// Only if the pid still runs the emulator's program.
		if err := proc.StopPID(pid, exe, 5*time.Second); err != nil {
			return err
		}
	}
	return os.RemoveAll(dir)
}
