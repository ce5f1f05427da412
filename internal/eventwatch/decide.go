package eventwatch

import (
	"fmt"
	"sort"
	"time"

	"github.com/gitops-pipe/pipe/internal/state"
)

// Item statuses beyond state's handling statuses.
const (
	// StatusHandled: the watcher already handled the newest event (a
	// previous run); nothing is done or recorded.
	StatusHandled = "HANDLED"
	// StatusError: the event could not be delivered for a reason that is
	// not the event's (the network, a permission): nothing is recorded,
	// the next run tries again.
	StatusError = "ERROR"
	// StatusPlanned: a dry run's would-be SUCCESS.
	StatusPlanned = "PLANNED"
)

// task is the newest event of a watcher, to apply.
type task struct {
	w  *Watcher
	ev *state.RegisteredEvent
	// item is the task's line of the result.
	item *Item
}

// decide sorts the watchers' events for branch into tasks (the newest event of each
// watcher that it has not handled), outdated handlings (older events it
// never handled, and events past maxAge) and items for the report.
func decide(log *state.EventLog, watchers []Watcher, branch string, now time.Time, maxAge time.Duration, by string) (tasks []*task, outdated []*state.Handling, items []*Item) {
	byKey := map[string][]*state.RegisteredEvent{} // newest first, as in log
	for _, ev := range log.Events {
		if ev.Branch != "" && ev.Branch != branch {
			continue // for another branch's watch
		}
		byKey[ev.Key()] = append(byKey[ev.Key()], ev)
	}
	for i := range watchers {
		w := &watchers[i]
		evs := byKey[w.Key()]
		if len(evs) == 0 {
			continue
		}
		latest := evs[0]
		item := newItem(w, latest)
		items = append(items, item)
		if h := log.Handling(latest.ID, w.ID); h != nil {
			item.Status, item.Message = StatusHandled, "handled "+h.At.UTC().Format(time.RFC3339)+": "+h.Status
			item.Commit, item.Branch, item.PullRequest = h.Commit, h.Branch, h.PullRequest
			if h.Message != "" {
				item.Message += " (" + h.Message + ")"
			}
		} else if maxAge > 0 && now.Sub(latest.CreatedAt) > maxAge {
			item.Status = state.HandledOutdated
			item.Message = fmt.Sprintf("registered %s ago, over --max-age %s", now.Sub(latest.CreatedAt).Round(time.Second), maxAge)
			outdated = append(outdated, handling(latest, w, item.Status, item.Message, now, by))
		} else {
			tasks = append(tasks, &task{w: w, ev: latest, item: item})
		}
		for _, old := range evs[1:] {
			if log.Handling(old.ID, w.ID) != nil {
				continue
			}
			msg := fmt.Sprintf("superseded by event %s (value %q)", latest.ID, latest.Value)
			outdated = append(outdated, handling(old, w, state.HandledOutdated, msg, now, by))
			oi := newItem(w, old)
			oi.Status, oi.Message = state.HandledOutdated, msg
			items = append(items, oi)
		}
	}
	// Apply events in the order they arrived; a watcher's order breaks ties.
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].ev.CreatedAt.Before(tasks[j].ev.CreatedAt) })
	return tasks, outdated, items
}

func handling(ev *state.RegisteredEvent, w *Watcher, status, msg string, now time.Time, by string) *state.Handling {
	return &state.Handling{Event: ev.ID, Watcher: w.ID, Status: status, Message: msg, At: now.UTC(), By: by, On: ev.On}
}
