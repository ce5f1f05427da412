package source

import (
	"container/heap"
	"errors"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
)

// MergeBase returns the best common ancestor of a and b, as
// `git merge-base a b` does: for a pull request, the commit the head branch
// forked from the target branch. The walk stops as soon as the remaining
// history can only hold older common ancestors, so it reads the commits since
// the fork, not the whole history.
func (r *Repo) MergeBase(a, b Revision) (Revision, error) {
	name := a.Name + "..." + b.Name
	if a.Hash == b.Hash {
		return Revision{Name: name, Hash: a.Hash}, nil
	}
	w := newPaint(r)
	bases, err := w.common(a.hash(), []plumbing.Hash{b.hash()})
	if err != nil {
		return Revision{}, err
	}
	if len(bases) > 1 {
		if bases, err = r.removeRedundant(bases); err != nil {
			return Revision{}, err
		}
	}
	if len(bases) == 0 {
		hint := ""
		if r.Shallow() {
			hint = "this clone is shallow. " + hintFullHistory
		}
		return Revision{}, &Error{Subject: "merge base of " + a.String() + " and " + b.String(),
			Msg: "the two commits have no common history", Hint: hint, Err: ErrRevisionNotFound}
	}
	return Revision{Name: name, Hash: bases[0].String()}, nil
}

// Flags of git's paint_down_to_common.
const (
	fromOne uint8 = 1 << iota
	fromTwo
	stale
	result
)

type paintNode struct {
	hash    plumbing.Hash
	when    int64
	parents []plumbing.Hash
	flags   uint8
	seq     int
}

// paint walks from one and twos, newest commit first, marking which side
// reaches each commit; commits reached from both are common ancestors and
// everything below them is stale.
type paint struct {
	r     *Repo
	nodes map[plumbing.Hash]*paintNode
	queue nodeQueue
	seq   int
}

func newPaint(r *Repo) *paint { return &paint{r: r, nodes: map[plumbing.Hash]*paintNode{}} }

func (p *paint) node(h plumbing.Hash) (*paintNode, error) {
	if n, ok := p.nodes[h]; ok {
		return n, nil
	}
	c, err := p.r.readCommitHeader(h)
	if err != nil {
		if isNotFound(err) {
			return nil, &Error{Subject: "merge base", Msg: "commit " + h.String() + " is not in this clone",
				Hint: p.r.missingHint(), Err: ErrMissingObject}
		}
		return nil, err
	}
	n := &paintNode{hash: h, when: c.when, parents: c.parents}
	p.nodes[h] = n
	return n, nil
}

func (p *paint) push(n *paintNode) {
	p.seq++
	n.seq = p.seq
	heap.Push(&p.queue, n)
}

// common returns the common ancestors found (not proven independent).
func (p *paint) common(one plumbing.Hash, twos []plumbing.Hash) ([]plumbing.Hash, error) {
	n, err := p.node(one)
	if err != nil {
		return nil, err
	}
	n.flags |= fromOne
	p.push(n)
	for _, t := range twos {
		n, err := p.node(t)
		if err != nil {
			return nil, err
		}
		n.flags |= fromTwo
		p.push(n)
	}
	var found []*paintNode
	for p.queue.hasNonStale() {
		n := heap.Pop(&p.queue).(*paintNode)
		flags := n.flags & (fromOne | fromTwo | stale)
		if flags == fromOne|fromTwo {
			if n.flags&result == 0 {
				n.flags |= result
				found = append(found, n)
			}
			flags |= stale
		}
		for _, ph := range n.parents {
			par, err := p.node(ph)
			if err != nil {
				if flags&stale != 0 && errors.Is(err, ErrMissingObject) {
					continue // below a found base: cannot change the answer
				}
				return nil, err
			}
			if par.flags&flags == flags {
				continue
			}
			par.flags |= flags
			p.push(par)
		}
	}
	// git lists the bases newest first and `git merge-base` prints the first.
	sort.SliceStable(found, func(i, j int) bool { return found[i].when > found[j].when })
	var out []plumbing.Hash
	for _, n := range found {
		if n.flags&stale == 0 {
			out = append(out, n.hash)
		}
	}
	return out, nil
}

// removeRedundant drops the candidates that are ancestors of other candidates
// (criss-cross merges leave several), as git's remove_redundant does.
func (r *Repo) removeRedundant(cands []plumbing.Hash) ([]plumbing.Hash, error) {
	redundant := make([]bool, len(cands))
	for i := range cands {
		if redundant[i] {
			continue
		}
		var others []plumbing.Hash
		var idx []int
		for j := range cands {
			if j != i && !redundant[j] {
				others = append(others, cands[j])
				idx = append(idx, j)
			}
		}
		w := newPaint(r)
		if _, err := w.common(cands[i], others); err != nil {
			return nil, err
		}
		if w.nodes[cands[i]].flags&fromTwo != 0 {
			redundant[i] = true
		}
		for k, j := range idx {
			if w.nodes[others[k]].flags&fromOne != 0 {
				redundant[j] = true
			}
		}
	}
	var out []plumbing.Hash
	for i, h := range cands {
		if !redundant[i] {
			out = append(out, h)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("merge base: no independent candidate")
	}
	return out, nil
}

// nodeQueue pops the newest commit first (ties: first pushed first).
type nodeQueue []*paintNode

func (q nodeQueue) Len() int { return len(q) }
func (q nodeQueue) Less(i, j int) bool {
	if q[i].when != q[j].when {
		return q[i].when > q[j].when
	}
	return q[i].seq < q[j].seq
}
func (q nodeQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *nodeQueue) Push(x any)   { *q = append(*q, x.(*paintNode)) }
func (q *nodeQueue) Pop() any {
	old := *q
	n := old[len(old)-1]
	*q = old[:len(old)-1]
	return n
}

func (q nodeQueue) hasNonStale() bool {
	for _, n := range q {
		if n.flags&stale == 0 {
			return true
		}
	}
	return false
}
