package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	"github.com/gitops-pipe/pipe/internal/config"
)

// apiCall is a Web API request seen by the recording transport.
type apiCall struct {
	method string
	form   url.Values
	resp   map[string]any
}

// recorder is an http.RoundTripper that records the Web API calls and
// their answers on the way to slacktest's server.
type recorder struct {
	mu    sync.Mutex
	calls []apiCall
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	var m map[string]any
	_ = json.Unmarshal(rb, &m)
	r.mu.Lock()
	r.calls = append(r.calls, apiCall{method: req.URL.Path[strings.LastIndexByte(req.URL.Path, '/')+1:], form: form, resp: m})
	r.mu.Unlock()
	return resp, nil
}

func (r *recorder) get() []apiCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]apiCall(nil), r.calls...)
}

// chatUpdate is slacktest's missing chat.update: it answers ok with the
// channel and ts it was given.
func chatUpdate(c slacktest.Customize) {
	c.Handle("/chat.update", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": r.Form.Get("channel"), "ts": r.Form.Get("ts"), "text": r.Form.Get("text")})
	})
}

func botConfig() *config.Notifications {
	return &config.Notifications{
		Routes: []config.NotificationRoute{{Name: "all", Receiver: "slack"}},
		Receivers: []config.NotificationReceiver{{Name: "slack", Slack: &config.SlackReceiver{
			OAuthTokenEnv: "SLACK_TOKEN", ChannelID: "C0DEPLOY",
		}}},
	}
}

func deployEvent(t Type) Event {
	return Event{
		Type: t, Time: time.Unix(1700000000, 0),
		App: App{Name: "payments", Kind: "KUBERNETES", Mentions: []Mention{{Event: "DEPLOYMENT_FAILED", SlackUsers: []string{"UONCALL"}}}},
		Deployment: &Deployment{
			ID: "dep-1", Status: "RUNNING",
			Commit: Commit{Hash: "0123456789abcdef", Subject: "fix <b> & co", URL: "https://github.com/o/r/commit/0123456789abcdef"},
		},
		Actor:    "alice",
		CIRunURL: "https://github.com/o/r/actions/runs/42",
		PRURL:    "https://github.com/o/r/pull/7",
	}
}

func TestSlackBotOneMessageUpdatedInPlace(t *testing.T) {
	srv := slacktest.NewTestServer(chatUpdate)
	srv.Start()
	defer srv.Stop()
	rec := &recorder{}
	var warns []string
	opts := Options{
		Getenv:      func(k string) string { return map[string]string{"SLACK_TOKEN": "xoxb-secret-token"}[k] },
		Warn:        func(s string) { warns = append(warns, s) },
		HTTPClient:  &http.Client{Transport: rec, Timeout: 5 * time.Second},
		SlackAPIURL: srv.GetAPIURL(),
	}
	d, err := FromConfig(botConfig(), opts)
	if err != nil {
		t.Fatal(err)
	}
	d.Notify(deployEvent(DeploymentTriggered))
	d.Notify(deployEvent(DeploymentStarted))
	an := deployEvent(AnalysisFailed)
	an.Analysis = &Analysis{Metric: "error_rate", Value: "0.12", Threshold: "0.05"}
	d.Notify(an)
	failed := deployEvent(DeploymentFailed)
	failed.Summary = "rollout timed out <!channel>"
	failed.Deployment.Stages = []StageSummary{{Name: "K8S_SYNC", Status: "FAILURE", Duration: 12 * time.Second}}
	d.Notify(failed)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(warns) > 0 {
		t.Fatalf("warnings: %v", warns)
	}
	calls := rec.get()
	var methods []string
	for _, c := range calls {
		methods = append(methods, c.method)
	}
	// One message, updated twice; the analysis goes into its thread (the
	// final update would replace its metric), and so does the failure's
	// mention (an edit notifies no one).
	if got, want := strings.Join(methods, ","), "chat.postMessage,chat.update,chat.postMessage,chat.update,chat.postMessage"; got != want {
		t.Fatalf("calls %s, want %s", got, want)
	}
	ts, _ := calls[0].resp["ts"].(string)
	if ts == "" {
		t.Fatalf("no ts in %v", calls[0].resp)
	}
	for _, c := range []apiCall{calls[1], calls[3]} {
		if c.form.Get("ts") != ts || c.form.Get("channel") != "C0DEPLOY" {
			t.Errorf("chat.update with channel %q ts %q, want C0DEPLOY %q", c.form.Get("channel"), c.form.Get("ts"), ts)
		}
	}
	if reply := calls[4].form; reply.Get("thread_ts") != ts || !strings.Contains(reply.Get("text"), "<@UONCALL>") {
		t.Errorf("thread reply %v", reply)
	}
	if a := calls[2].form; a.Get("thread_ts") != ts || !strings.Contains(a.Get("attachments"), "error_rate") {
		t.Errorf("analysis reply %v", a)
	}
	// The last update is the failure: red, with the escaped reason and the stage.
	var atts []slack.Attachment
	if err := json.Unmarshal([]byte(calls[3].form.Get("attachments")), &atts); err != nil || len(atts) != 1 {
		t.Fatalf("attachments %q: %v", calls[3].form.Get("attachments"), err)
	}
	if atts[0].Color != ColorError {
		t.Errorf("colour %s", atts[0].Color)
	}
	raw, _ := json.Marshal(atts[0].Blocks)
	for _, want := range []string{"rollout timed out &lt;!channel&gt;", "K8S_SYNC", "12s", "fix &lt;b&gt; &amp; co",
		"<https://github.com/o/r/commit/0123456789abcdef|0123456>", "<https://github.com/o/r/actions/runs/42|run>", "<https://github.com/o/r/pull/7|#7>"} {
		if !strings.Contains(string(raw), jsonText(want)) {
			t.Errorf("blocks lack %q: %s", want, raw)
		}
	}
	if strings.Contains(string(raw), "<!channel>") {
		t.Errorf("unescaped <!channel> in %s", raw)
	}
	// The thread is exposed, and a later run preloading it updates the
	// same message.
	if d.SlackThread("dep-1") != d.SlackThreads()["dep-1"] || d.SlackThread("other") != "" {
		t.Errorf("SlackThread disagrees with SlackThreads")
	}
	threads := d.SlackThreads()
	if v := threads["dep-1"]; v != (url.Values{"slack": {"C0DEPLOY/" + ts}}).Encode() {
		t.Fatalf("SlackThreads = %v", threads)
	}
	rec2 := &recorder{}
	opts.HTTPClient = &http.Client{Transport: rec2}
	opts.SlackThreads = threads
	d2, err := FromConfig(botConfig(), opts)
	if err != nil {
		t.Fatal(err)
	}
	d2.Notify(deployEvent(DeploymentCancelled))
	_ = d2.Close(context.Background())
	if c := rec2.get(); len(c) != 1 || c[0].method != "chat.update" || c[0].form.Get("ts") != ts {
		t.Errorf("resumed run: %+v", c)
	}
}

