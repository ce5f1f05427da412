package render

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/kustomize/api/resource"
)

// Bounds of the remote bases one build fetches: nested remote bases, and
// repositories (remote@ref) in all.
const (
	maxRemoteDepth = 8
	maxRemoteRepos = 16
)

// remoteRef is an entry of resources, bases or components that kustomize
// would fetch: a Git repository (a directory in it), or a file over HTTP.
type remoteRef struct {
	// repo is the URL to clone, ref the commit, tag or branch (?ref= or
	// ?version=) and dir the directory in the repository ("" for its
	// root); timeout is ?timeout=, 0 when not given.
	repo, ref, dir string
	timeout        time.Duration
	// file is the URL of a file (http or https); repo is then "".
	file string
}

// parseRemote tells how kustomize takes an entry of resources, bases or
// components: nil for a local path. Git URLs are split by kustomize's own
// parser (reached through resource.Origin, its exported user).
func parseRemote(entry string) (*remoteRef, error) {
	s := entry
	if rest, ok := cutPrefixFold(s, "git::"); ok {
		// kustomize strips go-getter's prefix (and logs about it).
		s = rest
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "file://"):
		return nil, errors.New("a file:// remote reads the files of the machine pipe runs on: refer to a directory of the repository by a relative path")
	case strings.HasPrefix(lower, "git://"):
		return nil, errors.New("kustomize does not fetch git:// URLs: use https://, ssh:// or git@host:org/repo")
	}
	o := (&resource.Origin{}).Append(s)
	if isHTTPFile(s, o.Repo != "") {
		return &remoteRef{file: s}, nil
	}
	if o.Repo == "" {
		if isRemoteRef(entry) {
			return nil, errors.New("not a remote kustomize fetches (a Git URL: github.com/org/repo//dir?ref=v1, https://host/org/repo.git//dir?ref=v1, git@host:org/repo.git/dir?ref=v1; or an http(s) URL of a file)")
		}
		return nil, nil
	}
	dir := o.Path
	if dir == "notCloned" {
		// Origin names the repository's root so: ask again with a
		// directory below, which tells the root from a directory so named.
		noQuery, query, _ := strings.Cut(s, "?")
		if p := (&resource.Origin{}).Append(strings.TrimRight(noQuery, "/") + "/x?" + query); p.Repo == o.Repo {
			dir = path.Dir(filepath.ToSlash(p.Path))
		}
	}
	if dir == "." {
		dir = ""
	}
	rr := &remoteRef{repo: o.Repo, ref: o.Ref, dir: filepath.ToSlash(dir)}
	if _, query, ok := strings.Cut(s, "?"); ok {
		if v, err := url.ParseQuery(query); err == nil {
			rr.timeout = parseTimeout(v.Get("timeout"))
		}
	}
	return rr, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// parseTimeout reads ?timeout= like kustomize: integer seconds or a
// duration; anything else is no timeout.
func parseTimeout(v string) time.Duration {
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d
	}
	return 0
}

// isHTTPFile tells an http(s) entry that is a file from one that is a Git
// repository. kustomize tries every entry as a file first (downloading
// it) and then as a repository; pipe decides without a download: a URL
// whose path ends in .yaml, .yml or .json is a file, unless it carries
// what only Git URLs have (?ref=, ?version=, //, .git, _git/).
func isHTTPFile(s string, gitLike bool) bool {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if !gitLike {
		return true
	}
	q := u.Query()
	p := u.EscapedPath()
	if q.Get("ref") != "" || q.Get("version") != "" || strings.Contains(p, "//") ||
		strings.Contains(p, ".git/") || strings.HasSuffix(p, ".git") || strings.Contains(p, "/_git/") {
		return false
	}
	switch strings.ToLower(path.Ext(p)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// fetched is a remote repository fetched for the build.
type fetched struct {
	tree *ktree
	err  error
}

// remoteBase fetches (once per build) the repository of a Git entry and
// returns its tree and the directory the entry names in it.
func (b *kbuild) remoteBase(rr *remoteRef) (*ktree, string, error) {
	if rr.ref == "" {
		return nil, "", errors.New("no ref: pin the remote base with ?ref=<tag or commit> (pipe renders remote bases at pinned refs only, so that a plan shows what a deployment applies)")
	}
	sub, err := cleanSub(rr.dir)
	if err != nil {
		return nil, "", err
	}
	key := redactURL(rr.repo) + "@" + rr.ref
	f, ok := b.remotes[key]
	if !ok {
		if len(b.remotes) >= maxRemoteRepos {
			return nil, "", fmt.Errorf("more than %d remote repositories in one build: vendor some bases into the repository", maxRemoteRepos)
		}
		f = &fetched{}
		f.tree, f.err = b.fetchTree(rr, key)
		b.remotes[key] = f
	}
	if f.err != nil {
		return nil, "", f.err
	}
	if sub == "" {
		sub = "."
	}
	dir, err := f.tree.resolve(f.tree.root, sub)
	if err != nil {
		return nil, "", err
	}
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		return nil, "", fmt.Errorf("%s: no such directory at %s", sub, rr.ref)
	case !st.IsDir():
		return nil, "", fmt.Errorf("%s is a file at %s: a remote base is a directory holding a kustomization", sub, rr.ref)
	}
	return f.tree, dir, nil
}

func (b *kbuild) fetchTree(rr *remoteRef, desc string) (*ktree, error) {
	if b.r.Git == nil {
		return nil, errors.New("no Git fetcher was given to rendering")
	}
	ctx := b.ctx
	if rr.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rr.timeout)
		defer cancel()
	}
	dir, cleanup, err := b.r.Git.Fetch(ctx, rr.repo, rr.ref, "")
	if err != nil {
		if ctx.Err() != nil && b.ctx.Err() == nil {
			return nil, fmt.Errorf("%w (?timeout=%s)", err, rr.timeout)
		}
		return nil, err
	}
	b.cleanups = append(b.cleanups, cleanup)
	t, err := newTree(dir)
	if err != nil {
		return nil, err
	}
	kt := &ktree{tree: t, desc: desc}
	b.fs.trees = append(b.fs.trees, kt)
	return kt, nil
}

// remoteFile downloads a file entry (once per build), within the caps of
// a file of the tree.
func (b *kbuild) remoteFile(u string) ([]byte, error) {
	if data, ok := b.downloads[u]; ok {
		return data, nil
	}
	data, err := b.r.get(b.ctx, "the kustomize resource", u)
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes (the limit for a file kustomize reads)", redactURL(u), maxFileSize)
	}
	if aerr := checkAliases(redactURL(u), data); aerr != nil {
		return nil, aerr
	}
	b.downloads[u] = data
	return data, nil
}
