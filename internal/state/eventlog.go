package state

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// EventLog is the content of the events ref.
type EventLog struct {
	// Events, newest first.
	Events []*RegisteredEvent
	// Handlings of each event, by event ID.
	Handlings map[string][]*Handling
}

// Handling returns what watcher did with event (nil if nothing yet).
func (l *EventLog) Handling(event, watcher string) *Handling {
	for _, h := range l.Handlings[event] {
		if h.Watcher == watcher {
			return h
		}
	}
	return nil
}

// maxEventLog bounds what a read of the events ref takes in.
const maxEventLog = 64 << 20

// EventsRef is the notes ref holding registered events.
func (s *GitStore) EventsRef() plumbing.ReferenceName {
	return plumbing.ReferenceName(s.opts.NotesRef + "/events")
}

func (s *GitStore) eventsTarget() notesTarget {
	return notesTarget{
		ref: s.EventsRef(), what: "events",
		refresh:   s.refreshEvents,
		integrate: s.integrateEvents,
		busyHint:  "other jobs are registering events at a high rate; retry the command",
	}
}

// refreshEvents fetches the events ref once per Store.
func (s *GitStore) refreshEvents(ctx context.Context) error {
	ref := s.EventsRef()
	if !s.online() || s.fetched[ref] {
		return nil
	}
	remote, err := s.fetch(ctx, func(n plumbing.ReferenceName) bool { return n == ref })
	if err != nil {
		return err
	}
	s.fetched[ref] = true
	return s.integrateEvents(remote[ref])
}

// integrateEvents brings the remote's events commit into the local events
// ref (see integrateRemote), merging diverged ones line by line.
func (s *GitStore) integrateEvents(remote plumbing.Hash) error {
	return s.integrate("", s.EventsRef(), remote, s.mergeEventCommits)
}

// RegisterEvent records ev, noted on the tip of branch at the remote
// (branch "": the remote's default branch). It sets ev.ID (when empty),
// ev.CreatedAt and ev.On.
func (s *GitStore) RegisterEvent(ctx context.Context, ev *RegisteredEvent, branch string) error {
	tip, err := s.eventAnchor(ctx, branch)
	if err != nil {
		return err
	}
	now := s.opts.Now().UTC()
	if ev.ID == "" {
		ev.ID = NewID(now)
	}
	ev.CreatedAt, ev.On, ev.Branch = now, tip.Hash.String(), tip.Name
	msg := fmt.Sprintf("pipe: event %s", ev.Name)
	return s.publishTo(ctx, s.eventsTarget(), func(base plumbing.Hash) (plumbing.Hash, error) {
		return s.editEventNotes(base, msg, map[string]func(*eventNote){
			ev.On: func(n *eventNote) { n.merge(&eventNote{events: []*RegisteredEvent{ev}}) },
		})
	})
}

// eventAnchor is the branch a new event is for and the commit it is noted
// on: the branch's remote tip (its local tip offline).
func (s *GitStore) eventAnchor(ctx context.Context, branch string) (BranchTip, error) {
	if !s.online() {
		return s.localBranch(branch)
	}
	if branch == "" {
		var err error
		if branch, err = s.remoteDefaultBranch(ctx); err != nil {
			return BranchTip{}, err
		}
	}
	h, err := s.RemoteBranch(ctx, branch)
	if err != nil {
		return BranchTip{}, err
	}
	if h.IsZero() {
		return BranchTip{}, &Error{Op: "register event", Err: ErrNotFound, Msg: fmt.Sprintf("the remote %s has no branch %q", s.opts.Remote, branch),
			Hint: "name the GitOps repository's branch with --branch"}
	}
	return BranchTip{Name: branch, Hash: h}, nil
}

