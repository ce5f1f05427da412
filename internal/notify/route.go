package notify

import (
	"slices"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
)

// Receiver is a destination an event is routed to, with the mentions its
// configuration adds to every message.
type Receiver struct {
	Name string
	// MentionedAccounts and MentionedGroups are the Slack receiver's
	// mentionedAccounts and mentionedGroups.
	MentionedAccounts []string
	MentionedGroups   []string
}

// Router sends events to receivers by the routes of the `notifications`
// configuration, as PipeCD's notifier does (pkg/app/piped/notifier/matcher.go):
//
//   - the ignore filters first: an event is not sent by a route when its type
//     is in ignoreEvents, its group in ignoreGroups, its app in ignoreApps, or
//     one of its app's labels equals one of ignoreLabels;
//   - then every non-empty positive filter must match: events, groups, apps,
//     and labels (every listed label present on the app with that value);
//   - an event goes to every matching route, and each receiver gets it once
//     however many routes match.
//
// Two of PipeCD's quirks are not kept: PipeCD lets an app without any label
// through a `labels` filter (every unlabelled app would reach an
// `env: prod` route), and takes an ignoreLabels key that is absent for a
// match of an empty label value. Event and group names are written without
// PipeCD's EVENT_ prefix; one written with it matches too.
type Router struct {
	routes    []route
	receivers map[string]Receiver
}

type route struct {
	name, receiver                string
	events, ignoreEvents          set
	groups, ignoreGroups          set
	apps, ignoreApps              set
	labels, ignoreLabels          map[string]string
	hasEvents, hasGroups, hasApps bool
}

type set map[string]struct{}

func makeSet(names []string, trimEventPrefix bool) set {
	s := make(set, len(names))
	for _, n := range names {
		if trimEventPrefix {
			n = strings.TrimPrefix(n, "EVENT_")
		}
		s[n] = struct{}{}
	}
	return s
}

func (s set) has(k string) bool {
	_, ok := s[k]
	return ok
}

// NewRouter returns the router of n; nil routes nothing. Routes naming an
// undefined receiver (config validation reports them) route nothing.
func NewRouter(n *config.Notifications) *Router {
	r := &Router{receivers: map[string]Receiver{}}
	if n == nil {
		return r
	}
	for _, rc := range n.Receivers {
		rcv := Receiver{Name: rc.Name}
		if rc.Slack != nil {
			rcv.MentionedAccounts = slices.Clone(rc.Slack.MentionedAccounts)
			rcv.MentionedGroups = rc.Slack.MentionedGroups
		}
		r.receivers[rc.Name] = rcv
	}
	for _, rt := range n.Routes {
		r.routes = append(r.routes, route{
			name: rt.Name, receiver: rt.Receiver,
			events: makeSet(rt.Events, true), ignoreEvents: makeSet(rt.IgnoreEvents, true),
			groups: makeSet(rt.Groups, true), ignoreGroups: makeSet(rt.IgnoreGroups, true),
			apps: makeSet(rt.Apps, false), ignoreApps: makeSet(rt.IgnoreApps, false),
			labels: rt.Labels, ignoreLabels: rt.IgnoreLabels,
			hasEvents: len(rt.Events) > 0, hasGroups: len(rt.Groups) > 0, hasApps: len(rt.Apps) > 0,
		})
	}
	return r
}

// Route returns the receivers ev goes to, each once, in the order their
// first matching route comes.
func (r *Router) Route(ev Event) []Receiver {
	if r == nil {
		return nil
	}
	var out []Receiver
	seen := map[string]bool{}
	for i := range r.routes {
		rt := &r.routes[i]
		if seen[rt.receiver] || !rt.match(ev) {
			continue
		}
		rcv, ok := r.receivers[rt.receiver]
		if !ok {
			continue
		}
		seen[rt.receiver] = true
		out = append(out, rcv)
	}
	return out
}

