package source

import (
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Signature is who made a commit, and when.
type Signature struct {
	Name  string    `json:"name"`
	Email string    `json:"email"`
	When  time.Time `json:"when"`
}

// Commit is a commit's metadata.
type Commit struct {
	Hash      string    `json:"hash"`
	Author    Signature `json:"author"`
	Committer Signature `json:"committer"`
	// Subject is the message's first paragraph on one line (git's %s); Body
	// the rest (git's %b) without trailing blank lines.
	Subject string   `json:"subject"`
	Body    string   `json:"body,omitempty"`
	Parents []string `json:"parents"`
}

// CommitInfo reads the metadata of a resolved revision.
func (r *Repo) CommitInfo(rev Revision) (*Commit, error) {
	data, _, err := r.readObject(plumbing.CommitObject, rev.hash())
	if err != nil {
		return nil, r.walkError(rev.Name, rev.Name, rev.hash(), err)
	}
	obj := &plumbing.MemoryObject{}
	obj.SetType(plumbing.CommitObject)
	obj.Write(data)
	var c object.Commit
	if err := c.Decode(obj); err != nil {
		return nil, fmt.Errorf("commit %s: %w", rev.Hash, err)
	}
	out := &Commit{
		Hash:      rev.Hash,
		Author:    Signature{Name: c.Author.Name, Email: c.Author.Email, When: c.Author.When},
		Committer: Signature{Name: c.Committer.Name, Email: c.Committer.Email, When: c.Committer.When},
		Parents:   make([]string, 0, len(c.ParentHashes)),
	}
	out.Subject, out.Body = splitMessage(c.Message)
	for _, p := range c.ParentHashes {
		out.Parents = append(out.Parents, p.String())
	}
	return out, nil
}

// splitMessage splits a commit message as git's %s and %b do: the subject is
// the first paragraph with its lines joined by spaces.
func splitMessage(msg string) (subject, body string) {
	msg = strings.ReplaceAll(msg, "\r\n", "\n")
	msg = strings.TrimLeft(msg, "\n")
	head, rest, _ := strings.Cut(msg, "\n\n")
	lines := strings.Split(strings.TrimRight(head, "\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	subject = strings.Join(lines, " ")
	body = strings.TrimRight(strings.TrimLeft(rest, "\n"), " \t\n")
	return subject, body
}

// Message is the full commit message as written: subject, blank line, body.
func (c *Commit) Message() string {
	if c.Body == "" {
		return c.Subject
	}
	return c.Subject + "\n\n" + c.Body
}
