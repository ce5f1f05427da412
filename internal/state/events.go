package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Events registered with `pipe event register` live in their own notes
// ref, <NotesRef>/events (refs/notes/pipe/events by default). Each event is
// noted on the commit its branch was at when it was registered, so that
// `git log --notes=pipe/events` shows when each one arrived; a note holds one
// JSON object per line: the events registered at that commit and what each
// watcher did with them (their handlings). Writes are compare-and-swap
// pushes merged line by line, as for deployment records.

// RegisteredEvent is a value registered for a name and labels, e.g. the image tag
// built for "web-image" with labels env=prod.
type RegisteredEvent struct {
	// ID is a NewID id: events sort by it in registration order.
	ID     string            `json:"id"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Value  string            `json:"value"`
	// Contexts are extra key/values (PipeCD's contexts): they become
	// trailers of the commits the event makes.
	Contexts map[string]string `json:"contexts,omitempty"`
	// Commit is the commit that produced the event, in its own repository.
	Commit    *EventCommit `json:"commit,omitempty"`
	CreatedAt time.Time    `json:"createdAt"`
	// By is who registered it: a CI run's URL, or a user.
	By string `json:"by,omitempty"`
	// Branch is the GitOps branch the event is for: watches of another
	// branch leave it alone ("": written before branches were recorded,
	// for any branch).
	Branch string `json:"branch,omitempty"`
	// On is the commit the event is noted on (set when read).
	On string `json:"-"`
}

// EventCommit describes the commit of the producing repository.
type EventCommit struct {
	Hash      string `json:"hash,omitempty"`
	Title     string `json:"title,omitempty"`
	Message   string `json:"message,omitempty"`
	URL       string `json:"url,omitempty"`
	Author    string `json:"author,omitempty"`
	Timestamp int64  `json:"timestamp,omitempty"`
}

// Key is the event's identity: events with the same key are versions of
// one another and the newest wins. As PipeCD's, it is the SHA-256 of the
// name and the labels sorted by key, so labels must match exactly.
func (e *RegisteredEvent) Key() string { return EventKey(e.Name, e.Labels) }

// EventKey is the identity of the events named name with exactly labels.
func EventKey(name string, labels map[string]string) string {
	var b strings.Builder
	b.WriteString(name)
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		fmt.Fprintf(&b, "/%s:%s", k, labels[k])
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// Handling statuses: what a watcher did with an event.
const (
	// HandledSuccess: the event's value is in the files (committed, proposed
	// in a pull request, or already there).
	HandledSuccess = "SUCCESS"
	// HandledFailure: the watcher could not apply it (a missing path...).
	HandledFailure = "FAILURE"
	// HandledOutdated: a newer event of the same identity superseded it.
	HandledOutdated = "OUTDATED"
)

// Handling is what one watcher did with one event.
type Handling struct {
	Event string `json:"event"` // the event's ID
	// Watcher identifies the watcher: "app <name> eventWatcher[i]" or
	// "<file> events[i]".
	Watcher string `json:"watcher"`
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	// Commit is the commit that wrote the value (none when it was there).
	Commit      string    `json:"commit,omitempty"`
	Branch      string    `json:"branch,omitempty"`
	PullRequest string    `json:"pullRequest,omitempty"`
	At          time.Time `json:"at"`
	By          string    `json:"by,omitempty"`
	// On is the commit the event is noted on: where the handling is noted.
	On string `json:"-"`
}

// eventNote is the content of one note of the events ref.
type eventNote struct {
	events    []*RegisteredEvent
	handlings []*Handling
}

// maxEventNote bounds one note of the events ref: a note is read whole.
const maxEventNote = 16 << 20

func decodeEventNote(data []byte, warn func(string)) *eventNote {
	n := &eventNote{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			warn(fmt.Sprintf("line %d is not JSON (%v): skipped", i+1, err))
			continue
		}
		switch head.Type {
		case "event":
			var e RegisteredEvent
			if err := json.Unmarshal(line, &e); err != nil || e.ID == "" || e.Name == "" {
				warn(fmt.Sprintf("line %d is not a valid event: skipped", i+1))
				continue
			}
			n.events = append(n.events, &e)
		case "handling":
			var h Handling
			if err := json.Unmarshal(line, &h); err != nil || h.Event == "" || h.Watcher == "" {
				warn(fmt.Sprintf("line %d is not a valid handling: skipped", i+1))
				continue
			}
			n.handlings = append(n.handlings, &h)
		default:
			warn(fmt.Sprintf("line %d has unknown type %q: skipped", i+1, head.Type))
		}
	}
	return n
}

// encode writes the note canonically: events by ID, then handlings by
// event, watcher and time, one JSON object per line.
func (n *eventNote) encode() ([]byte, error) {
	sort.Slice(n.events, func(i, j int) bool { return n.events[i].ID < n.events[j].ID })
	sort.Slice(n.handlings, func(i, j int) bool {
		a, b := n.handlings[i], n.handlings[j]
		if a.Event != b.Event {
			return a.Event < b.Event
		}
		if a.Watcher != b.Watcher {
			return a.Watcher < b.Watcher
		}
		return a.At.Before(b.At)
	})
	var buf bytes.Buffer
	for _, e := range n.events {
		if err := writeLine(&buf, "event", e); err != nil {
			return nil, err
		}
	}
	for _, h := range n.handlings {
		if err := writeLine(&buf, "handling", h); err != nil {
			return nil, err
		}
	}
	if buf.Len() > maxEventNote {
		return nil, fmt.Errorf("the note would hold %s, over the limit of %s", byteSize(int64(buf.Len())), byteSize(maxEventNote))
	}
	return buf.Bytes(), nil
}

// writeLine writes v as one JSON line whose first field is "type".
func writeLine(buf *bytes.Buffer, typ string, v any) error {
	var obj bytes.Buffer
	enc := json.NewEncoder(&obj)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	fmt.Fprintf(buf, `{"type":%q,`, typ)
	buf.Write(obj.Bytes()[1:]) // the object's fields and "}\n"
	return nil
}

// merge adds o's lines to n: events by ID (the first read wins: an event
// is never rewritten), handlings by event and watcher (the latest wins).
func (n *eventNote) merge(o *eventNote) {
	have := map[string]bool{}
	for _, e := range n.events {
		have[e.ID] = true
	}
	for _, e := range o.events {
		if !have[e.ID] {
			have[e.ID] = true
			n.events = append(n.events, e)
		}
	}
	for _, h := range o.handlings {
		n.addHandling(h)
	}
}

// addHandling records h, replacing an older handling of the same event by
// the same watcher. A handling that says where the value was written (a
// commit, a pull request) is not replaced by a later one of the same status
// that does not: that is a racing job finding the value already there.
func (n *eventNote) addHandling(h *Handling) {
	for i, x := range n.handlings {
		if x.Event == h.Event && x.Watcher == h.Watcher {
			if h.Status == x.Status && located(h) != located(x) {
				if located(h) {
					n.handlings[i] = h
				}
				return
			}
			if h.At.After(x.At) || h.At.Equal(x.At) && h.Status > x.Status {
				n.handlings[i] = h
			}
			return
		}
	}
	n.handlings = append(n.handlings, h)
}

// located reports whether h says where the value was written.
func located(h *Handling) bool { return h.Commit != "" || h.PullRequest != "" }
