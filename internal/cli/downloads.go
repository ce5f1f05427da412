package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"golang.org/x/net/http/httpproxy"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fetchcache"
	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/gitops-pipe/pipe/internal/netguard"
	"github.com/gitops-pipe/pipe/internal/redact"
	"github.com/gitops-pipe/pipe/internal/render"
	"github.com/gitops-pipe/pipe/internal/state"
)

// addDownloadFlags adds the flags of what rendering downloads: charts,
// repository indexes, remote values files, Git repositories.
// --offline, when the command reads records too, keeps them local as well.
func addDownloadFlags(cmd *cobra.Command) {
	const render = "render from the download cache only (charts, indexes, remote values files, Git repositories), failing with what is missing"
	if f := cmd.Flags().Lookup("offline"); f != nil {
		f.Usage = "use no network: read and write local records only (no fetch, no push), and " + render + "; env PIPE_OFFLINE"
	} else {
		cmd.Flags().Bool("offline", false, "use no network: "+render+"; env PIPE_OFFLINE")
	}
	cmd.Flags().String("download-cache", "", "the directory of the download cache, shared by runs and verified before use (default $XDG_CACHE_HOME/pipe/downloads or ~/.cache/pipe/downloads); env PIPE_DOWNLOAD_CACHE")
}

// downloads are how rendering reaches beyond the repository in one run.
type downloads struct {
	HTTP     *http.Client
	Git      render.GitFetcher
	CacheDir string
	Offline  bool
}

// downloadTimeout bounds one download (a large chart over a slow link).
const downloadTimeout = 10 * time.Minute

// downloads builds the run's download client and Git fetcher. On an
// untrusted run (a pull request's plan) they reach public hosts and the
// servers .pipe/config.yaml names only, and Git remotes on this machine's
// disk are refused: the change chooses what is fetched, and whatever is
// fetched can end up in the plan it comments.
func (a *app) downloads(v *viper.Viper, cfg *config.PipeSpec, untrusted bool) downloads {
	d := downloads{Offline: v.GetBool("offline"), CacheDir: a.cacheDir(v)}
	base := http.DefaultTransport.(*http.Transport).Clone()
	proxies := a.proxyEnv()
	proxyFor := proxies.ProxyFunc()
	base.Proxy = func(r *http.Request) (*url.URL, error) { return proxyFor(r.URL) }
	fetcher := &render.GoGitFetcher{Auth: a.gitAuth(cfg, untrusted), CacheDir: d.CacheDir, Offline: d.Offline}
	d.HTTP = &http.Client{Timeout: downloadTimeout, Transport: base}
	d.Git = fetcher
	if root := d.CacheDir; root != "" && !d.Offline {
		// Once a day, when a command ends (not interrupted), what no run
		// used for a month goes. Not offline: a restored cache is then all there is.
		a.afterRun = append(a.afterRun, func() { trimDownloadCache(root, time.Now()) })
	}
	if untrusted {
		guard := netguard.New(trustedHosts(cfg)...)
		// The environment's proxy (base.Proxy, which Transport makes the
		// guard's) is asked for the addresses the guard checked, never
		// for names it would resolve again.
		guard.KnownProxies(context.Background(), proxies.HTTPProxy, proxies.HTTPSProxy)
		d.HTTP.Transport = guard.Transport(base)
		// A pull request's plan has a cache of its own: a later trusted run
		// must never resolve a Git ref to an object it brought in, and it
		// must not be served what a trusted run downloaded with the
		// runner's own credentials.
		if d.CacheDir != "" {
			d.CacheDir = filepath.Join(d.CacheDir, prCacheSubdir)
			fetcher.CacheDir = d.CacheDir
		}
		fetcher.Untrusted = true
		d.Git = &guardedGit{next: fetcher, guard: guard, atEnd: func(f func()) { a.atEnd = append(a.atEnd, f) }}
	}
	return d
}

