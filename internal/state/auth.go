package state

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/gitops-pipe/pipe/internal/redact"
)

// Credentials authenticate fetches and pushes. The zero value means none
// (a public remote, or a local path). The package never reads the
// environment: build them with CredentialsFromEnv or by hand.
type Credentials struct {
	// HTTPS basic auth: a token as the password.
	Username string
	Token    string
	// TokenSource names where the token came from (an env var name), for
	// messages; it is never the token itself.
	TokenSource string

	// SSH: a private key file (PEM/OpenSSH) or an agent socket, and the
	// known_hosts files the server key is checked against (required: host
	// keys are always checked).
	SSHUser         string
	SSHKeyFile      string
	SSHKeyPassword  string
	SSHAgentSocket  string
	KnownHostsFiles []string
}

// String never shows the token.
func (c Credentials) String() string {
	switch {
	case c.Token != "":
		return fmt.Sprintf("token from %s (user %s)", orDefault(c.TokenSource, "caller"), c.Username)
	case c.SSHKeyFile != "":
		return "ssh key " + c.SSHKeyFile
	case c.SSHAgentSocket != "":
		return "ssh agent"
	}
	return "none"
}

// CredentialsFromEnv picks credentials for remoteURL from environment
// variables read through getenv:
//
//   - PIPE_GIT_TOKEN (user PIPE_GIT_USER, default x-access-token) for any
//     HTTPS host, taking precedence;
//   - GITHUB_TOKEN with user x-access-token, for github.com and GitHub
//     Enterprise (GITHUB_SERVER_URL's host);
//   - GITLAB_TOKEN with user oauth2, else CI_JOB_TOKEN with user
//     gitlab-ci-token, for gitlab.com and CI_SERVER_HOST;
//   - for ssh remotes: PIPE_SSH_KEY_FILE (password PIPE_SSH_KEY_PASSWORD)
//     or the agent at SSH_AUTH_SOCK, and known_hosts from
//     PIPE_SSH_KNOWN_HOSTS / SSH_KNOWN_HOSTS (colon-separated) or
//     $HOME/.ssh/known_hosts and /etc/ssh/ssh_known_hosts.
//
// On an unknown HTTPS host, GITHUB_TOKEN and GITLAB_TOKEN are used only if
// they are the only token set: a token is never sent to a host it was not
// meant for when the intent is ambiguous. Nor is it sent over plain http
// to another host than this machine: fetches and pushes fail then, saying
// to use https.
func CredentialsFromEnv(getenv func(string) string, remoteURL string) Credentials {
	if isSSHURL(remoteURL) {
		c := Credentials{SSHUser: sshUser(remoteURL), SSHKeyFile: getenv("PIPE_SSH_KEY_FILE"),
			SSHKeyPassword: getenv("PIPE_SSH_KEY_PASSWORD")}
		if c.SSHKeyFile == "" {
			c.SSHAgentSocket = getenv("SSH_AUTH_SOCK")
		}
		kh := orDefault(getenv("PIPE_SSH_KNOWN_HOSTS"), getenv("SSH_KNOWN_HOSTS"))
		if kh != "" {
			c.KnownHostsFiles = strings.Split(kh, ":")
		} else {
			if home := getenv("HOME"); home != "" {
				c.KnownHostsFiles = append(c.KnownHostsFiles, home+"/.ssh/known_hosts")
			}
			c.KnownHostsFiles = append(c.KnownHostsFiles, "/etc/ssh/ssh_known_hosts")
		}
		return c
	}
	if !strings.HasPrefix(remoteURL, "http://") && !strings.HasPrefix(remoteURL, "https://") {
		return Credentials{}
	}
	if t := getenv("PIPE_GIT_TOKEN"); t != "" {
		return Credentials{Username: orDefault(getenv("PIPE_GIT_USER"), "x-access-token"), Token: t, TokenSource: "PIPE_GIT_TOKEN"}
	}
	f := forgeOf(getenv, remoteURL)
	if c, ok := f.own(); ok {
		return c
	}
	switch {
	case !f.github && !f.gitlab && f.gh.Token != "" && f.gl.Token == "":
		return f.gh
	case !f.github && !f.gitlab && f.gl.Token != "" && f.gh.Token == "":
		return f.gl
	}
	return Credentials{}
}

