package notify

import (
	"reflect"
	"slices"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
)

func names(rs []Receiver) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func ev(t Type, app string, labels map[string]string) Event {
	return Event{Type: t, Group: GroupOf(t), App: App{Name: app, Labels: labels}}
}

func TestRouteMatrix(t *testing.T) {
	prod := map[string]string{"env": "prod", "team": "pay"}
	dev := map[string]string{"env": "dev", "team": "pay"}
	cases := []struct {
		name  string
		route config.NotificationRoute
		ev    Event
		match bool
	}{
		{"empty route matches all", config.NotificationRoute{}, ev(DeploymentStarted, "a", nil), true},
		{"events match", config.NotificationRoute{Events: []string{"DEPLOYMENT_FAILED"}}, ev(DeploymentFailed, "a", nil), true},
		{"events with EVENT_ prefix", config.NotificationRoute{Events: []string{"EVENT_DEPLOYMENT_FAILED"}}, ev(DeploymentFailed, "a", nil), true},
		{"events miss", config.NotificationRoute{Events: []string{"DEPLOYMENT_FAILED"}}, ev(DeploymentSucceeded, "a", nil), false},
		{"ignoreEvents", config.NotificationRoute{IgnoreEvents: []string{"DEPLOYMENT_STARTED"}}, ev(DeploymentStarted, "a", nil), false},
		{"ignoreEvents other", config.NotificationRoute{IgnoreEvents: []string{"DEPLOYMENT_STARTED"}}, ev(DeploymentFailed, "a", nil), true},
		{"groups match", config.NotificationRoute{Groups: []string{"APPLICATION_SYNC"}}, ev(ApplicationOutOfSync, "a", nil), true},
		{"groups miss", config.NotificationRoute{Groups: []string{"DEPLOYMENT"}}, ev(StageStarted, "a", nil), false},
		{"ignoreGroups", config.NotificationRoute{IgnoreGroups: []string{"STAGE"}}, ev(StageFailed, "a", nil), false},
		{"ignoreGroups other", config.NotificationRoute{IgnoreGroups: []string{"STAGE"}}, ev(DeploymentFailed, "a", nil), true},
		{"apps match", config.NotificationRoute{Apps: []string{"a", "b"}}, ev(DeploymentFailed, "b", nil), true},
		{"apps miss", config.NotificationRoute{Apps: []string{"a"}}, ev(DeploymentFailed, "c", nil), false},
		{"ignoreApps", config.NotificationRoute{IgnoreApps: []string{"a"}}, ev(DeploymentFailed, "a", nil), false},
		{"ignoreApps other", config.NotificationRoute{IgnoreApps: []string{"a"}}, ev(DeploymentFailed, "b", nil), true},
		{"labels all equal", config.NotificationRoute{Labels: map[string]string{"env": "prod", "team": "pay"}}, ev(DeploymentFailed, "a", prod), true},
		{"labels one differs", config.NotificationRoute{Labels: map[string]string{"env": "prod", "team": "pay"}}, ev(DeploymentFailed, "a", dev), false},
		{"labels subset", config.NotificationRoute{Labels: map[string]string{"env": "prod"}}, ev(DeploymentFailed, "a", prod), true},
		{"labels on an app without labels", config.NotificationRoute{Labels: map[string]string{"env": "prod"}}, ev(DeploymentFailed, "a", nil), false},
		{"ignoreLabels any equal", config.NotificationRoute{IgnoreLabels: map[string]string{"env": "dev", "team": "x"}}, ev(DeploymentFailed, "a", dev), false},
		{"ignoreLabels none equal", config.NotificationRoute{IgnoreLabels: map[string]string{"env": "dev"}}, ev(DeploymentFailed, "a", prod), true},
		{"ignoreLabels absent key, empty value", config.NotificationRoute{IgnoreLabels: map[string]string{"x": ""}}, ev(DeploymentFailed, "a", map[string]string{"y": ""}), true},
		{"ignore wins over positive", config.NotificationRoute{Events: []string{"DEPLOYMENT_FAILED"}, IgnoreApps: []string{"a"}}, ev(DeploymentFailed, "a", nil), false},
		{"every non-empty filter must match", config.NotificationRoute{Events: []string{"DEPLOYMENT_FAILED"}, Apps: []string{"a"}, Labels: map[string]string{"env": "prod"}}, ev(DeploymentFailed, "a", dev), false},
		{"every non-empty filter matches", config.NotificationRoute{Events: []string{"DEPLOYMENT_FAILED"}, Groups: []string{"DEPLOYMENT"}, Apps: []string{"a"}, Labels: map[string]string{"env": "prod"}}, ev(DeploymentFailed, "a", prod), true},
		{"analysis group", config.NotificationRoute{Groups: []string{"ANALYSIS"}}, ev(AnalysisFailed, "a", nil), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.route.Name, c.route.Receiver = "r", "x"
			r := NewRouter(&config.Notifications{Routes: []config.NotificationRoute{c.route}, Receivers: []config.NotificationReceiver{{Name: "x"}}})
			got := len(r.Route(c.ev)) == 1
			if got != c.match {
				t.Errorf("match = %v, want %v", got, c.match)
			}
		})
	}
}

