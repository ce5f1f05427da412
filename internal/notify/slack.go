package notify

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/slack-go/slack"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/redact"
)

// slackUsername is the name messages are posted under (PipeCD posts as
// "PipeCD").
const slackUsername = "pipe"

func newSlackSender(name string, c *config.SlackReceiver, opts Options, threads *threadStore) (sender, []string, error) {
	hook, err := secret("slack.hookURL", c.HookURLFile, c.HookURLEnv, opts.Getenv)
	if err != nil {
		return nil, nil, err
	}
	if hook != "" {
		if !strings.HasPrefix(strings.ToLower(hook), "https://") && !strings.HasPrefix(strings.ToLower(hook), "http://") {
			return nil, nil, errors.New("slack.hookURL: not an http(s) URL")
		}
		if redact.Cleartext(hook) {
			return nil, nil, errors.New("slack.hookURL: an http:// incoming webhook would be sent unencrypted; use the https:// URL Slack gives")
		}
		return &slackHookSender{name: name, url: hook, client: opts.HTTPClient, render: renderer{now: opts.Now}}, urlSecrets(hook), nil
	}
	token, err := secret("slack.oauthToken", c.OAuthTokenFile, c.OAuthTokenEnv, opts.Getenv)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case token == "":
		return nil, nil, errors.New("slack: set hookURLFile or hookURLEnv, or oauthTokenFile or oauthTokenEnv with channelID")
	case c.ChannelID == "":
		return nil, nil, errors.New("slack.channelID: the Web API needs the channel to post to")
	}
	sopts := []slack.Option{slack.OptionHTTPClient(opts.HTTPClient)}
	if opts.SlackAPIURL != "" {
		u := opts.SlackAPIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		if redact.Cleartext(u) {
			return nil, nil, errors.New("the Slack API URL is http://: the token would be sent unencrypted")
		}
		sopts = append(sopts, slack.OptionAPIURL(u))
	}
	return &slackBotSender{
		name: name, channel: c.ChannelID, api: slack.New(token, sopts...),
		threads: threads, render: renderer{now: opts.Now},
	}, []string{token}, nil
}

// slackHookSender posts each event through an incoming webhook (which
// cannot update a message).
type slackHookSender struct {
	name   string
	url    string
	client *http.Client
	render renderer
}

func (s *slackHookSender) receiverName() string { return s.name }

func (s *slackHookSender) send(ctx context.Context, j *job) error {
	m := s.render.message(j)
	err := slack.PostWebhookCustomHTTPContext(ctx, s.url, s.client, &slack.WebhookMessage{
		Username: slackUsername, Text: m.text, Attachments: []slack.Attachment{m.attachment},
	})
	// slack-go's errors quote the URL, whose path is the secret: the
	// worker masks it (see urlSecrets).
	return err
}

