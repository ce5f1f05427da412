package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// DefaultKeep is how many of an app's latest deployments Compact keeps when
// CompactOptions.Keep is zero.
const DefaultKeep = 100

// summaryFile is the file at the root of an app's notes tree that counts
// the records compactions folded away. git keeps it as a non-note entry.
const summaryFile = "pipe-summary.json"

// maxCompactions is how many compactions a Summary lists (the latest); the
// totals count them all.
const maxCompactions = 20

// Summary is what compactions folded out of an app's notes: how many
// records, by status, the time span of their creation, and the latest
// compactions. It is the file pipe-summary.json at the root of the app's
// notes tree (`git show refs/notes/pipe/apps/<app>:pipe-summary.json`).
type Summary struct {
	SchemaVersion int    `json:"schemaVersion"`
	App           string `json:"app"`
	// Folded counts the records all compactions folded; ByStatus splits
	// them by status.
	Folded   int                      `json:"folded"`
	ByStatus map[DeploymentStatus]int `json:"byStatus,omitempty"`
	// Oldest and Newest are the creation times of the oldest and newest
	// folded records.
	Oldest time.Time `json:"oldest,omitzero"`
	Newest time.Time `json:"newest,omitzero"`
	// Compactions are the latest compactions, oldest first.
	Compactions []Compaction `json:"compactions,omitempty"`
}

// Compaction is one run of Compact.
type Compaction struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor,omitempty"`
	Folded int       `json:"folded"`
	Kept   int       `json:"kept"`
	// Before is the notes commit compacted: its tree still holds every
	// folded record (`git notes --ref=... list <commit>` / `git ls-tree`).
	Before string `json:"before"`
}

// CompactOptions say what Compact keeps and who runs it.
type CompactOptions struct {
	// Keep is how many of the latest deployments are kept as they are
	// (DefaultKeep if 0). Unfinished deployments (needed by --resume and to
	// cancel them) and the last successful one (the running commit of the
	// next plan) are kept whatever their age.
	Keep int
	// Actor is recorded in the summary.
	Actor string
}

// CompactResult is what a compaction did.
type CompactResult struct {
	App    string `json:"app"`
	Folded int    `json:"folded"`
	Kept   int    `json:"kept"`
	// Before and After are the notes commits before and after (equal when
	// there was nothing to fold).
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	// DroppedText counts paragraphs that were not records, dropped from
	// notes that were still over MaxNoteSize without them.
	DroppedText int      `json:"droppedText,omitempty"`
	Summary     *Summary `json:"summary,omitempty"`
}

