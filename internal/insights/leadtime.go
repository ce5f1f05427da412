package insights

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"time"

	"github.com/gitops-pipe/pipe/internal/source"
	"github.com/gitops-pipe/pipe/internal/state"
)

// History is the repository's commits, as lead time needs them.
type History interface {
	// Head is the tip of the deployed branch (the commit checked out).
	Head() string
	// CommitNode is a commit's parents, committer time and root tree.
	CommitNode(hash string) (parents []string, committed time.Time, tree string, err error)
	// DiffTrees lists the paths that differ between two root trees.
	DiffTrees(a, b string) ([]string, error)
}

// RepoHistory is the History of a repository opened with source.
type RepoHistory struct {
	Repo *source.Repo
	// HeadHash is the tip of the deployed branch.
	HeadHash string
}

// Head implements History.
func (h RepoHistory) Head() string { return h.HeadHash }

// CommitNode implements History.
func (h RepoHistory) CommitNode(hash string) ([]string, time.Time, string, error) {
	return h.Repo.CommitNode(hash)
}

// DiffTrees implements History.
func (h RepoHistory) DiffTrees(a, b string) ([]string, error) { return h.Repo.DiffTrees(a, b) }

// leadTime is the lead time of one commit of a deployment.
type leadTime struct {
	seconds float64
	// clamped: the commit time was after the deployment (clock skew).
	clamped bool
}

// commitAt is a commit that changed an application, at its position in
// the main history.
type commitAt struct {
	pos  int
	when time.Time
}

// leadTimes finds the commits each deployment brought to its application.
//
// The main history is the first-parent chain from the head; a commit
// merged from a side branch takes the position of the merge that brought
// it. A deployment of the commit at position t, after one at position p,
// brought the commits at positions (p, t] that changed a file below the
// application's directory. Each commit of the main history is read and
// compared with its first parent once, whatever the number of
// applications and deployments.
type leadTimes struct {
	h     History
	built bool
	err   error
	pos   map[string]int
	when  map[string]time.Time
	tree  map[string]string
	// byDir lists, per application directory, the commits that changed it,
	// by position.
	byDir map[string][]commitAt
	dirs  map[string]bool
	// Counts for the notes.
	offMain, firsts, unattributed, truncated, missing int
}

func newLeadTimes(h History, apps []App) *leadTimes {
	lt := &leadTimes{h: h, dirs: map[string]bool{}}
	for _, a := range apps {
		if a.Dir != "" {
			lt.dirs[path.Clean(a.Dir)] = true
		}
	}
	return lt
}

// build reads the main history once.
func (lt *leadTimes) build() {
	lt.built = true
	lt.pos, lt.when, lt.tree, lt.byDir = map[string]int{}, map[string]time.Time{}, map[string]string{}, map[string][]commitAt{}
	type node struct {
		hash    string
		parents []string
	}
	var chain []node
	for h := lt.h.Head(); h != ""; {
		parents, when, tree, err := lt.h.CommitNode(h)
		if err != nil {
			if errors.Is(err, source.ErrMissingObject) {
				lt.truncated++
				break
			}
			lt.err = err
			return
		}
		lt.when[h], lt.tree[h] = when, tree
		chain = append(chain, node{h, parents})
		if len(parents) == 0 {
			break
		}
		h = parents[0]
	}
	// Oldest first: positions grow with the history.
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	for i, n := range chain {
		lt.pos[n.hash] = i
	}
	for i, n := range chain {
		lt.attribute(n.hash, n.parents, i)
		// The commits a merge brought from its other parents.
		stack := append([]string(nil), n.parents[min(1, len(n.parents)):]...)
		for len(stack) > 0 {
			h := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if _, done := lt.pos[h]; done {
				continue
			}
			parents, when, tree, err := lt.h.CommitNode(h)
			if err != nil {
				if errors.Is(err, source.ErrMissingObject) {
					lt.truncated++
					continue
				}
				lt.err = err
				return
			}
			lt.pos[h], lt.when[h], lt.tree[h] = i, when, tree
			lt.attribute(h, parents, i)
			stack = append(stack, parents...)
		}
	}
	for d := range lt.byDir {
		cs := lt.byDir[d]
		sort.SliceStable(cs, func(a, b int) bool { return cs[a].pos < cs[b].pos })
	}
}