// forge is what an HTTPS remote's host is to the CI forges, and their
// tokens in the environment.
type forge struct {
	// github: github.com or GITHUB_SERVER_URL's host; gitlab: gitlab.com or
	// CI_SERVER_HOST.
	github, gitlab bool
	// gh is GITHUB_TOKEN's credentials, gl GITLAB_TOKEN's, else
	// CI_JOB_TOKEN's (Token empty when unset).
	gh, gl Credentials
}

func forgeOf(getenv func(string) string, remoteURL string) forge {
	host := urlHost(remoteURL)
	f := forge{
		github: host == "github.com" || strings.HasSuffix(host, ".github.com") ||
			(getenv("GITHUB_SERVER_URL") != "" && urlHost(getenv("GITHUB_SERVER_URL")) == host),
		gitlab: host == "gitlab.com" || (getenv("CI_SERVER_HOST") != "" && getenv("CI_SERVER_HOST") == host),
		gh:     Credentials{Username: "x-access-token", Token: getenv("GITHUB_TOKEN"), TokenSource: "GITHUB_TOKEN"},
		gl:     Credentials{Username: "oauth2", Token: getenv("GITLAB_TOKEN"), TokenSource: "GITLAB_TOKEN"},
	}
	if f.gl.Token == "" {
		f.gl = Credentials{Username: "gitlab-ci-token", Token: getenv("CI_JOB_TOKEN"), TokenSource: "CI_JOB_TOKEN"}
	}
	return f
}

// own returns the token of the forge the host belongs to, if it is set.
func (f forge) own() (Credentials, bool) {
	switch {
	case f.github && f.gh.Token != "":
		return f.gh, true
	case f.gitlab && f.gl.Token != "":
		return f.gl, true
	}
	return Credentials{}, false
}

// AuthMethod turns the credentials into go-git's transport auth for url.
// Over plain http it refuses to send a token or the credentials of the
// URL's user info (which go-git sends when there is no token) to any host
// but this machine: anyone on the network path would read them.
func (c Credentials) AuthMethod(url string) (transport.AuthMethod, error) {
	if isSSHURL(url) {
		return c.sshAuth(url)
	}
	if redact.Cleartext(url) {
		what := ""
		switch ep, err := transport.NewEndpoint(url); {
		case c.Token != "":
			what = "the token from " + orDefault(c.TokenSource, "the caller")
		case err == nil && (ep.User != "" || ep.Password != ""):
			what = "the credentials in the remote's URL"
		}
		if what != "" {
			host := orDefault(urlHost(url), "its host")
			return nil, &Error{Op: "http auth", Msg: fmt.Sprintf("refusing to send %s over plain http to %s, where anyone on the network path can read it", what, host),
				Hint: fmt.Sprintf("use the remote's https:// URL (git remote set-url <remote> https://%s/...); "+
					"plain http carries credentials only to this machine (localhost, 127.0.0.1, ::1)", host)}
		}
	}
	if c.Token != "" {
		return &githttp.BasicAuth{Username: orDefault(c.Username, "x-access-token"), Password: c.Token}, nil
	}
	return nil, nil
}

