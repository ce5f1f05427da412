package state

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

// TestSSHRemote: records and locks over ssh with a key file and with an
// agent, the server's key checked against known_hosts (a wrong one is
// refused).
func TestSSHRemote(t *testing.T) {
	e := newEnv(t, 2)
	srv := gitserver.StartSSH(t, e.root)
	clock := newFakeClock()
	url := srv.RepoURL("repo.git")
	withKey := func(o *Options) {
		o.RemoteURL = url
		o.Credentials = Credentials{SSHKeyFile: srv.KeyFile, KnownHostsFiles: []string{srv.KnownHosts}}
	}
	s, _ := e.open(t, e.clone(t), clock, withKey)
	r := newRecord("web", e.commits[1])
	if err := s.Begin(bg, r); err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(bg, "web", LockRequest{Owner: "ssh-job"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Unlock(bg, l); err != nil {
		t.Fatal(err)
	}
	if out := gitserver.Git(t, e.bare, "notes", "--ref=pipe/apps/web", "show", e.commits[1]); !strings.Contains(out, r.ID) {
		t.Errorf("note over ssh: %s", out)
	}

	// Through an ssh-agent holding the key.
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Skipf("ssh-agent: %v", err)
	}
	t.Cleanup(func() { _ = agent.Process.Kill(); _ = agent.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	add := exec.Command("ssh-add", srv.KeyFile)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v: %s", err, out)
	}
	viaAgent, _ := e.open(t, e.clone(t), clock, func(o *Options) {
		o.RemoteURL = url
		o.Credentials = Credentials{SSHAgentSocket: sock, KnownHostsFiles: []string{srv.KnownHosts}}
	})
	if got, err := viaAgent.Get(bg, "web", r.ID); err != nil || got.ID != r.ID {
		t.Fatalf("Get via agent = %v, %v", got, err)
	}

	// A known_hosts entry with another key for this host is refused.
	wrong := filepath.Join(t.TempDir(), "known_hosts")
	other := filepath.Join(t.TempDir(), "k")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other).CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	pub, _ := os.ReadFile(other + ".pub")
	host := strings.SplitN(string(mustRead(t, srv.KnownHosts)), " ", 2)[0]
	f := strings.Fields(string(pub))
	os.WriteFile(wrong, []byte(host+" "+f[0]+" "+f[1]+"\n"), 0o600)
	bad, _ := e.open(t, e.clone(t), clock, func(o *Options) {
		o.RemoteURL = url
		o.Credentials = Credentials{SSHKeyFile: srv.KeyFile, KnownHostsFiles: []string{wrong}}
	})
	if _, err := bad.History(bg, "web", 0); err == nil || !strings.Contains(err.Error(), "key") {
		t.Errorf("a mismatched host key should be refused, got %v", err)
	}
	// No known_hosts at all is refused before connecting.
	none, _ := e.open(t, e.clone(t), clock, func(o *Options) {
		o.RemoteURL = url
		o.Credentials = Credentials{SSHKeyFile: srv.KeyFile}
	})
	if _, err := none.History(bg, "web", 0); err == nil || !strings.Contains(hintOf(err), "known_hosts") {
		t.Errorf("no known_hosts: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