// proxyEnv is the proxy configuration of the run's environment
// (HTTPS_PROXY, HTTP_PROXY, NO_PROXY, upper or lower case), as net/http
// reads it.
func (a *app) proxyEnv() *httpproxy.Config {
	get := func(k string) string { return cmp.Or(a.env.Getenv(k), a.env.Getenv(strings.ToLower(k))) }
	return &httpproxy.Config{
		HTTPProxy:  get("HTTP_PROXY"),
		HTTPSProxy: get("HTTPS_PROXY"),
		NoProxy:    get("NO_PROXY"),
		CGI:        a.env.Getenv("REQUEST_METHOD") != "",
	}
}

// prCacheSubdir is the download cache of pull requests' plans, below the
// run's.
const prCacheSubdir = "pull-requests"

// trimDownloadCache trims the download cache root and its pull requests'
// cache, when due (render.TrimCache, fetchcache.ClaimTrim).
func trimDownloadCache(root string, now time.Time) fetchcache.Trimmed {
	var t fetchcache.Trimmed
	if !fetchcache.ClaimTrim(root, now) {
		return t
	}
	for _, d := range []string{root, filepath.Join(root, prCacheSubdir)} {
		t.Add(render.TrimCache(d, now))
	}
	return t
}

// gitBudget bounds what the Git fetches of an unreviewed change may read
// (packs included) in one run.
const gitBudget = 1 << 30

// cacheDir is --download-cache (or PIPE_DOWNLOAD_CACHE), else
// fetchcache.DefaultDir's; "" when none can be found: nothing is cached
// then, and --offline fails naming what is missing.
func (a *app) cacheDir(v *viper.Viper) string {
	if d := v.GetString("download-cache"); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			return abs
		}
		return d
	}
	d, err := fetchcache.DefaultDir(a.env.Getenv)
	if err != nil {
		return ""
	}
	return d
}

// trustedHosts are the servers the trusted configuration names: chart
// repositories (HTTP addresses, GIT remotes) and chart registries.
func trustedHosts(cfg *config.PipeSpec) []string {
	if cfg == nil {
		return nil
	}
	var hosts []string
	for _, r := range cfg.ChartRepositories {
		hosts = append(hosts, r.Address, r.GitRemote)
	}
	for _, r := range cfg.ChartRegistries {
		hosts = append(hosts, r.Address)
	}
	return hosts
}

// gitAuth picks the credentials of a Git remote that rendering fetches: the
// sshKeyFile of the GIT chart repository of .pipe/config.yaml with that
// remote (PipeCD's way), else the run's forge token for its own forge's
// hosts only (see state.ForgeCredentialsFromEnv), else, on a trusted run,
// the SSH key or agent of the environment. An unreviewed change chooses the
// remote: its plan uses no SSH key the configuration does not name for it,
// so that no private repository the runner's key can read is rendered
// into the plan it comments.
func (a *app) gitAuth(cfg *config.PipeSpec, untrusted bool) func(remote string) (transport.AuthMethod, error) {
	return func(remote string) (transport.AuthMethod, error) {
		c := state.ForgeCredentialsFromEnv(a.env.Getenv, remote)
		configured := false
		if cfg != nil {
			for _, r := range cfg.ChartRepositories {
				if r.Type == "GIT" && r.SSHKeyFile != "" && sameRemote(r.GitRemote, remote) {
					c.SSHKeyFile, c.SSHAgentSocket, c.SSHKeyPassword = string(r.SSHKeyFile), "", ""
					configured = true
				}
			}
		}
		if untrusted && !configured && c.KnownHostsFiles != nil {
			return nil, fmt.Errorf("no sshKeyFile for this remote: a pull request's plan reaches an SSH remote only with the sshKeyFile of the GIT chart repository of %s with this gitRemote, "+
				"never with the runner's own keys (PIPE_SSH_KEY_FILE, ssh-agent); or use its https:// URL", config.RepoConfigFile)
		}
		if c.Token == "" && c.KnownHostsFiles == nil {
			return nil, nil // https without a token for this host, git://, a local path
		}
		auth, err := c.AuthMethod(remote)
		var se *state.Error
		if errors.As(err, &se) && se.Hint != "" {
			hint := se.Hint
			if c.SSHKeyFile == "" && c.SSHAgentSocket == "" && se.Op == "ssh auth" && strings.HasPrefix(se.Msg, "no ssh key") {
				// state's hint is about pushing records: this is a read.
				hint = "set PIPE_SSH_KEY_FILE to a key that can read the repository, give the GIT chart repository of " +
					config.RepoConfigFile + " with this gitRemote an sshKeyFile, or start an ssh-agent holding one"
			}
			return nil, fmt.Errorf("%w (%s)", err, hint)
		}
		return auth, err
	}
}

