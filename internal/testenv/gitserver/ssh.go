package gitserver

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SSHServer is Debian's OpenSSH sshd on 127.0.0.1 accepting one generated
// client key, serving the bare repositories under Root by absolute path.
type SSHServer struct {
	Root string
	// URL is the base URL: ssh://user@127.0.0.1:port
	URL string
	// KeyFile is the client's private key; KnownHosts a known_hosts file
	// holding the server's host key.
	KeyFile    string
	KnownHosts string
	User       string
	Pid        int
}

// SSHDPath is where Debian's openssh-server installs sshd.
const SSHDPath = "/usr/sbin/sshd"

// SSHMissing says what StartSSH needs and this machine lacks ("" when
// sshd and ssh-keygen are installed).
func SSHMissing() string {
	if _, err := os.Stat(SSHDPath); err != nil {
		return "sshd is not installed (Debian: apt-get install openssh-server)"
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		return "ssh-keygen is not installed"
	}
	return ""
}

// StartSSH starts sshd for the test, or skips the test when sshd or
// ssh-keygen is not installed (`apt-get install openssh-server`).
func StartSSH(t testing.TB, root string) *SSHServer {
	t.Helper()
	if missing := SSHMissing(); missing != "" {
		t.Skip(missing)
	}
	u, err := user.Current()
	if err != nil {
		t.Skipf("no current user: %v", err)
	}
	dir := t.TempDir()
	for _, k := range []string{"host_key", "client_key"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	clientPub, _ := os.ReadFile(filepath.Join(dir, "client_key.pub"))
	hostPub, _ := os.ReadFile(filepath.Join(dir, "host_key.pub"))
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), clientPub, 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// sshd started as root needs its privilege separation directory.
		_ = os.MkdirAll("/run/sshd", 0o755)
	}
	for try := 0; try < 5; try++ {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(dir, "sshd_config")
		cfg := strings.Join([]string{
			fmt.Sprintf("Port %d", port), "ListenAddress 127.0.0.1",
			"HostKey " + filepath.Join(dir, "host_key"),
			"PidFile " + filepath.Join(dir, "sshd.pid"),
			"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
			"StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
			"PubkeyAuthentication yes", "PermitRootLogin prohibit-password", "AllowUsers " + u.Username,
			"LogLevel ERROR", "",
		}, "\n")
		if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(SSHDPath, "-D", "-e", "-f", conf)
		cmd.Stderr = testWriter{t, "sshd"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start sshd: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if !waitListening(addr, exited, 10*time.Second) {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			continue
		}
		s := &SSHServer{Root: root, URL: fmt.Sprintf("ssh://%s@%s", u.Username, addr), KeyFile: filepath.Join(dir, "client_key"),
			KnownHosts: filepath.Join(dir, "known_hosts"), User: u.Username, Pid: cmd.Process.Pid}
		fields := strings.Fields(string(hostPub))
		line := fmt.Sprintf("[127.0.0.1]:%d %s %s\n", port, fields[0], fields[1])
		if err := os.WriteFile(s.KnownHosts, []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = syscall.Kill(-s.Pid, syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-s.Pid, syscall.SIGKILL)
				<-exited
			}
		})
		return s
	}
	t.Fatal("sshd did not start")
	return nil
}

// RepoURL is the ssh:// URL of repository name (an absolute path on the
// server).
func (s *SSHServer) RepoURL(name string) string { return s.URL + filepath.Join(s.Root, name) }