func TestRouteEveryMatchingRouteEachReceiverOnce(t *testing.T) {
	n := &config.Notifications{
		Routes: []config.NotificationRoute{
			{Name: "failures", Receiver: "oncall", Events: []string{"DEPLOYMENT_FAILED"}},
			{Name: "prod", Receiver: "team", Labels: map[string]string{"env": "prod"}},
			{Name: "all-to-oncall", Receiver: "oncall"},
			{Name: "audit", Receiver: "audit", IgnoreGroups: []string{"STAGE"}},
			{Name: "dangling", Receiver: "nobody"},
		},
		Receivers: []config.NotificationReceiver{{Name: "oncall"}, {Name: "team"}, {Name: "audit"}},
	}
	r := NewRouter(n)
	got := names(r.Route(ev(DeploymentFailed, "a", map[string]string{"env": "prod"})))
	if want := []string{"oncall", "team", "audit"}; !slices.Equal(got, want) {
		t.Errorf("failed in prod: %v, want %v", got, want)
	}
	got = names(r.Route(ev(StageStarted, "a", map[string]string{"env": "dev"})))
	if want := []string{"oncall"}; !slices.Equal(got, want) {
		t.Errorf("stage in dev: %v, want %v", got, want)
	}
	if got := NewRouter(nil).Route(ev(DeploymentFailed, "a", nil)); got != nil {
		t.Errorf("nil config routes %v", got)
	}
}

func TestMentions(t *testing.T) {
	app := App{Name: "a", Mentions: []Mention{
		{Event: "DEPLOYMENT_FAILED", SlackUsers: []string{"U1"}, SlackGroups: []string{"G1"}},
		{Event: "*", SlackUsers: []string{"U2", "U1"}},
		{Event: "DEPLOYMENT_SUCCEEDED", SlackUsers: []string{"U3"}},
	}}
	rcv := Receiver{Name: "r", MentionedAccounts: []string{"U9"}, MentionedGroups: []string{"<!subteam^S9>"}}
	cases := []struct {
		t             Type
		users, groups []string
	}{
		{DeploymentFailed, []string{"U1", "U2", "U9"}, []string{"G1", "<!subteam^S9>"}},
		{DeploymentSucceeded, []string{"U2", "U1", "U3", "U9"}, []string{"<!subteam^S9>"}},
		{DeploymentStarted, []string{"U2", "U1", "U9"}, []string{"<!subteam^S9>"}},
		{ApplicationOutOfSync, []string{"U2", "U1", "U9"}, []string{"<!subteam^S9>"}},
		// Stage events: the receiver's only, whatever "*" says.
		{StageFailed, []string{"U9"}, []string{"<!subteam^S9>"}},
	}
	for _, c := range cases {
		e := Event{Type: c.t, App: app}
		users, groups := Mentions(e, rcv)
		if !slices.Equal(users, c.users) || !slices.Equal(groups, c.groups) {
			t.Errorf("%s: users %v groups %v, want %v %v", c.t, users, groups, c.users, c.groups)
		}
	}
	if u, g := Mentions(Event{Type: StageFailed, App: app}, Receiver{}); u != nil || g != nil {
		t.Errorf("stage event without receiver mentions: %v %v", u, g)
	}
	got := SlackMentions([]string{"U1", "<@U2>"}, []string{"G1", "<!subteam^S9>", "!subteam^S8", "x>y<!channel>"})
	want := "<@U1> <@U2> <!subteam^G1> <!subteam^S9> <!subteam^S8> <!subteam^x&gt;y&lt;!channel&gt;>"
	if got != want {
		t.Errorf("SlackMentions = %q, want %q", got, want)
	}
}

func TestMentionsFromConfig(t *testing.T) {
	got := MentionsFromConfig(&config.DeploymentNotification{Mentions: []config.NotificationMention{
		{Event: "*", Slack: []string{"old"}, SlackUsers: []string{"U1"}, SlackGroups: []string{"G1"}},
	}})
	want := []Mention{{Event: "*", SlackUsers: []string{"U1", "old"}, SlackGroups: []string{"G1"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestReceiverMentionedAccountsFromConfig(t *testing.T) {
	r := NewRouter(&config.Notifications{
		Routes:    []config.NotificationRoute{{Name: "r", Receiver: "s"}},
		Receivers: []config.NotificationReceiver{{Name: "s", Slack: &config.SlackReceiver{MentionedAccounts: []string{"U1"}}}},
	})
	got := r.Route(ev(DeploymentFailed, "a", nil))
	if len(got) != 1 || !slices.Equal(got[0].MentionedAccounts, []string{"U1"}) {
		t.Errorf("got %+v", got)
	}
}