// sameRemote compares two Git remotes as the same repository: host case,
// a trailing slash and ".git" aside.
func sameRemote(a, b string) bool {
	norm := func(s string) string {
		s = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(s), "/"), ".git")
		if h := netguard.Host(s); h != "" {
			if i := strings.Index(strings.ToLower(s), h); i >= 0 {
				s = s[:i] + h + s[i+len(h):]
			}
		}
		return s
	}
	return a != "" && norm(a) == norm(b)
}

// guardedGit refuses the Git remotes an unreviewed change may not reach:
// anything but https, http and ssh with a host (a path on this machine,
// file://, git://), and a host that is not public and not configured.
// go-git's HTTP traffic goes through a proxy of the guard (started on the
// first fetch, stopped when the command returns), which judges each
// connection, redirects included, and bounds what is read; SSH is checked
// before it connects, and its host key against known_hosts.
type guardedGit struct {
	next  *render.GoGitFetcher
	guard *netguard.Guard
	atEnd func(func())

	once  sync.Once
	proxy *netguard.Proxy
	err   error
}

func (g *guardedGit) Fetch(ctx context.Context, remote, ref, sub string) (string, func(), error) {
	ep, err := transport.NewEndpoint(remote)
	if err != nil {
		return "", nil, fmt.Errorf("git remote %s: %w", redact.URL(remote), err)
	}
	switch ep.Protocol {
	case "https", "http", "ssh":
	default:
		what := ep.Protocol + "://"
		if ep.Protocol == "file" {
			what = "a path on this machine"
		}
		return "", nil, fmt.Errorf("git remote %s is %s: an unreviewed change may only fetch over https or ssh, from public hosts "+
			"or the GIT chart repositories of %s", redact.URL(remote), what, config.RepoConfigFile)
	}
	if ep.Host == "" {
		return "", nil, fmt.Errorf("git remote %s names no host", redact.URL(remote))
	}
	if err := g.guard.Check(ctx, ep.Host); err != nil {
		return "", nil, fmt.Errorf("git remote %s: %w", redact.URL(remote), err)
	}
	if ep.Protocol != "ssh" {
		g.once.Do(func() {
			g.proxy, g.err = g.guard.StartProxy(gitBudget)
			if g.err == nil {
				g.next.ProxyURL = g.proxy.URL()
				g.atEnd(func() { _ = g.proxy.Close() })
			}
		})
		if g.err != nil {
			return "", nil, g.err
		}
	}
	if g.proxy != nil {
		_ = g.proxy.Refused() // forget an earlier fetch's
	}
	dir, cleanup, err := g.next.Fetch(ctx, remote, ref, sub)
	switch {
	case err == nil || g.proxy == nil:
	case g.proxy.Exceeded():
		err = fmt.Errorf("%w (the Git fetches of this pull request's plan read more than %s, the limit)", err, fsafe.Bytes(gitBudget))
	default:
		// go-git tells the proxy's status code only: the guard's reason.
		if why := g.proxy.Refused(); why != nil && !strings.Contains(strings.Join(strings.Fields(err.Error()), " "), strings.Join(strings.Fields(why.Error()), " ")) {
			err = fmt.Errorf("%w: %v", err, why)
		}
	}
	return dir, cleanup, err
}