// jsonText is s as it appears inside a JSON string.
func jsonText(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func TestSlackBotPostsAgainWhenMessageGone(t *testing.T) {
	srv := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.update", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"ok":false,"error":"message_not_found"}`))
		})
	})
	srv.Start()
	defer srv.Stop()
	rec := &recorder{}
	d, err := FromConfig(botConfig(), Options{
		Getenv: func(string) string { return "xoxb-t" }, HTTPClient: &http.Client{Transport: rec}, SlackAPIURL: srv.GetAPIURL(),
		SlackThreads: map[string]string{"dep-1": "slack=C0DEPLOY%2F1.000"},
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Notify(deployEvent(DeploymentStarted))
	_ = d.Close(context.Background())
	var methods []string
	for _, c := range rec.get() {
		methods = append(methods, c.method)
	}
	if strings.Join(methods, ",") != "chat.update,chat.postMessage" {
		t.Errorf("calls %v", methods)
	}
}

func TestSlackIncomingWebhook(t *testing.T) {
	got := make(chan slack.WebhookMessage, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m slack.WebhookMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("decode: %v", err)
		}
		got <- m
	}))
	defer hook.Close()
	n := &config.Notifications{
		Routes: []config.NotificationRoute{{Name: "all", Receiver: "hook"}},
		Receivers: []config.NotificationReceiver{{Name: "hook", Slack: &config.SlackReceiver{
			HookURLEnv: "HOOK", MentionedAccounts: []string{"UREL"},
		}}},
	}
	d, err := FromConfig(n, Options{Getenv: func(string) string { return hook.URL + "/services/T/B/secret" }})
	if err != nil {
		t.Fatal(err)
	}
	e := deployEvent(DeploymentSucceeded)
	e.App.Labels = map[string]string{"env": "prod"}
	e.Deployment.StartedAt, e.Deployment.EndedAt = time.Unix(1700000000, 0), time.Unix(1700000090, 0)
	e.Deployment.Stages = []StageSummary{{Name: "K8S_CANARY_ROLLOUT", Status: "SUCCESS", Duration: 30 * time.Second}, {Name: "ANALYSIS", Status: "SUCCESS", Duration: time.Minute}}
	d.Notify(e)
	out := Event{Type: ApplicationOutOfSync, Time: time.Unix(1700000100, 0), App: App{Name: "payments", Kind: "KUBERNETES"}, Drift: "Deployment/payments: spec.replicas 3 -> 5"}
	d.Notify(out)
	an := deployEvent(AnalysisFailed)
	an.Stage = &Stage{Name: "ANALYSIS", Status: "FAILURE"}
	an.Analysis = &Analysis{Metric: "error_rate", Value: "0.12", Threshold: "<= 0.05"}
	d.Notify(an)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	check := func(m slack.WebhookMessage, color string, wants ...string) {
		t.Helper()
		if len(m.Attachments) != 1 || m.Attachments[0].Color != color {
			t.Fatalf("attachments %+v", m.Attachments)
		}
		if m.Text != "<@UREL>" {
			t.Errorf("text %q", m.Text)
		}
		raw, _ := json.Marshal(m.Attachments[0].Blocks)
		for _, w := range wants {
			if !strings.Contains(string(raw), jsonText(w)) {
				t.Errorf("blocks lack %q: %s", w, raw)
			}
		}
		var types []string
		for _, b := range m.Attachments[0].Blocks.BlockSet {
			types = append(types, string(b.BlockType()))
		}
		if types[0] != "header" || types[len(types)-1] != "context" {
			t.Errorf("block types %v", types)
		}
	}
	check(<-got, ColorSuccess, `Deployment for "payments" was completed successfully`, "*Stages* (1m30s in all)",
		"K8S_CANARY_ROLLOUT · SUCCESS · 30s", "ANALYSIS · SUCCESS · 1m0s", "*Triggered by*\nalice", "*Kind*\nKUBERNETES")
	check(<-got, ColorWarn, `"payments" is out of sync`, "*Drift:* Deployment/payments: spec.replicas 3 -&gt; 5")
	check(<-got, ColorError, "*Metric* `error_rate`: value 0.12, threshold &lt;= 0.05")
}