func (c Credentials) sshAuth(url string) (transport.AuthMethod, error) {
	user := orDefault(c.SSHUser, orDefault(sshUser(url), "git"))
	// go-git would fall back to $SSH_KNOWN_HOSTS and ~/.ssh: never call it
	// without files, the caller decides where known hosts come from.
	hint := "add the server's key to ~/.ssh/known_hosts (ssh-keyscan HOST >> ~/.ssh/known_hosts) or set PIPE_SSH_KNOWN_HOSTS"
	files := existing(c.KnownHostsFiles)
	if len(files) == 0 {
		return nil, &Error{Op: "ssh auth", Msg: "no known_hosts file to check the server's host key against", Hint: hint}
	}
	db, err := gitssh.NewKnownHostsDb(files...)
	if err != nil {
		return nil, &Error{Op: "ssh auth", Msg: "cannot read known_hosts", Err: err, Hint: hint}
	}
	helper := gitssh.HostKeyCallbackHelper{HostKeyCallback: db.HostKeyCallback(),
		HostKeyAlgorithms: db.HostKeyAlgorithms(sshHostPort(url))}
	switch {
	case c.SSHKeyFile != "":
		pk, err := gitssh.NewPublicKeysFromFile(user, c.SSHKeyFile, c.SSHKeyPassword)
		if err != nil {
			return nil, &Error{Op: "ssh auth", Msg: "cannot read key " + c.SSHKeyFile, Err: err}
		}
		pk.HostKeyCallbackHelper = helper
		return pk, nil
	case c.SSHAgentSocket != "":
		return &gitssh.PublicKeysCallback{User: user, HostKeyCallbackHelper: helper, Callback: func() ([]ssh.Signer, error) {
			conn, err := net.Dial("unix", c.SSHAgentSocket)
			if err != nil {
				return nil, fmt.Errorf("ssh agent: %w", err)
			}
			return agent.NewClient(conn).Signers()
		}}, nil
	}
	return nil, &Error{Op: "ssh auth", Msg: "no ssh key file and no agent",
		Hint: "set PIPE_SSH_KEY_FILE to a deploy key with write access, or run an ssh-agent (SSH_AUTH_SOCK)"}
}

func existing(files []string) []string {
	var out []string
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			out = append(out, f)
		}
	}
	return out
}

// hostKind classifies the remote for hints: "github", "gitlab" or "".
func hostKind(c Credentials, url string) string {
	h := urlHost(url)
	switch {
	case c.TokenSource == "GITHUB_TOKEN" || h == "github.com" || strings.HasSuffix(h, ".github.com"):
		return "github"
	case c.TokenSource == "GITLAB_TOKEN" || c.TokenSource == "CI_JOB_TOKEN" || h == "gitlab.com":
		return "gitlab"
	}
	return ""
}

func isSSHURL(u string) bool {
	if strings.HasPrefix(u, "ssh://") || strings.HasPrefix(u, "git+ssh://") {
		return true
	}
	// scp-like user@host:path
	return !strings.Contains(u, "://") && strings.Contains(u, "@") && strings.Contains(u, ":")
}

func sshUser(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "ssh://"), "git+ssh://")
	if i := strings.Index(u, "@"); i > 0 && !strings.Contains(u[:i], "/") {
		return u[:i]
	}
	return ""
}

func sshHostPort(u string) string {
	ep, err := transport.NewEndpoint(u)
	if err != nil {
		return ""
	}
	port := ep.Port
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(ep.Host, fmt.Sprint(port))
}

func urlHost(u string) string {
	ep, err := transport.NewEndpoint(u)
	if err != nil {
		return ""
	}
	return strings.ToLower(ep.Host)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ForgeCredentialsFromEnv picks credentials for a remote that the
// repository's content names rather than its own origin (a chart's or a
// kustomize base's Git remote), which a pull request can choose: a token
// goes only to the forge it belongs to (GITHUB_TOKEN to github.com and
// GITHUB_SERVER_URL's host, GITLAB_TOKEN or CI_JOB_TOKEN to gitlab.com and
// CI_SERVER_HOST), never to another host, and PIPE_GIT_TOKEN, which
// CredentialsFromEnv sends to any host, is not used. SSH remotes get the
// key, agent and known_hosts of CredentialsFromEnv: a key signs, it is
// never sent.
func ForgeCredentialsFromEnv(getenv func(string) string, remoteURL string) Credentials {
	if isSSHURL(remoteURL) {
		return CredentialsFromEnv(getenv, remoteURL)
	}
	if !strings.HasPrefix(remoteURL, "https://") && !strings.HasPrefix(remoteURL, "http://") {
		return Credentials{}
	}
	c, _ := forgeOf(getenv, remoteURL).own()
	return c
}