// urlSecrets are what a warning must not show of a secret URL: the URL,
// and its path and query apart (an error may print the URL without its
// user info, or re-encoded).
func urlSecrets(raw string) []string {
	out := []string{raw}
	if u, err := url.Parse(raw); err == nil {
		if len(u.Path) >= 8 {
			out = append(out, u.Path)
		}
		if len(u.RawQuery) >= 8 {
			out = append(out, u.RawQuery)
		}
		if p := u.User.String(); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// slackBotSender posts through the Web API; the events of one deployment
// update its first message in place (chat.update), and the mentions of an
// update are posted in the message's thread, since an edit notifies no one.
type slackBotSender struct {
	name    string
	channel string
	api     *slack.Client
	threads *threadStore
	render  renderer
}

func (s *slackBotSender) receiverName() string { return s.name }

func (s *slackBotSender) send(ctx context.Context, j *job) error {
	m := s.render.message(j)
	opts := []slack.MsgOption{
		slack.MsgOptionText(m.text, false),
		slack.MsgOptionAttachments(m.attachment),
		slack.MsgOptionUsername(slackUsername),
		slack.MsgOptionDisableLinkUnfurl(),
	}
	id := ""
	if j.ev.Deployment != nil {
		id = j.ev.Deployment.ID
	}
	if id != "" {
		if ref, ok := s.threads.get(s.name, id); ok && ref.channel == s.channel && j.ev.Type == AnalysisFailed {
			// The analysis goes into the deployment's thread: the update of
			// the final event would replace its metric.
			_, _, err := s.api.PostMessageContext(ctx, ref.channel, append(opts, slack.MsgOptionTS(ref.ts))...)
			return err
		} else if ok && ref.channel == s.channel {
			_, _, _, err := s.api.UpdateMessageContext(ctx, ref.channel, ref.ts, opts...)
			if err == nil {
				if m.mentions != "" {
					// The thread reply is best effort: the update is what
					// the event is; a failed reply is not retried (it
					// would update the message again).
					_, _, _ = s.api.PostMessageContext(ctx, ref.channel, slack.MsgOptionTS(ref.ts),
						slack.MsgOptionText(m.mentions+" "+Escape(m.title), false), slack.MsgOptionUsername(slackUsername))
				}
				return nil
			}
			var ser slack.SlackErrorResponse
			if !errors.As(err, &ser) || (ser.Err != "message_not_found" && ser.Err != "cant_update_message" && ser.Err != "edit_window_closed") {
				return err
			}
			// The message is gone or cannot be edited: post a new one.
		}
	}
	ch, ts, err := s.api.PostMessageContext(ctx, s.channel, opts...)
	if err != nil {
		return err
	}
	if id != "" && ts != "" {
		if ch == "" {
			ch = s.channel
		}
		s.threads.set(s.name, id, threadRef{channel: ch, ts: ts})
	}
	return nil
}

// threadRef is the message of a deployment in a channel.
type threadRef struct {
	channel, ts string
}

// threadStore maps receiver and deployment to the deployment's message.
type threadStore struct {
	mu sync.Mutex
	m  map[string]map[string]threadRef // deployment ID -> receiver -> ref
}

func newThreadStore() *threadStore { return &threadStore{m: map[string]map[string]threadRef{}} }

func (t *threadStore) get(receiver, deployment string) (threadRef, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.m[deployment][receiver]
	return r, ok
}

func (t *threadStore) set(receiver, deployment string, r threadRef) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[deployment] == nil {
		t.m[deployment] = map[string]threadRef{}
	}
	t.m[deployment][receiver] = r
}

// load reads SlackThreads' values; it returns how many were unreadable.
func (t *threadStore) load(in map[string]string) int {
	bad := 0
	for dep, v := range in {
		q, err := url.ParseQuery(v)
		if err != nil {
			bad++
			continue
		}
		for rcv, refs := range q {
			ch, ts, ok := strings.Cut(refs[len(refs)-1], "/")
			if !ok || ch == "" || ts == "" {
				bad++
				continue
			}
			t.set(rcv, dep, threadRef{channel: ch, ts: ts})
		}
	}
	return bad
}

// SlackThreads returns, for each deployment, the Slack messages posted for
// it through the Web API, so that a later run (another CI job resuming the
// deployment) updates them: pass it back as Options.SlackThreads. A value
// is opaque to callers: "<receiver>=<channel>%2F<ts>" pairs joined by '&'
// (URL query encoding). Safe to call at any time.
func (d *Dispatcher) SlackThreads() map[string]string {
	if d == nil {
		return map[string]string{}
	}
	t := d.threads
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]string, len(t.m))
	for dep := range t.m {
		out[dep] = t.encode(dep)
	}
	return out
}

// SlackThread is SlackThreads' value for one deployment ("" when no
// message was posted for it through the Web API): what its record keeps.
func (d *Dispatcher) SlackThread(deploymentID string) string {
	if d == nil {
		return ""
	}
	t := d.threads
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.encode(deploymentID)
}

// encode is a deployment's value; t.mu is held.
func (t *threadStore) encode(deploymentID string) string {
	q := url.Values{}
	for rcv, r := range t.m[deploymentID] {
		q.Set(rcv, r.channel+"/"+r.ts)
	}
	return q.Encode()
}
