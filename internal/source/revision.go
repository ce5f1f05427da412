package source

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
)

// Revision is a commit, with the name it was asked for by.
type Revision struct {
	// Name is the revision as written (e.g. "origin/main", "HEAD~3").
	Name string `json:"name"`
	// Hash is the commit's full hexadecimal hash.
	Hash string `json:"hash"`
}

// Short is the abbreviated hash, as git log --oneline shows it.
func (v Revision) Short() string {
	if len(v.Hash) > 7 {
		return v.Hash[:7]
	}
	return v.Hash
}

// String is "name (short hash)", or the short hash when the name is the hash.
func (v Revision) String() string {
	if v.Name == "" || strings.HasPrefix(v.Hash, v.Name) {
		return v.Short()
	}
	return v.Name + " (" + v.Short() + ")"
}

func (v Revision) hash() plumbing.Hash { return plumbing.NewHash(v.Hash) }

// ResolveRevision resolves rev to a commit. It accepts what CI systems and
// users pass: a branch, tag (annotated tags are peeled), remote-tracking
// branch (origin/main), full or abbreviated (4+ digits) commit hash, HEAD or
// @, each optionally followed by ~n, ^n and ^{commit} steps.
func (r *Repo) ResolveRevision(rev string) (Revision, error) {
	base, steps, err := parseRevision(rev)
	if err != nil {
		return Revision{}, revError(rev, ErrInvalidRevision,
			"use a branch, tag, commit hash, HEAD or origin/<branch>, optionally followed by ~n or ^n", "%v", err)
	}
	h, err := r.resolveBase(rev, base)
	if err != nil {
		return Revision{}, err
	}
	var walked revPath
	walked.base = base
	for s := range expand(steps) {
		c, err := r.readCommitHeader(h)
		if err != nil {
			return Revision{}, r.walkError(rev, walked.String(), h, err)
		}
		if s.parent > len(c.parents) {
			if len(c.parents) > 0 {
				return Revision{}, revError(rev, ErrRevisionNotFound, "", "%s (%s) has %s, not %d",
					walked, h.String()[:7], plural(len(c.parents), "parent"), s.parent)
			}
			hint := ""
			if r.Shallow() {
				hint = "this clone is shallow. " + hintFullHistory
			}
			return Revision{}, revError(rev, ErrRevisionNotFound, hint,
				"%s (%s) is the first commit: it has no parent", walked, h.String()[:7])
		}
		h = c.parents[s.parent-1]
		walked.add(s)
	}
	// The walk reads parents lazily: make sure the final commit is present.
	if _, err := r.readCommitHeader(h); err != nil {
		return Revision{}, r.walkError(rev, walked.String(), h, err)
	}
	return Revision{Name: rev, Hash: h.String()}, nil
}

func (r *Repo) walkError(rev, walked string, h plumbing.Hash, err error) error {
	if isNotFound(err) {
		return revError(rev, ErrMissingObject, r.missingHint(),
			"commit %s (%s) is not in this clone", h, walked)
	}
	return revError(rev, err, "", "cannot read commit %s (%s)", h, walked)
}

// step is one ~/^ suffix: take the parent-th parent (1-based), repeat times.
type step struct {
	parent, repeat int
	text           string // "~" or "^n"
}

// expand yields each single parent step.
func expand(steps []step) func(func(step) bool) {
	return func(yield func(step) bool) {
		for _, s := range steps {
			for range s.repeat {
				if !yield(s) {
					return
				}
			}
		}
	}
}

// revPath names the commit reached so far, for errors ("HEAD~41").
type revPath struct {
	base   string
	tildes int
}

func (p *revPath) add(s step) {
	if s.text == "~" {
		p.tildes++
		return
	}
	p.base, p.tildes = p.String()+s.text, 0
}

func (p revPath) String() string {
	if p.tildes == 0 {
		return p.base
	}
	return p.base + "~" + strconv.Itoa(p.tildes)
}