// attribute records which application directories commit h changed. A
// merge commit changes nothing of its own: the commits it brought are
// attributed one by one.
func (lt *leadTimes) attribute(h string, parents []string, pos int) {
	if len(parents) != 1 || len(lt.dirs) == 0 {
		return
	}
	pt, ok := lt.tree[parents[0]]
	if !ok {
		_, _, t, err := lt.h.CommitNode(parents[0])
		if err != nil {
			return // a parent not in the clone: the commit is left out
		}
		pt = t
	}
	files, err := lt.h.DiffTrees(pt, lt.tree[h])
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for _, f := range files {
		for d := path.Dir(f); ; d = path.Dir(d) {
			if lt.dirs[d] && !seen[d] {
				seen[d] = true
				lt.byDir[d] = append(lt.byDir[d], commitAt{pos: pos, when: lt.when[h]})
			}
			if d == "." || d == "/" {
				break
			}
		}
	}
}

// of is the lead time of each commit the deployment rec brought to app,
// after prevs (the app's earlier successful deployments; none for its
// first). They brought the commits up to the furthest of them in the main
// history: a redeployment of an older commit does not bring the commits
// after it again.
func (lt *leadTimes) of(app App, rec *state.Record, prevs []*state.Record) []leadTime {
	if !lt.built {
		lt.build()
	}
	if lt.err != nil {
		return nil
	}
	target := rec.Target.Hash
	when, known := lt.when[target]
	if !known {
		_, w, _, err := lt.h.CommitNode(target)
		if err != nil {
			lt.missing++
			return nil
		}
		when = w
	}
	only := func() []leadTime { return []leadTime{since(rec.EndedAt, when)} }
	t, onMain := lt.pos[target]
	if !onMain {
		lt.offMain++
		return only()
	}
	if len(prevs) == 0 {
		lt.firsts++
		return only()
	}
	if app.Dir == "" {
		lt.unattributed++
		return only()
	}
	p := -1
	for _, pr := range prevs {
		if q, ok := lt.pos[pr.Target.Hash]; ok && q > p {
			p = q
		}
	}
	if p < 0 {
		// No earlier deployment is in the main history: from its start.
		lt.offMain++
		return only()
	}
	if p >= t {
		return nil // a commit already brought, or an older one (a revert by redeploy)
	}
	cs := lt.byDir[path.Clean(app.Dir)]
	lo := sort.Search(len(cs), func(i int) bool { return cs[i].pos > p })
	hi := sort.Search(len(cs), func(i int) bool { return cs[i].pos > t })
	out := make([]leadTime, 0, hi-lo)
	for _, c := range cs[lo:hi] {
		out = append(out, since(rec.EndedAt, c.when))
	}
	return out
}

func since(end, commit time.Time) leadTime {
	d := end.Sub(commit).Seconds()
	if d < 0 {
		return leadTime{seconds: 0, clamped: true}
	}
	return leadTime{seconds: d}
}

// notes say what lead time left out.
func (lt *leadTimes) notes() []string {
	var out []string
	if lt.err != nil {
		out = append(out, "lead time for changes could not be computed: "+lt.err.Error())
	}
	if lt.truncated > 0 {
		out = append(out, "the history of this clone is truncated (a shallow clone): commits before it are not counted; fetch the full history (fetch-depth: 0)")
	}
	if lt.firsts > 0 {
		out = append(out, fmt.Sprintf("%d first deployment(s) of an application: only the deployed commit counts for lead time", lt.firsts))
	}
	if lt.offMain > 0 {
		out = append(out, fmt.Sprintf("%d deployment(s) of a commit outside the history of the head: only the deployed commit counts for lead time", lt.offMain))
	}
	if lt.missing > 0 {
		out = append(out, fmt.Sprintf("%d deployment(s) of a commit not in this clone: no lead time for them (fetch the full history)", lt.missing))
	}
	if lt.unattributed > 0 {
		out = append(out, fmt.Sprintf("%d deployment(s) of applications no longer configured: only the deployed commit counts for lead time", lt.unattributed))
	}
	return out
}
