package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// appRecords is everything read from one app's notes ref.
type appRecords struct {
	records []*Record // newest first
	// summary is what compactions folded away (nil if never compacted).
	summary *Summary
}

// refresh fetches the app's notes and lock refs, unless this Store already
// did; a write refreshes on its own when its push is rejected.
func (s *GitStore) refresh(ctx context.Context, app string) error {
	if !s.online() {
		return nil
	}
	notes, err := s.NotesRef(app)
	if err != nil {
		return err
	}
	lock, _ := LockRef(app)
	if s.fetched[notes] {
		return nil
	}
	remote, err := s.fetch(ctx, func(n plumbing.ReferenceName) bool { return n == notes || n == lock })
	if err != nil {
		return err
	}
	s.fetched[notes] = true
	return s.integrateRemote(app, notes, remote[notes])
}

// readApp reads all records of app from its local notes ref. Problems are
// reported as warnings; a storage failure, or notes over MaxNoteSize or
// MaxAppNotesSize (ErrNoteTooLarge), is an error.
func (s *GitStore) readApp(app string) (*appRecords, error) {
	return s.readAppWithin(app, readLimits{note: MaxNoteSize, app: MaxAppNotesSize})
}

// readLimits are the sizes a read takes: of one note, of all the app's notes.
type readLimits struct{ note, app int64 }

// gcLimits are what compaction reads: notes up to 8 times the limits, so an
// app whose notes grew past them can still be compacted.
var gcLimits = readLimits{note: 8 * MaxNoteSize, app: 4 * MaxAppNotesSize}

func (s *GitStore) readAppWithin(app string, lim readLimits) (*appRecords, error) {
	ref, err := s.NotesRef(app)
	if err != nil {
		return nil, err
	}
	out := &appRecords{}
	tip := s.ref(ref)
	if tip.IsZero() {
		return out, nil
	}
	warn := func(msg string) { s.notice(LevelWarn, app, ref.String()+": "+msg) }
	nt, ok := s.notesTreeAt(tip, ref, warn)
	if !ok {
		return out, nil
	}
	out.summary = nt.summary
	// Sizes come from the objects' headers: nothing is read when the
	// app's notes are over the limit.
	var total int64
	sizes := make(map[plumbing.Hash]int64, len(nt.notes))
	for _, blobs := range nt.notes {
		for _, b := range blobs {
			if n, err := blobSize(s.st, b); err == nil {
				sizes[b] = n
				total += n
			}
		}
	}
	if total > lim.app {
		return nil, s.sizeError("read records", app, &sizeError{
			what: fmt.Sprintf("the notes in %s (%d notes)", ref, len(nt.notes)), size: total, limit: lim.app})
	}
	keys := make([]string, 0, len(nt.notes))
	for key := range nt.notes {
		keys = append(keys, key)
	}
	slices.Sort(keys) // the same warnings in the same order on every read
	byID := map[string]*Record{}
	where := map[string]string{}
	var dups map[string][]*Record // versions of an id in several notes, after the first
	for _, key := range keys {
		n, err := s.readNoteSized(app, key, nt.notes[key], sizes, lim.note, func(msg string) { warn("note on " + key + ": " + msg) })
		if errors.Is(err, ErrNoteTooLarge) {
			return nil, err
		}
		if err != nil {
			warn(fmt.Sprintf("note on %s cannot be read: %v", key, err))
			continue
		}
		odd := 0 // records of this note that name another app or commit
		for _, r := range n.records {
			if r.App != app || (r.Target.Hash != "" && !strings.EqualFold(r.Target.Hash, key)) {
				if odd++; odd <= maxNoteWarnings {
					warn(fmt.Sprintf("note on %s: record %s names app %q and commit %s; listed under app %q and commit %s",
						key, SafeText(r.ID), r.App, SafeText(r.Target.Hash), app, key))
				}
			}
			if _, dup := byID[r.ID]; dup {
				if dups == nil {
					dups = map[string][]*Record{}
				}
				if len(dups[r.ID]) == 0 {
					warn(fmt.Sprintf("record %s is in the notes of both %s and %s; reading the newer version", SafeText(r.ID), where[r.ID], key))
				}
				dups[r.ID] = append(dups[r.ID], r)
				continue
			}
			byID[r.ID] = r
			where[r.ID] = key
		}
		if odd > maxNoteWarnings {
			warn(fmt.Sprintf("note on %s: %d more record(s) name another app or commit", key, odd-maxNoteWarnings))
		}
	}
	for id, vs := range dups {
		byID[id] = mergeVersions(append([]*Record{byID[id]}, vs...))
	}
	out.records = make([]*Record, 0, len(byID))
	for _, r := range byID {
		out.records = append(out.records, r)
	}
	sortNewestFirst(out.records)
	return out, nil
}