// Compact folds an app's old records into its summary so that its notes
// shrink: every record but the latest opts.Keep, the unfinished ones and
// the last successful one is removed from the notes tree and counted in
// pipe-summary.json. It is a write like any other (a notes commit pushed by
// compare-and-swap, retried over concurrent writers), and it reads notes up
// to 8 times MaxNoteSize so that an app over the limit can be compacted.
// The folded records stay in the notes ref's history (Compaction.Before).
func (s *GitStore) Compact(ctx context.Context, app string, opts CompactOptions) (*CompactResult, error) {
	if opts.Keep <= 0 {
		opts.Keep = DefaultKeep
	}
	ref, err := s.NotesRef(app)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(ctx, app); err != nil {
		return nil, err
	}
	var res *CompactResult
	err = s.publish(ctx, app, func(base plumbing.Hash) (plumbing.Hash, error) {
		if err := ctx.Err(); err != nil {
			return base, err
		}
		var err error
		res, err = s.compactAt(app, ref, base, opts)
		if err != nil {
			return base, err
		}
		return plumbing.NewHash(res.After), nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// compactAt builds the compacted notes commit on top of base (the local tip).
func (s *GitStore) compactAt(app string, ref plumbing.ReferenceName, base plumbing.Hash, opts CompactOptions) (*CompactResult, error) {
	res := &CompactResult{App: app, Before: base.String(), After: base.String()}
	if base.IsZero() {
		res.Before, res.After = "", ""
		return res, nil
	}
	a, err := s.readAppWithin(app, gcLimits)
	if err != nil {
		return nil, s.sizeError("compact records", app, err)
	}
	keep := keptRecords(a.records, opts.Keep)
	res.Kept = len(keep)
	res.Summary = a.summary
	var folded []*Record
	for _, r := range a.records {
		if !keep[r.ID] {
			folded = append(folded, r)
		}
	}
	res.Folded = len(folded)
	if len(folded) == 0 {
		return res, nil
	}
	warn := func(m string) { s.notice(LevelWarn, app, ref.String()+": "+m) }
	nt, ok := s.notesTreeAt(base, ref, warn)
	if !ok {
		return nil, &Error{Op: "compact records of app " + app, Err: ErrCorruptRef}
	}
	flat := make(map[string]plumbing.Hash, len(nt.notes))
	for _, key := range slices.Sorted(maps.Keys(nt.notes)) {
		blobs := nt.notes[key]
		n, err := s.readNoteWithin(app, key, blobs, gcLimits.note, func(string) {})
		if err != nil {
			return nil, s.sizeError("compact records", app, err)
		}
		next := &note{junk: n.junk}
		for _, r := range n.records {
			if keep[r.ID] {
				next.records = append(next.records, r)
			}
		}
		if len(next.records) == len(n.records) && len(blobs) == 1 && sizeOf(s, blobs[0]) <= MaxNoteSize {
			flat[key] = blobs[0] // nothing folded here: the note stays byte for byte
			continue
		}
		if len(next.records) == 0 && len(next.junk) == 0 {
			continue // every record folded: the note goes
		}
		data, err := next.encode()
		if errors.Is(err, ErrNoteTooLarge) && len(next.junk) > 0 {
			res.DroppedText += len(next.junk)
			s.notice(LevelWarn, app, fmt.Sprintf("note on %s: %d paragraph(s) that are not records dropped to bring it under %s (they stay in %s)",
				key, len(next.junk), byteSize(MaxNoteSize), short(base)))
			next.junk = nil
			if len(next.records) == 0 {
				continue
			}
			data, err = next.encode()
		}
		if err != nil {
			return nil, s.sizeError("compact records", app, fmt.Errorf("%s: %w", s.noteName(app, key), err))
		}
		if flat[key], err = s.writeBlob(data); err != nil {
			return nil, err
		}
	}
	sum := foldInto(a.summary, app, folded)
	sum.Compactions = append(sum.Compactions, Compaction{
		At: s.opts.Now().UTC(), Actor: opts.Actor, Folded: len(folded), Kept: len(keep), Before: base.String()})
	if len(sum.Compactions) > maxCompactions {
		sum.Compactions = slices.Clone(sum.Compactions[len(sum.Compactions)-maxCompactions:])
	}
	data, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return nil, err
	}
	blob, err := s.writeBlob(append(data, '\n'))
	if err != nil {
		return nil, err
	}
	nonNotes := slices.DeleteFunc(slices.Clone(nt.nonNotes), func(nn nonNote) bool { return nn.path == summaryFile })
	nonNotes = append(nonNotes, nonNote{path: summaryFile, mode: filemode.Regular, hash: blob})
	tree, err := writeNotesTree(s.st, flat, nonNotes)
	if err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("pipe: %s gc: folded %d record(s), kept %d\n\nThe folded records are in the tree of %s.", app, len(folded), len(keep), base)
	tip, err := s.storeCommit(tree, msg, base)
	if err != nil {
		return nil, err
	}
	res.After = tip.String()
	res.Summary = sum
	return res, nil
}

// keptRecords picks what a compaction keeps of records (newest first): the
// latest keep, every unfinished one, the last successful one (what
// LastSuccessful and the planner's running commit read), and records of a
// newer schema (this pipe cannot tell what they need).
func keptRecords(records []*Record, keep int) map[string]bool {
	out := map[string]bool{}
	succeeded := false
	for i, r := range records {
		switch {
		case i < keep, !r.Status.IsTerminal(), r.FutureSchema:
			out[r.ID] = true
		case r.Status == StatusSucceeded && !succeeded:
			out[r.ID] = true
		}
		if r.Status == StatusSucceeded {
			succeeded = true
		}
	}
	return out
}

// foldInto returns prev (or a new summary) counting the folded records too.
func foldInto(prev *Summary, app string, folded []*Record) *Summary {
	sum := &Summary{SchemaVersion: SchemaVersion, App: app}
	if prev != nil {
		c := *prev
		c.ByStatus = maps.Clone(prev.ByStatus)
		c.Compactions = slices.Clone(prev.Compactions)
		sum = &c
	}
	if sum.ByStatus == nil {
		sum.ByStatus = map[DeploymentStatus]int{}
	}
	for _, r := range folded {
		sum.Folded++
		st := r.Status
		if !st.Known() {
			st = "UNKNOWN"
		}
		sum.ByStatus[st]++
		if t := r.CreatedAt; !t.IsZero() {
			if sum.Oldest.IsZero() || t.Before(sum.Oldest) {
				sum.Oldest = t.UTC()
			}
			if t.After(sum.Newest) {
				sum.Newest = t.UTC()
			}
		}
	}
	return sum
}

// sizeOf is the size of an object, or 0 if it cannot be told.
func sizeOf(s *GitStore, h plumbing.Hash) int64 {
	n, _ := blobSize(s.st, h)
	return n
}

// readSummary reads and parses a summary file (at most MaxRecordSize).
func readSummary(st storer.EncodedObjectStorer, h plumbing.Hash) (*Summary, error) {
	data, err := readBlob(st, h, MaxRecordSize)
	if err != nil {
		return nil, err
	}
	sum := &Summary{}
	if err := json.Unmarshal(data, sum); err != nil {
		return nil, err
	}
	return sum, nil
}

// Summary returns what compactions folded out of app's notes (nil if the
// app was never compacted). It reads the notes tree only, not the notes:
// callers read the records themselves (History), and warnings about them
// are given once, there.
func (s *GitStore) Summary(ctx context.Context, app string) (*Summary, error) {
	ref, err := s.NotesRef(app)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(ctx, app); err != nil {
		return nil, err
	}
	tip := s.ref(ref)
	if tip.IsZero() {
		return nil, nil
	}
	nt, ok := s.notesTreeAt(tip, ref, func(string) {})
	if !ok {
		return nil, nil
	}
	return nt.summary, nil
}

// Describe says in one line what the summary counts, for a terminal.
func (sum *Summary) Describe() string {
	var parts []string
	for _, st := range slices.Sorted(maps.Keys(sum.ByStatus)) {
		parts = append(parts, fmt.Sprintf("%d %s", sum.ByStatus[st], st))
	}
	s := fmt.Sprintf("%d older deployment(s) folded by pipe gc", sum.Folded)
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	if !sum.Oldest.IsZero() {
		s += fmt.Sprintf(", created %s to %s", sum.Oldest.Format(time.RFC3339), sum.Newest.Format(time.RFC3339))
	}
	if n := len(sum.Compactions); n > 0 {
		s += "; the latest gc's records are in notes commit " + SafeText(sum.Compactions[n-1].Before)
	}
	return SafeText(s)
}