// RecordHandlings notes what watchers did with events (each Handling's On
// says on which commit its event is noted), in one commit.
func (s *GitStore) RecordHandlings(ctx context.Context, hs []*Handling) error {
	if len(hs) == 0 {
		return nil
	}
	edits := map[string]func(*eventNote){}
	for _, h := range hs {
		if h.On == "" || !isHex(h.On) || len(h.On) != 40 {
			return &Error{Op: "record event handling", Msg: fmt.Sprintf("handling of event %s has no commit to be noted on", h.Event)}
		}
		prev := edits[h.On]
		edits[h.On] = func(n *eventNote) {
			if prev != nil {
				prev(n)
			}
			n.addHandling(h)
		}
	}
	msg := fmt.Sprintf("pipe: %d event handling(s)", len(hs))
	return s.publishTo(ctx, s.eventsTarget(), func(base plumbing.Hash) (plumbing.Hash, error) {
		return s.editEventNotes(base, msg, edits)
	})
}

// Events reads the events ref, fetched again at each call: a watch reads
// the events after the branch it updates, so that no event it has not seen
// can have been applied to that branch.
func (s *GitStore) Events(ctx context.Context) (*EventLog, error) {
	delete(s.fetched, s.EventsRef())
	if err := s.refreshEvents(ctx); err != nil {
		return nil, err
	}
	log := &EventLog{Handlings: map[string][]*Handling{}}
	tip := s.ref(s.EventsRef())
	if tip.IsZero() {
		return log, nil
	}
	notes, err := s.readEventNotes(tip)
	if err != nil {
		return nil, err
	}
	for on, n := range notes {
		for _, e := range n.events {
			e.On = on
			log.Events = append(log.Events, e)
		}
		for _, h := range n.handlings {
			h.On = on
			log.Handlings[h.Event] = append(log.Handlings[h.Event], h)
		}
	}
	sort.Slice(log.Events, func(i, j int) bool {
		a, b := log.Events[i], log.Events[j]
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.After(b.CreatedAt)
		}
		return a.ID > b.ID
	})
	return log, nil
}

// readEventNotes reads every note of the events commit tip.
func (s *GitStore) readEventNotes(tip plumbing.Hash) (map[string]*eventNote, error) {
	ref := s.EventsRef()
	warn := func(m string) { s.notice(LevelWarn, "", ref.String()+": "+m) }
	nt, ok := s.notesTreeAt(tip, ref, warn)
	if !ok {
		return nil, &Error{Op: "read events", Err: ErrCorruptRef, Msg: ref.String() + " is not a notes commit",
			Hint: fmt.Sprintf("inspect it (git log %s) and move it aside (git update-ref -d %s)", ref, ref)}
	}
	out := make(map[string]*eventNote, len(nt.notes))
	var total int64
	for key, blobs := range nt.notes {
		n := &eventNote{}
		for _, b := range blobs {
			size, err := blobSize(s.st, b)
			if err != nil {
				return nil, &Error{Op: "read events", Err: err}
			}
			if total += size; size > maxEventNote || total > maxEventLog {
				return nil, &Error{Op: "read events", Err: ErrNoteTooLarge,
					Msg:  fmt.Sprintf("%s holds over %s", ref, byteSize(min(size, maxEventLog))),
					Hint: "remove old events: pipe event gc --older-than 720h"}
			}
			data, err := readSizedBlob(s.st, b, maxEventNote)
			if err != nil {
				return nil, &Error{Op: "read events", Err: err}
			}
			n.merge(decodeEventNote(data, func(m string) { warn("note on " + key + ": " + m) }))
		}
		out[key] = n
	}
	return out, nil
}

// editEventNotes commits the edited notes on top of base and returns the
// new tip, or base when nothing changed.
func (s *GitStore) editEventNotes(base plumbing.Hash, msg string, edits map[string]func(*eventNote)) (plumbing.Hash, error) {
	tree, baseTree, err := s.editedEventTree(base, edits)
	if err != nil || tree == baseTree {
		return base, err
	}
	return s.storeCommit(tree, msg, base)
}