// notesTreeAt reads the notes tree of the commit tip of ref; a ref that
// does not point at a commit with a readable tree is reported and read as
// empty.
func (s *GitStore) notesTreeAt(tip plumbing.Hash, ref plumbing.ReferenceName, warn func(string)) (*notesTree, bool) {
	c, err := s.commit(tip)
	if err != nil {
		o, oerr := s.st.EncodedObject(plumbing.AnyObject, tip)
		kind := "a missing object"
		if oerr == nil {
			kind = "a " + o.Type().String()
		}
		warn(fmt.Sprintf("points at %s (%s), not a notes commit: no records read from it; "+
			"inspect it with `git cat-file -p %s` and move it aside with `git update-ref -d %s`", kind, short(tip), ref, ref))
		return nil, false
	}
	nt, err := readNotesTree(s.st, c.TreeHash, warn)
	if err != nil {
		warn(fmt.Sprintf("commit %s has an unreadable tree (%v): no records read from it", short(tip), err))
		return nil, false
	}
	return nt, true
}

// readNote reads and parses app's note on the commit key; several blobs
// (the same object noted at two fan-out depths) are read as their
// concatenation, as git does. A note over MaxNoteSize is not read: the
// error (ErrNoteTooLarge) says how to compact the app.
func (s *GitStore) readNote(app, key string, blobs []plumbing.Hash, warn func(string)) (*note, error) {
	return s.readNoteWithin(app, key, blobs, MaxNoteSize, warn)
}

func (s *GitStore) readNoteWithin(app, key string, blobs []plumbing.Hash, limit int64, warn func(string)) (*note, error) {
	return s.readNoteSized(app, key, blobs, nil, limit, warn)
}

// readNoteSized is readNoteWithin with the blobs' sizes, where known.
func (s *GitStore) readNoteSized(app, key string, blobs []plumbing.Hash, sizes map[plumbing.Hash]int64, limit int64, warn func(string)) (*note, error) {
	var size int64
	for _, b := range blobs {
		n, known := sizes[b]
		if !known {
			var err error
			if n, err = blobSize(s.st, b); err != nil {
				return nil, err
			}
		}
		size += n
	}
	if size > limit {
		return nil, s.sizeError("read records", app, &sizeError{what: s.noteName(app, key), size: size, limit: limit})
	}
	var data []byte
	for i, b := range blobs {
		content, err := readSizedBlob(s.st, b, limit)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			data = append(data, "\n\n"...)
		}
		data = append(data, bytes.TrimRight(content, "\n")...)
	}
	return decodeNote(data, warn), nil
}

// noteName names app's note on commit key for a message.
func (s *GitStore) noteName(app, key string) string {
	ref, _ := s.NotesRef(app)
	return fmt.Sprintf("the note on commit %s in %s", key, ref)
}

// sizeError is a note, or all of an app's notes, over a size limit.
type sizeError struct {
	what        string
	size, limit int64
}

func (e *sizeError) Error() string {
	return fmt.Sprintf("%s is %s, over the limit of %s", e.what, byteSize(e.size), byteSize(e.limit))
}

func (e *sizeError) Unwrap() error { return ErrNoteTooLarge }

// sizeError explains err (ErrNoteTooLarge) for op on app, with how to
// compact the app; other errors are returned as they are.
func (s *GitStore) sizeError(op, app string, err error) error {
	if !errors.Is(err, ErrNoteTooLarge) {
		return err
	}
	var se *Error
	if errors.As(err, &se) {
		return err // already explained
	}
	ref, _ := s.NotesRef(app)
	return &Error{Op: fmt.Sprintf("%s of app %q", op, app), Err: err,
		Hint: fmt.Sprintf("fold the app's old records into a summary with `pipe gc %s` (it keeps the latest %d deployments, "+
			"the unfinished ones and the last successful one; see docs/state.md, Compacting records); "+
			"if that is refused too, inspect the notes with `git notes --ref=%s list` and remove the oversized one by hand",
			SafeText(app), DefaultKeep, strings.TrimPrefix(ref.String(), "refs/notes/"))}
}

// byteSize renders n bytes for a message (8 MiB, 36.2 MiB, 512 bytes).
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// sortNewestFirst orders records by creation time, then id, newest first.
func sortNewestFirst(rs []*Record) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.After(b.CreatedAt)
		}
		return a.ID > b.ID
	})
}

func (s *GitStore) load(ctx context.Context, app string) (*appRecords, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(ctx, app); err != nil {
		return nil, err
	}
	return s.readApp(app)
}

