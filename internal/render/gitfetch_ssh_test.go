package render

import (
	"crypto/ed25519"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
	"github.com/go-git/go-git/v5/plumbing/transport"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// sshAuth authenticates to srv with its client key file, checking its host
// key against its known_hosts.
func sshAuth(t *testing.T, srv *gitserver.SSHServer) func(string) (transport.AuthMethod, error) {
	t.Helper()
	keys, err := gitssh.NewPublicKeysFromFile(srv.User, srv.KeyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	cb, err := gitssh.NewKnownHostsCallback(srv.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	keys.HostKeyCallback = cb
	return func(string) (transport.AuthMethod, error) { return keys, nil }
}

func TestGitFetchOverSSHWithAKeyFile(t *testing.T) {
	remotes := t.TempDir()
	_, first := chartsRemote(t, remotes)
	srv := gitserver.StartSSH(t, remotes)
	remote := srv.RepoURL("charts.git")
	cache := t.TempDir()
	f := &GoGitFetcher{TempDir: t.TempDir(), CacheDir: cache, Auth: sshAuth(t, srv)}
	for ref, want := range map[string]string{"v1": "2", "next": "9", first: "2"} {
		if got := fetchReplicas(t, f, remote, ref); got != want {
			t.Errorf("%s: replicaCount %s, want %s", ref, got, want)
		}
	}
	off := &GoGitFetcher{TempDir: t.TempDir(), CacheDir: cache, Offline: true}
	if got := fetchReplicas(t, off, remote, "next"); got != "9" {
		t.Errorf("offline next: replicaCount %s", got)
	}
	// A host key that known_hosts does not hold is refused.
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL)
	other := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(u.Host)}, signer.PublicKey()) + "\n"
	if err := os.WriteFile(other, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := sshAuth(t, srv)
	wrongHost := func(r string) (transport.AuthMethod, error) {
		a, _ := auth(r)
		keys := *a.(*gitssh.PublicKeys)
		cb, err := gitssh.NewKnownHostsCallback(other)
		keys.HostKeyCallback = cb
		return &keys, err
	}
	wantErr(t, fetchErr(t, &GoGitFetcher{TempDir: t.TempDir(), Auth: wrongHost}, remote, "v1"), "fetch "+redactURL(remote), "key mismatch")
}