// editedEventTree is the tree of base's notes with edits applied, and
// base's tree.
func (s *GitStore) editedEventTree(base plumbing.Hash, edits map[string]func(*eventNote)) (tree, baseTree plumbing.Hash, err error) {
	ref := s.EventsRef()
	nt := &notesTree{notes: map[string][]plumbing.Hash{}}
	notes := map[string]*eventNote{}
	if !base.IsZero() {
		c, err := s.commit(base)
		if err != nil {
			return tree, baseTree, &Error{Op: "write events", Err: ErrCorruptRef, Msg: fmt.Sprintf("%s points at %s, which is not a commit", ref, short(base))}
		}
		baseTree = c.TreeHash
		if nt, err = readNotesTree(s.st, c.TreeHash, func(string) {}); err != nil {
			return tree, baseTree, &Error{Op: "write events", Err: fmt.Errorf("%w: %w", ErrCorruptRef, err)}
		}
		if notes, err = s.readEventNotes(base); err != nil {
			return tree, baseTree, err
		}
	}
	edits = maps.Clone(edits)
	flat := make(map[string]plumbing.Hash, len(nt.notes))
	for k, bs := range nt.notes {
		flat[k] = bs[0]
		if len(bs) > 1 { // noted at two fan-out depths: rewrite as one
			edits[k] = chain(edits[k], func(*eventNote) {})
		}
	}
	for key, edit := range edits {
		n := notes[key]
		if n == nil {
			n = &eventNote{}
		}
		edit(n)
		data, err := n.encode()
		if err != nil {
			return tree, baseTree, &Error{Op: "write events", Err: err, Hint: "remove old events: pipe event gc --older-than 720h"}
		}
		if len(data) == 0 { // pruned empty: no note
			delete(flat, key)
			continue
		}
		if flat[key], err = s.writeBlob(data); err != nil {
			return tree, baseTree, err
		}
	}
	tree, err = writeNotesTree(s.st, flat, nt.nonNotes)
	return tree, baseTree, err
}

func chain(a, b func(*eventNote)) func(*eventNote) {
	if a == nil {
		return b
	}
	return func(n *eventNote) { a(n); b(n) }
}

// mergeEventCommits merges two diverged commits of the events ref: a
// union of their notes, line by line.
func (s *GitStore) mergeEventCommits(remote, local plumbing.Hash) (plumbing.Hash, error) {
	theirs, err := s.readEventNotes(remote)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	edits := map[string]func(*eventNote){}
	for key, n := range theirs {
		edits[key] = func(mine *eventNote) { mine.merge(n) }
	}
	tree, _, err := s.editedEventTree(local, edits)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if rc, err := s.commit(remote); err == nil && rc.TreeHash == tree {
		return remote, nil // local adds nothing: take the remote's
	}
	return s.storeCommit(tree, "pipe: merge concurrent events", remote, local)
}

// PruneEvents removes the events registered before cutoff, with their
// handlings, except the newest event of each identity and branch (what a
// watch compares against). It returns how many events it removed.
func (s *GitStore) PruneEvents(ctx context.Context, cutoff time.Time) (int, error) {
	removed := 0
	err := s.publishTo(ctx, s.eventsTarget(), func(base plumbing.Hash) (plumbing.Hash, error) {
		removed = 0
		if base.IsZero() {
			return base, nil
		}
		notes, err := s.readEventNotes(base)
		if err != nil {
			return base, err
		}
		newest := map[string]*RegisteredEvent{}
		for _, n := range notes {
			for _, e := range n.events {
				k := e.Key() + "\x00" + e.Branch
				if cur := newest[k]; cur == nil || e.CreatedAt.After(cur.CreatedAt) || e.CreatedAt.Equal(cur.CreatedAt) && e.ID > cur.ID {
					newest[k] = e
				}
			}
		}
		edits := map[string]func(*eventNote){}
		for key, n := range notes {
			drop := map[string]bool{}
			for _, e := range n.events {
				if e.CreatedAt.Before(cutoff) && newest[e.Key()+"\x00"+e.Branch] != e {
					drop[e.ID] = true
				}
			}
			if len(drop) == 0 {
				continue
			}
			removed += len(drop)
			edits[key] = func(n *eventNote) {
				n.events = slices.DeleteFunc(n.events, func(e *RegisteredEvent) bool { return drop[e.ID] })
				n.handlings = slices.DeleteFunc(n.handlings, func(h *Handling) bool { return drop[h.Event] })
			}
		}
		if len(edits) == 0 {
			return base, nil
		}
		return s.editEventNotes(base, fmt.Sprintf("pipe: prune %d event(s) registered before %s", removed, cutoff.UTC().Format(time.RFC3339)), edits)
	})
	return removed, err
}