// Get implements Store.
func (s *GitStore) Get(ctx context.Context, app, id string) (*Record, error) {
	a, err := s.load(ctx, app)
	if err != nil {
		return nil, err
	}
	for _, r := range a.records {
		if r.ID == id {
			return r.Clone(), nil
		}
	}
	return nil, &Error{Op: fmt.Sprintf("record %s of app %q", id, app), Err: ErrNotFound}
}

// LastSuccessful implements Store.
func (s *GitStore) LastSuccessful(ctx context.Context, app string) (*Record, error) {
	a, err := s.load(ctx, app)
	if err != nil {
		return nil, err
	}
	if r := a.lastSuccessful(); r != nil {
		return r.Clone(), nil
	}
	return nil, &Error{Op: fmt.Sprintf("last successful deployment of app %q", app), Err: ErrNotFound}
}

func (a *appRecords) lastSuccessful() *Record {
	for _, r := range a.records {
		if r.Status == StatusSucceeded {
			return r
		}
	}
	return nil
}

// History implements Store.
func (s *GitStore) History(ctx context.Context, app string, limit int) ([]*Record, error) {
	a, err := s.load(ctx, app)
	if err != nil {
		return nil, err
	}
	rs := a.records
	if limit > 0 && len(rs) > limit {
		rs = rs[:limit]
	}
	out := make([]*Record, len(rs))
	for i, r := range rs {
		out[i] = r.Clone()
	}
	return out, nil
}

// Running implements Store.
func (s *GitStore) Running(ctx context.Context, app string) ([]*Record, error) {
	a, err := s.load(ctx, app)
	if err != nil {
		return nil, err
	}
	var out []*Record
	for _, r := range a.records {
		if !r.Status.IsTerminal() {
			out = append(out, r.Clone())
		}
	}
	return out, nil
}

// Status implements Store.
func (s *GitStore) Status(ctx context.Context, app string) (*AppStatus, error) {
	a, err := s.load(ctx, app)
	if err != nil {
		return nil, err
	}
	st := &AppStatus{App: app}
	if len(a.records) > 0 {
		st.Last = a.records[0].Clone()
	}
	if r := a.lastSuccessful(); r != nil {
		st.LastSuccessful = r.Clone()
	}
	for _, r := range a.records {
		if !r.Status.IsTerminal() {
			st.Active = r.Clone()
			break
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	li, _, err := s.currentLock(ctx, app, false)
	if err != nil {
		return nil, err
	}
	st.Lock = li
	if li != nil {
		st.LockExpired = !s.opts.Now().Before(li.LeaseExpiresAt)
	}
	return st, nil
}

// Apps implements Store.
func (s *GitStore) Apps(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// An app's ref is prefix+EncodeApp(app), which never contains '/': a
	// deeper ref (another NotesRef nested under this one's apps/, a ref made
	// by hand) is not an app of this store.
	under := func(n, prefix string) (string, bool) {
		rest, ok := strings.CutPrefix(n, prefix)
		return rest, ok && rest != "" && !strings.Contains(rest, "/")
	}
	inNamespace := func(n plumbing.ReferenceName) bool {
		_, notes := under(n.String(), s.notesPrefix)
		_, lock := under(n.String(), locksPrefix)
		return notes || lock
	}
	if s.online() {
		remote, err := s.fetch(ctx, inNamespace)
		if err != nil {
			return nil, err
		}
		for name, h := range remote {
			enc, ok := under(name.String(), s.notesPrefix)
			if !ok {
				continue
			}
			app, _ := DecodeApp(enc)
			if err := s.integrateRemote(app, name, h); err != nil {
				return nil, err
			}
			s.fetched[name] = true
		}
	}
	seen := map[string]bool{}
	add := func(enc string) {
		app, ok := DecodeApp(enc)
		if !ok {
			s.notice(LevelWarn, app, fmt.Sprintf("ref component %q is not an encoded app name; listed as it is", enc))
		}
		seen[app] = true
	}
	trackedLocks := trackingRoot + s.opts.Remote + "/" + strings.TrimPrefix(locksPrefix, "refs/")
	iter, err := s.st.IterReferences()
	if err != nil {
		return nil, err
	}
	_ = iter.ForEach(func(r *plumbing.Reference) error {
		n := r.Name().String()
		if enc, ok := under(n, s.notesPrefix); ok {
			add(enc)
		} else if enc, ok := under(n, locksPrefix); ok && !s.online() {
			add(enc)
		} else if enc, ok := under(n, trackedLocks); ok && s.online() {
			add(enc)
		}
		return nil
	})
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	slices.Sort(out)
	return out, nil
}