// parseRevision splits "base~2^2" into the base name and its parent steps.
func parseRevision(rev string) (string, []step, error) {
	if rev == "" {
		return "", nil, errors.New("empty revision")
	}
	if strings.Contains(rev, "@{") || strings.Contains(rev, "..") || strings.HasPrefix(rev, ":") ||
		strings.ContainsAny(rev, " \t\n:?*[\\") {
		return "", nil, errors.New("unsupported revision syntax")
	}
	i := strings.IndexAny(rev, "~^")
	if i < 0 {
		i = len(rev)
	}
	base, rest := rev[:i], rev[i:]
	if base == "@" {
		base = "HEAD"
	}
	if base == "" {
		return "", nil, errors.New("missing branch, tag or commit before ~ or ^")
	}
	var steps []step
	for rest != "" {
		op := rest[0]
		rest = rest[1:]
		if op == '^' && strings.HasPrefix(rest, "{") {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return "", nil, errors.New("unterminated ^{")
			}
			if t := rest[1:end]; t != "" && t != "commit" {
				return "", nil, fmt.Errorf("^{%s} is not supported: pipe resolves revisions to commits", t)
			}
			rest = rest[end+1:]
			continue
		}
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		n := 1
		if j > 0 {
			v, err := strconv.Atoi(rest[:j])
			if err != nil {
				return "", nil, fmt.Errorf("bad number %q", rest[:j])
			}
			n = v
		}
		text := string(op) + rest[:j]
		rest = rest[j:]
		switch {
		case op == '~':
			steps = append(steps, step{parent: 1, repeat: n, text: "~"})
		case n > 0: // ^0 is the commit itself
			steps = append(steps, step{parent: n, repeat: 1, text: text})
		}
	}
	return base, steps, nil
}

// resolveBase resolves a name to a commit the way git rev-parse does: a full
// hash, then references (HEAD, refs/..., tags, branches, remote branches),
// then an abbreviated hash.
func (r *Repo) resolveBase(rev, name string) (plumbing.Hash, error) {
	if len(name) == 40 && isHex(name) {
		return r.peel(rev, plumbing.NewHash(strings.ToLower(name)))
	}
	for _, rule := range plumbing.RefRevParseRules {
		ref, err := storer.ResolveReference(r.st, plumbing.ReferenceName(fmt.Sprintf(rule, name)))
		if err == nil {
			return r.peel(rev, ref.Hash())
		}
		// Names outside refs/ (other than HEAD and its kind) are refused by
		// the storage; that only means this rule does not apply.
		if !errors.Is(err, plumbing.ErrReferenceNotFound) && !errors.Is(err, dotgit.ErrReferenceNameEscape) {
			return plumbing.ZeroHash, revError(rev, err, "", "cannot read reference %s", name)
		}
	}
	if len(name) >= 4 && isHex(name) {
		return r.resolvePrefix(rev, strings.ToLower(name))
	}
	return plumbing.ZeroHash, revError(rev, ErrRevisionNotFound, r.missingHint(),
		"no branch, tag or commit named %s in this clone", name)
}

func (r *Repo) resolvePrefix(rev, prefix string) (plumbing.Hash, error) {
	b, _ := hex.DecodeString(prefix[:len(prefix)&^1])
	hashes, err := r.st.HashesWithPrefix(b)
	if err != nil {
		return plumbing.ZeroHash, revError(rev, err, "", "cannot look up %s", prefix)
	}
	var commits []plumbing.Hash
	for _, h := range hashes {
		if !strings.HasPrefix(h.String(), prefix) {
			continue
		}
		if c, err := r.peel(rev, h); err == nil && !containsHash(commits, c) {
			commits = append(commits, c)
		}
	}
	switch len(commits) {
	case 0:
		return plumbing.ZeroHash, revError(rev, ErrRevisionNotFound, r.missingHint(),
			"no commit with a hash starting %s in this clone", prefix)
	case 1:
		return commits[0], nil
	}
	return plumbing.ZeroHash, revError(rev, ErrInvalidRevision, "give more digits of the hash",
		"abbreviated hash %s is ambiguous: %d commits match", prefix, len(commits))
}

// peel follows annotated tags to the commit they name.
func (r *Repo) peel(rev string, h plumbing.Hash) (plumbing.Hash, error) {
	for range 16 {
		data, t, err := r.readObject(plumbing.AnyObject, h)
		if isNotFound(err) {
			return plumbing.ZeroHash, revError(rev, ErrMissingObject, r.missingHint(),
				"object %s is not in this clone", h)
		}
		if err != nil {
			return plumbing.ZeroHash, revError(rev, err, "", "cannot read object %s", h)
		}
		switch t {
		case plumbing.CommitObject:
			return h, nil
		case plumbing.TagObject:
			// A tag starts with "object <hash>\n".
			target, ok := bytes.CutPrefix(data, []byte("object "))
			if !ok || len(target) < 40 || !isHex(string(target[:40])) {
				return plumbing.ZeroHash, revError(rev, ErrInvalidRevision, "", "malformed tag %s", h)
			}
			h = plumbing.NewHash(string(target[:40]))
		default:
			return plumbing.ZeroHash, revError(rev, ErrInvalidRevision, "",
				"%s names a %s, not a commit", h.String()[:7], t)
		}
	}
	return plumbing.ZeroHash, revError(rev, ErrInvalidRevision, "", "tag chain too long")
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func containsHash(hs []plumbing.Hash, h plumbing.Hash) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}
