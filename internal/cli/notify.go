package cli

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/notify"
	"github.com/gitops-pipe/pipe/internal/state"
)

// eventSink is where a run's notifications go (notify.Dispatcher).
type eventSink interface {
	Notify(notify.Event)
}

// notifyApp describes an application to notifications: its name, kind,
// labels and notification.mentions.
func notifyApp(ap *config.App) notify.App {
	return notify.App{Name: ap.Name, Kind: string(ap.Kind), Labels: ap.Labels,
		Mentions: notify.MentionsFromConfig(ap.Spec.Generic().Notification)}
}

// notifyContext is what the CI run adds to the events: links to the run,
// the pull/merge request and the commits.
func notifyContext(c ci.Context) notify.Context {
	return notify.Context{CIRunURL: c.RunURL, PRURL: c.PullRequestURL(), CommitURL: c.CommitURL}
}

// notifyStore sends the events of a deployment as its record moves: it
// sees every version the lifecycle writes (Begin, Update), whichever path
// wrote it (a quick sync, a pipeline, a resume, a cancel, a rollback).
type notifyStore struct {
	deploy.Store
	sink eventSink
	app  notify.App
	ctx  notify.Context
	// threads gives the record what its notifications need to find again
	// (the Slack message updated in place); nil when none.
	threads func(id string) map[string]string

	mu   sync.Mutex
	prev map[string]*state.Record
}

func newNotifyStore(store deploy.Store, sink eventSink, app notify.App, c notify.Context, threads func(string) map[string]string) *notifyStore {
	return &notifyStore{Store: store, sink: sink, app: app, ctx: c, threads: threads, prev: map[string]*state.Record{}}
}

func (s *notifyStore) Begin(ctx context.Context, rec *state.Record) error {
	err := s.Store.Begin(ctx, rec)
	if err == nil {
		s.observe(rec, true)
	}
	return err
}

func (s *notifyStore) Update(ctx context.Context, rec *state.Record) error {
	if s.threads != nil {
		for k, v := range s.threads(rec.ID) {
			if rec.Notifications == nil {
				rec.Notifications = map[string]string{}
			}
			rec.Notifications[k] = v
		}
	}
	err := s.Store.Update(ctx, rec)
	if err == nil {
		s.observe(rec, false)
	}
	return err
}

// observe sends the events between the last version seen of rec and rec.
// A record first seen by Update (a resume) is compared with itself as it
// was read: only what happens from now on is sent.
func (s *notifyStore) observe(rec *state.Record, begun bool) {
	s.mu.Lock()
	prev, seen := s.prev[rec.ID]
	s.prev[rec.ID] = rec.Clone()
	s.mu.Unlock()
	if !seen && !begun {
		return // resumed: the record as read is the baseline
	}
	for _, ev := range notify.Transitions(prev, rec, s.app, s.ctx) {
		s.sink.Notify(ev)
	}
}

// Running reads the unfinished records a resume or a cancel continues:
// as read, they are the baseline of their events.
func (s *notifyStore) Running(ctx context.Context, app string) ([]*state.Record, error) {
	recs, err := s.Store.Running(ctx, app)
	s.mu.Lock()
	for _, r := range recs {
		if _, ok := s.prev[r.ID]; !ok {
			s.prev[r.ID] = r.Clone()
		}
	}
	s.mu.Unlock()
	return recs, err
}

// notifier builds the run's notification dispatcher from the repository
// config; nil when it routes nothing. threads are what the records of the
// deployments this run continues stored (the Slack messages to update).
//
// A notification that could not be sent is warned about, and given to
// unsent (nil: only warned) for the record to say so.
func (a *app) notifier(repo *config.Repo, threads map[string]string, unsent func(string)) (*notify.Dispatcher, error) {
	if !notifies(repo) {
		return nil, nil
	}
	d, err := notify.FromConfig(&repo.Config.Notifications, notify.Options{
		Getenv: a.env.Getenv,
		Warn: func(msg string) {
			fmt.Fprintf(a.err, "%s notification: %s\n", a.style.Yellow("warning:"), msg)
			if unsent != nil {
				unsent(msg)
			}
		},
		SlackThreads: threads,
		HTTPClient:   a.notifyHTTPClient(),
		Mask:         a.secrets.MaskBytes,
		UserAgent:    "pipe/" + buildVersion().Version,
		SlackAPIURL:  a.env.Getenv("PIPE_SLACK_API_URL"),
	})
	if err != nil {
		return nil, &Error{Code: ExitUsage, Summary: "notifications: " + err.Error(),
			Hint: "fix the receiver in " + config.RepoConfigFile + " or the environment it reads"}
	}
	return d, nil
}

// notifies reports whether the repository config routes any notification.
func notifies(repo *config.Repo) bool {
	return repo.Config != nil && len(repo.Config.Notifications.Routes) > 0
}

// closeNotifier waits for the run's notifications to go, within a bound
// that an interruption shortens (the job is about to be killed).
func (a *app) closeNotifier(ctx context.Context, d *notify.Dispatcher) {
	if d == nil {
		return
	}
	bound := 20 * time.Second
	if ctx.Err() != nil {
		bound = 3 * time.Second
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bound)
	defer cancel()
	_ = d.Close(cctx) // what was not sent was warned about
}

// slackThreads collects what the unfinished records of app stored for
// their notifications, so that a resume or a cancel updates the same
// messages.
func slackThreads(ctx context.Context, st deploy.Store, app string) map[string]string {
	recs, err := st.Running(ctx, app)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, r := range recs {
		if v := r.Notifications["slack"]; v != "" {
			out[r.ID] = v
		}
	}
	return out
}

// threadsOf is what a record keeps of its notifications.
func threadsOf(d *notify.Dispatcher) func(id string) map[string]string {
	return func(id string) map[string]string {
		if v := d.SlackThread(id); v != "" {
			return map[string]string{"slack": v}
		}
		return nil
	}
}

// finishNotifications writes back to the deployment's record what its
// notifications learnt after its last write: the Slack message its first
// event posted (so that a resume or a cancel updates that message, not a
// new one), and the notifications that could not be sent (so that `pipe
// history` shows why nobody was told). It never fails the sync.
func (a *app) finishNotifications(ctx context.Context, st deploy.Store, rec *state.Record, d *notify.Dispatcher, unsent []string) {
	if rec == nil {
		return
	}
	changed := false
	if v := d.SlackThread(rec.ID); v != "" && rec.Notifications["slack"] != v {
		if rec.Notifications == nil {
			rec.Notifications = map[string]string{}
		}
		rec.Notifications["slack"] = v
		changed = true
	}
	now := a.env.Now()
	for _, m := range unsent {
		rec.Events = append(rec.Events, state.Event{Time: now, Kind: "notification-failed", Message: m})
		changed = true
	}
	if !changed {
		return
	}
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := st.Update(uctx, rec); err != nil {
		fmt.Fprintf(a.err, "%s could not note the notifications on the record: %v\n", a.style.Yellow("warning:"), err)
	}
}