// Receiver returns the receiver named name.
func (r *Router) Receiver(name string) (Receiver, bool) {
	if r == nil {
		return Receiver{}, false
	}
	rcv, ok := r.receivers[name]
	return rcv, ok
}

func (rt *route) match(ev Event) bool {
	typ, group := string(ev.Type), string(groupOf(ev))
	if rt.ignoreEvents.has(typ) || rt.ignoreGroups.has(group) || rt.ignoreApps.has(ev.App.Name) {
		return false
	}
	for k, v := range rt.ignoreLabels {
		if av, ok := ev.App.Labels[k]; ok && av == v {
			return false
		}
	}
	if rt.hasEvents && !rt.events.has(typ) {
		return false
	}
	if rt.hasGroups && !rt.groups.has(group) {
		return false
	}
	if rt.hasApps && !rt.apps.has(ev.App.Name) {
		return false
	}
	for k, v := range rt.labels {
		if av, ok := ev.App.Labels[k]; !ok || av != v {
			return false
		}
	}
	return true
}

// groupOf is the event's group: its Group, or the group of its type when
// unset.
func groupOf(ev Event) Group {
	if ev.Group != "" {
		return ev.Group
	}
	return GroupOf(ev.Type)
}

// Mentions returns who a message of ev sent to rcv mentions, as PipeCD does:
// the union of the app's notification.mentions whose event is ev's type or
// "*", then the receiver's mentionedAccounts and mentionedGroups. Stage
// events carry only the receiver's (PipeCD attaches the app's mentions to
// deployment events only; pipe also attaches them to APPLICATION_* and
// ANALYSIS_FAILED, which the app's mentions can name). Duplicates are
// dropped, the order kept.
func Mentions(ev Event, rcv Receiver) (users, groups []string) {
	add := func(list *[]string, items ...string) {
		for _, it := range items {
			if it = strings.TrimSpace(it); it != "" && !slices.Contains(*list, it) {
				*list = append(*list, it)
			}
		}
	}
	if groupOf(ev) != GroupStage {
		for _, m := range ev.App.Mentions {
			if m.Event == config.AllEvents || strings.TrimPrefix(m.Event, "EVENT_") == string(ev.Type) {
				add(&users, m.SlackUsers...)
				add(&groups, m.SlackGroups...)
			}
		}
	}
	add(&users, rcv.MentionedAccounts...)
	add(&groups, rcv.MentionedGroups...)
	return users, groups
}

// MentionsFromConfig converts an app's notification.mentions (with the
// deprecated `slack` users) into the Mentions of App.
func MentionsFromConfig(n *config.DeploymentNotification) []Mention {
	if n == nil {
		return nil
	}
	out := make([]Mention, 0, len(n.Mentions))
	for _, m := range n.Mentions {
		out = append(out, Mention{Event: m.Event, SlackUsers: m.Users(), SlackGroups: slices.Clone(m.SlackGroups)})
	}
	return out
}

// SlackMentions renders users as <@USER> and groups as <!subteam^GROUP>,
// space-separated. A group already written as a mention (holding
// "!subteam^", with or without its angle brackets) is kept as is. IDs
// are escaped: an ID cannot close the mention and start markup of its own.
func SlackMentions(users, groups []string) string {
	parts := make([]string, 0, len(users)+len(groups))
	for _, u := range users {
		u = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(u, "<"), "@"), ">")
		parts = append(parts, "<@"+mentionID(u)+">")
	}
	for _, g := range groups {
		if i := strings.Index(g, "!subteam^"); i >= 0 {
			g = strings.TrimSuffix(g[i+len("!subteam^"):], ">")
		}
		parts = append(parts, "<!subteam^"+mentionID(g)+">")
	}
	return strings.Join(parts, " ")
}

// mentionID escapes what would end a mention early: Slack IDs are letters
// and digits, anything else is escaped or dropped.
func mentionID(id string) string {
	return strings.NewReplacer("|", "", " ", "", "\n", "").Replace(Escape(id))
}
