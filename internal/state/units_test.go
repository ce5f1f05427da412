package state

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

func TestEncodeAppIsReversibleAndValid(t *testing.T) {
	cases := map[string]string{
		"web":          "web",
		"my-app_2":     "my-app_2",
		"team/api":     "team%2Fapi",
		"v1.2":         "v1.2",
		".hidden":      "%2Ehidden",
		"a..b":         "a%2E%2Eb",
		"trailing.":    "trailing%2E",
		"x.lock":       "x%2Elock",
		"sp ace:~^?*[": "sp%20ace%3A%7E%5E%3F%2A%5B",
		"100%":         "100%25",
		"a@{b}":        "a%40%7Bb%7D",
		"ünï":          "%C3%BCn%C3%AF",
	}
	dir := t.TempDir()
	for app, want := range cases {
		got, err := EncodeApp(app)
		if err != nil || got != want {
			t.Errorf("EncodeApp(%q) = %q, %v; want %q", app, got, err, want)
		}
		back, ok := DecodeApp(got)
		if !ok || back != app {
			t.Errorf("DecodeApp(%q) = %q, %v", got, back, ok)
		}
		if _, err := gitserver.GitE(dir, "check-ref-format", "refs/notes/pipe/apps/"+got); err != nil {
			t.Errorf("git rejects the ref for %q: %v", app, err)
		}
	}
	if _, err := EncodeApp(""); err == nil {
		t.Error("empty app name accepted")
	}
	if app, ok := DecodeApp("bad%zz"); ok || app != "bad%zz" {
		t.Errorf("invalid encoding decoded: %q %v", app, ok)
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	base := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	var ids []string
	for i := 0; i < 50; i++ {
		ids = append(ids, NewID(base.Add(time.Duration(i)*time.Millisecond)))
	}
	if !slices.IsSorted(ids) {
		t.Errorf("ids not sorted: %v", ids)
	}
	if len(ids[0]) != 26 || ids[0] == NewID(base) {
		t.Errorf("ids should be 26 chars and random: %s", ids[0])
	}
	if got, ok := idTime(ids[3]); !ok || !got.Equal(base.Add(3*time.Millisecond)) {
		t.Errorf("idTime = %v, %v", got, ok)
	}
}

func TestWinnerRule(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(rev int, st DeploymentStatus, upd time.Time, reason string) *Record {
		return &Record{ID: "X", Revision: rev, Status: st, UpdatedAt: upd, Reason: reason}
	}
	cases := []struct {
		name string
		a, b *Record
		want string
	}{
		{"higher revision", mk(3, StatusRunning, t0, "a"), mk(2, StatusSucceeded, t0.Add(time.Hour), "b"), "a"},
		{"terminal beats running", mk(2, StatusRunning, t0.Add(time.Hour), "a"), mk(2, StatusFailed, t0, "b"), "b"},
		{"later phase", mk(2, StatusRunning, t0, "a"), mk(2, StatusRollingBack, t0, "b"), "b"},
		{"later update", mk(2, StatusRunning, t0, "a"), mk(2, StatusRunning, t0.Add(time.Second), "b"), "b"},
		{"tie broken by content", mk(2, StatusRunning, t0, "a"), mk(2, StatusRunning, t0, "b"), "b"},
	}
	for _, tc := range cases {
		if got := Winner(tc.a, tc.b).Reason; got != tc.want {
			t.Errorf("%s: Winner(a, b) = %s, want %s", tc.name, got, tc.want)
		}
		if got := Winner(tc.b, tc.a).Reason; got != tc.want {
			t.Errorf("%s: Winner(b, a) = %s, want %s (the rule must not depend on order)", tc.name, got, tc.want)
		}
	}
	// Events of the loser are kept.
	a := mk(3, StatusRunning, t0, "a")
	a.Events = []Event{{Time: t0, Kind: "x"}}
	b := mk(2, StatusRunning, t0, "b")
	b.Events = []Event{{Time: t0.Add(time.Minute), Kind: EventForceUnlock, Actor: "alice"}}
	m := mergeRecord(a, b)
	if m.Reason != "a" || len(m.Events) != 2 || m.Events[1].Actor != "alice" {
		t.Errorf("mergeRecord = %+v", m)
	}
}

func TestDecodeNoteForms(t *testing.T) {
	line := func(id string, rev int) string {
		b, _ := json.Marshal(&Record{SchemaVersion: 1, ID: id, Revision: rev, App: "a", Status: StatusRunning})
		return string(b)
	}
	pretty, _ := json.MarshalIndent(&Record{SchemaVersion: 1, ID: "P", App: "a", Status: StatusSucceeded}, "", "  ")
	in := line("A", 1) + "\n" + line("B", 1) + "\n\n" + // git notes append adds a blank line
		line("A", 2) + "\n\n" + // an update appended by hand: the same id again
		string(pretty) + "\n\n" +
		"free text\nsecond line\n\n" + line("C", 1) + "\n"
	var warns []string
	n := decodeNote([]byte(in), func(m string) { warns = append(warns, m) })
	var ids []string
	for _, r := range n.records {
		ids = append(ids, r.ID)
		if r.ID == "A" && r.Revision != 2 {
			t.Errorf("duplicate id should resolve to revision 2, got %d", r.Revision)
		}
	}
	if strings.Join(ids, ",") != "A,B,P,C" {
		t.Errorf("ids = %v", ids)
	}
	if len(n.junk) != 1 || n.junk[0] != "free text\nsecond line" || len(warns) != 1 || !strings.Contains(warns[0], fmt.Sprintf("line %d:", strings.Count(in[:strings.Index(in, "free text")], "\n")+1)) {
		t.Errorf("junk = %q, warnings = %q", n.junk, warns)
	}
	out, _ := n.encode()
	again := decodeNote(out, func(m string) {})
	if len(again.records) != 4 || len(again.junk) != 1 {
		t.Errorf("re-encoded note reads back as %d records, %d junk:\n%s", len(again.records), len(again.junk), out)
	}
}

func TestEditedRecordKeepsUnknownFields(t *testing.T) {
	raw := `{"schemaVersion":1,"id":"X","app":"a","status":"RUNNING","revision":1,"addedLater":{"k":"v"}}`
	r, ok := decodeRecordJSON([]byte(raw))
	if !ok {
		t.Fatal("not decoded")
	}
	if b, _ := encodeRecord(r); string(b) != raw {
		t.Errorf("unchanged record not written as read: %s", b)
	}
	r.Status, r.edited = StatusSucceeded, true
	b, _ := encodeRecord(r)
	if !strings.Contains(string(b), `"addedLater":{"k":"v"}`) || !strings.Contains(string(b), `"status":"SUCCEEDED"`) {
		t.Errorf("edited record: %s", b)
	}
}

func TestCredentialsFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		name   string
		getenv func(string) string
		url    string
		user   string
		token  string
	}{
		{"github", env("GITHUB_TOKEN", "gh"), "https://github.com/o/r.git", "x-access-token", "gh"},
		{"github enterprise", env("GITHUB_TOKEN", "gh", "GITHUB_SERVER_URL", "https://ghe.corp"), "https://ghe.corp/o/r", "x-access-token", "gh"},
		{"gitlab token", env("GITLAB_TOKEN", "gl", "CI_JOB_TOKEN", "job"), "https://gitlab.com/g/r.git", "oauth2", "gl"},
		{"gitlab job token", env("CI_JOB_TOKEN", "job", "CI_SERVER_HOST", "git.corp"), "https://git.corp/g/r.git", "gitlab-ci-token", "job"},
		{"pipe token wins", env("PIPE_GIT_TOKEN", "p", "GITHUB_TOKEN", "gh"), "https://github.com/o/r", "x-access-token", "p"},
		{"pipe user", env("PIPE_GIT_TOKEN", "p", "PIPE_GIT_USER", "bot"), "https://git.example/r", "bot", "p"},
		{"github token not sent to gitlab", env("GITHUB_TOKEN", "gh", "GITLAB_TOKEN", "gl"), "https://gitlab.com/g/r", "oauth2", "gl"},
		{"ambiguous host", env("GITHUB_TOKEN", "gh", "GITLAB_TOKEN", "gl"), "https://git.example/r", "", ""},
		{"no token", env(), "https://github.com/o/r", "", ""},
	}
	for _, tc := range cases {
		c := CredentialsFromEnv(tc.getenv, tc.url)
		if c.Username != tc.user || c.Token != tc.token {
			t.Errorf("%s: got %q/%q, want %q/%q", tc.name, c.Username, c.Token, tc.user, tc.token)
		}
		if tc.token != "" && strings.Contains(c.String(), tc.token) {
			t.Errorf("%s: String() shows the token", tc.name)
		}
	}
	ssh := CredentialsFromEnv(env("PIPE_SSH_KEY_FILE", "/k", "HOME", "/home/u"), "git@github.com:o/r.git")
	if ssh.SSHUser != "git" || ssh.SSHKeyFile != "/k" || !slices.Contains(ssh.KnownHostsFiles, "/home/u/.ssh/known_hosts") {
		t.Errorf("ssh = %+v", ssh)
	}
	agent := CredentialsFromEnv(env("SSH_AUTH_SOCK", "/run/agent", "PIPE_SSH_KNOWN_HOSTS", "/a:/b"), "ssh://deploy@host:2222/r.git")
	if agent.SSHUser != "deploy" || agent.SSHAgentSocket != "/run/agent" || len(agent.KnownHostsFiles) != 2 {
		t.Errorf("agent = %+v", agent)
	}
}

func TestRecordDuration(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &Record{StartedAt: t0, Status: StatusRunning}
	if d := r.Duration(t0.Add(time.Minute)); d != time.Minute {
		t.Errorf("running: %v", d)
	}
	r.Status, r.EndedAt = StatusSucceeded, t0.Add(90*time.Second)
	if d := r.Duration(t0.Add(time.Hour)); d != 90*time.Second {
		t.Errorf("finished: %v", d)
	}
}
