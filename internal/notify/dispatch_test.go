package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
)

func webhookConfig(u string) *config.Notifications {
	return &config.Notifications{
		Routes: []config.NotificationRoute{{Name: "all", Receiver: "hook"}},
		Receivers: []config.NotificationReceiver{{Name: "hook", Webhook: &config.WebhookReceiver{
			URL: u, SignatureKey: "PipeCD-Signature", SignatureValueEnv: "SIG",
		}}},
	}
}

const sigValue = "s3cr3t-signature-value"

func env(k string) string {
	return map[string]string{"SIG": sigValue}[k]
}

// warnings collects warnings safely.
type warnings struct {
	mu sync.Mutex
	l  []string
}

func (w *warnings) add(s string) {
	w.mu.Lock()
	w.l = append(w.l, s)
	w.mu.Unlock()
}

func (w *warnings) get() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.l...)
}

func TestWebhookSignedAndVerified(t *testing.T) {
	type got struct {
		ev     Event
		static string
		err    error
	}
	ch := make(chan got, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := Verify([]byte(sigValue), r.Header.Get(SignatureHeader), body, time.Now(), DefaultWebhookMaxAge)
		if r.Header.Get(TimestampHeader) == "" || !strings.HasPrefix(r.Header.Get(SignatureHeader), "t="+r.Header.Get(TimestampHeader)+",") {
			err = errors.New("timestamp header missing or different")
		}
		var e Event
		if jerr := json.Unmarshal(body, &e); jerr != nil {
			err = jerr
		}
		ch <- got{e, r.Header.Get("PipeCD-Signature"), err}
	}))
	defer srv.Close()
	d, err := FromConfig(webhookConfig(srv.URL), Options{Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	d.Notify(deployEvent(DeploymentFailed))
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	g := <-ch
	if g.err != nil {
		t.Fatal(g.err)
	}
	if g.static != sigValue {
		t.Errorf("PipeCD-Signature = %q", g.static)
	}
	if g.ev.Type != DeploymentFailed || g.ev.Group != GroupDeployment || g.ev.Deployment.ID != "dep-1" || g.ev.App.Name != "payments" {
		t.Errorf("event %+v", g.ev)
	}
}

func TestVerify(t *testing.T) {
	secret := []byte("k")
	body := []byte(`{"type":"DEPLOYMENT_FAILED"}`)
	t0 := time.Unix(1700000000, 0)
	h := Sign(secret, t0, body)
	if err := Verify(secret, h, body, t0.Add(time.Minute), 5*time.Minute); err != nil {
		t.Errorf("fresh: %v", err)
	}
	if err := Verify(secret, h, body, t0.Add(6*time.Minute), 5*time.Minute); !errors.Is(err, ErrStale) {
		t.Errorf("replayed 6 minutes later: %v, want ErrStale", err)
	}
	if err := Verify(secret, h, []byte(`{"type":"DEPLOYMENT_SUCCEEDED"}`), t0, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered body: %v", err)
	}
	if err := Verify([]byte("other"), h, body, t0, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other secret: %v", err)
	}
	// A timestamp moved forward by an attacker breaks the signature.
	forged := strings.Replace(h, "t=1700000000", "t=1700000360", 1)
	if err := Verify(secret, forged, body, t0.Add(6*time.Minute), 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("forged timestamp: %v", err)
	}
	for _, bad := range []string{"", "t=abc,v1=00", "v1=00", "t=1700000000"} {
		if err := Verify(secret, bad, body, t0, time.Minute); !errors.Is(err, ErrNoSignature) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// Rotation: any v1 may match.
	if err := Verify(secret, h+",v1=00ff", body, t0, time.Minute); err != nil {
		t.Errorf("two signatures: %v", err)
	}
}

func TestWebhookReplayRejectedByReceiver(t *testing.T) {
	// A receiver verifying with a 1s tolerance accepts the request as sent
	// and rejects the same request replayed 2s later. Both clocks are
	// fixed: the timestamp has seconds, so with the real clocks a request
	// signed late in a second and received in the next could be more than
	// 1s old already (a chance of its latency in a second: 1e-4 to 1e-3).
	signed := time.Unix(1700000000, 0)
	var mu sync.Mutex
	received := signed.Add(10 * time.Millisecond)
	var first *http.Request
	var firstBody []byte
	var codes []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		now := received
		mu.Unlock()
		code := http.StatusOK
		if Verify([]byte(sigValue), r.Header.Get(SignatureHeader), body, now, time.Second) != nil {
			code = http.StatusUnauthorized
		}
		mu.Lock()
		if first == nil {
			first, firstBody = r.Clone(context.Background()), body
		}
		codes = append(codes, code)
		mu.Unlock()
		w.WriteHeader(code)
	}))
	defer srv.Close()
	d, err := FromConfig(webhookConfig(srv.URL), Options{Getenv: env, Now: func() time.Time { return signed }})
	if err != nil {
		t.Fatal(err)
	}
	d.Notify(deployEvent(DeploymentSucceeded))
	_ = d.Close(context.Background())
	mu.Lock()
	received = signed.Add(2100 * time.Millisecond)
	mu.Unlock()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(string(firstBody)))
	req.Header = first.Header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(codes) != 2 || codes[0] != http.StatusOK || codes[1] != http.StatusUnauthorized {
		t.Errorf("codes %v, want [200 401]", codes)
	}
}

func TestWebhookRefusesCleartext(t *testing.T) {
	_, err := FromConfig(webhookConfig("http://hooks.example.com/x"), Options{Getenv: env})
	if err == nil || !strings.Contains(err.Error(), `receiver "hook"`) || !strings.Contains(err.Error(), "https://") {
		t.Fatalf("err = %v", err)
	}
	// From an environment variable: the URL is a secret, never shown.
	n := webhookConfig("")
	n.Receivers[0].Webhook.URLEnv = "HOOK_URL"
	_, err = FromConfig(n, Options{Getenv: func(k string) string {
		if k == "HOOK_URL" {
			return "http://hooks.example.com/very-secret-path"
		}
		return env(k)
	}})
	if err == nil || strings.Contains(err.Error(), "very-secret-path") || !strings.Contains(err.Error(), "HOOK_URL") {
		t.Fatalf("err = %v", err)
	}
	if _, err := FromConfig(webhookConfig("http://127.0.0.1:9/x"), Options{Getenv: env}); err != nil {
		t.Errorf("loopback refused: %v", err)
	}
}

func TestConfigErrorsNameReceiverAndField(t *testing.T) {
	n := webhookConfig("https://example.com/hook")
	_, err := FromConfig(n, Options{Getenv: func(string) string { return "" }})
	if err == nil || err.Error() != `notifications receiver "hook": webhook.signatureValueEnv: the environment variable SIG is not set` {
		t.Errorf("unset env: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "token")
	s := botConfig()
	s.Receivers[0].Slack.OAuthTokenEnv = ""
	s.Receivers[0].Slack.OAuthTokenFile = config.HostPath(missing)
	_, err = FromConfig(s, Options{})
	if err == nil || !strings.Contains(err.Error(), `receiver "slack": slack.oauthTokenFile:`) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	if err := os.WriteFile(missing, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = FromConfig(s, Options{})
	if err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty file: %v", err)
	}
	if err := os.WriteFile(missing, []byte("xoxb-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := FromConfig(s, Options{}); err != nil {
		t.Errorf("token file: %v", err)
	}
	// Nothing configured: a Dispatcher that does nothing.
	d, err := FromConfig(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.Notify(deployEvent(DeploymentFailed))
	if err := d.Close(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	for _, kind := range []string{"webhook", "slack"} {
		t.Run(kind, func(t *testing.T) {
			var mu sync.Mutex
			var at []time.Time
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				at = append(at, time.Now())
				n := len(at)
				mu.Unlock()
				if n == 1 {
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				_, _ = w.Write([]byte("ok"))
			}))
			defer srv.Close()
			n := webhookConfig(srv.URL)
			if kind == "slack" {
				// slack-go answers a 429 with *slack.RateLimitedError.
				n.Receivers[0] = config.NotificationReceiver{Name: "hook", Slack: &config.SlackReceiver{HookURLEnv: "HOOK"}}
			}
			w := &warnings{}
			d, err := FromConfig(n, Options{Getenv: func(k string) string {
				if k == "HOOK" {
					return srv.URL + "/services/x"
				}
				return env(k)
			}, Warn: w.add, Backoff: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			d.Notify(deployEvent(DeploymentSucceeded))
			if err := d.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(at) != 2 {
				t.Fatalf("%d attempts, warnings %v", len(at), w.get())
			}
			if gap := at[1].Sub(at[0]); gap < 950*time.Millisecond {
				t.Errorf("retried after %v, Retry-After said 1s", gap)
			}
			if len(w.get()) > 0 {
				t.Errorf("warnings %v", w.get())
			}
		})
	}
}

func TestRetryAfterBeyondBoundGivesUp(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	w := &warnings{}
	d, _ := FromConfig(webhookConfig(srv.URL), Options{Getenv: env, Warn: w.add, Bound: 2 * time.Second})
	start := time.Now()
	d.Notify(deployEvent(DeploymentSucceeded))
	_ = d.Close(context.Background())
	if el := time.Since(start); el > time.Second || n.Load() != 1 {
		t.Errorf("took %v, %d attempts", el, n.Load())
	}
	if ws := w.get(); len(ws) != 1 || !strings.Contains(ws[0], "retry after 1m0s, beyond the bound") {
		t.Errorf("warnings %v", ws)
	}
}

func TestBackoffThenPermanentFailure(t *testing.T) {
	var mu sync.Mutex
	var codes []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		c := []int{500, 502, 400}[min(len(codes), 2)]
		codes = append(codes, c)
		w.WriteHeader(c)
	}))
	defer srv.Close()
	w := &warnings{}
	d, _ := FromConfig(webhookConfig(srv.URL), Options{Getenv: env, Warn: w.add, Backoff: 20 * time.Millisecond})
	d.Notify(deployEvent(DeploymentSucceeded))
	_ = d.Close(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if len(codes) != 3 {
		t.Errorf("attempts %v: a 400 is not retried, 5xx are", codes)
	}
	if ws := w.get(); len(ws) != 1 || !strings.Contains(ws[0], `receiver "hook": DEPLOYMENT_SUCCEEDED for "payments" not sent (3 attempts): HTTP 400`) {
		t.Errorf("warnings %v", ws)
	}
}

// hanging is a receiver that never answers until the test ends.
func hanging(t *testing.T) *httptest.Server {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	return srv
}

func TestHangingReceiverCloseWithinDeadline(t *testing.T) {
	srv := hanging(t)
	w := &warnings{}
	d, _ := FromConfig(webhookConfig(srv.URL), Options{Getenv: env, Warn: w.add, HTTPClient: &http.Client{Timeout: time.Hour}})
	start := time.Now()
	for range 5 {
		d.Notify(deployEvent(DeploymentStarted))
	}
	if el := time.Since(start); el > 50*time.Millisecond {
		t.Errorf("Notify took %v", el)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := d.Close(ctx)
	el := time.Since(start)
	if err == nil || el > 500*time.Millisecond {
		t.Errorf("Close: %v after %v", err, el)
	}
	ws := w.get()
	if len(ws) != 1 || !strings.Contains(ws[0], "notifications: 5 not sent") {
		t.Errorf("warnings %v", ws)
	}
	t.Logf("Close returned after %v: %v", el, err)
}

func TestHangingReceiverBound(t *testing.T) {
	// No deadline on Close: the bound (from Notify) ends it.
	srv := hanging(t)
	w := &warnings{}
	// The worker warns about the first event before it takes the next one:
	// the warning waits until the bound of all three has passed. Their
	// deadlines are Notify's time plus the bound, microseconds apart, and
	// a loaded machine could stretch that past the moment the first event
	// is given up: the second would then be tried, not expired.
	var mu sync.Mutex
	var notified time.Time
	warn := func(s string) {
		mu.Lock()
		last := notified
		mu.Unlock()
		if !last.IsZero() { // zero: a warning from Notify itself
			time.Sleep(time.Until(last.Add(300 * time.Millisecond)))
		}
		w.add(s)
	}
	d, _ := FromConfig(webhookConfig(srv.URL), Options{Getenv: env, Warn: warn, Bound: 300 * time.Millisecond})
	start := time.Now()
	for range 3 {
		d.Notify(deployEvent(DeploymentStarted))
	}
	mu.Lock()
	notified = time.Now() // after the last deadline was set
	mu.Unlock()
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 600*time.Millisecond {
		t.Errorf("Close after %v, bound 300ms", el)
	}
	ws := w.get()
	if len(ws) != 2 || !strings.Contains(ws[0], "gave up after 300ms") || !strings.Contains(ws[1], "2 event(s) not sent: the bound of 300ms passed") {
		t.Errorf("warnings %q", ws)
	}
}

func TestSecretsNeverInWarnings(t *testing.T) {
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer fail.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close() // connection refused: the transport error holds the URL
	secrets := map[string]string{
		"HOOK_FAIL":   fail.URL + "/services/T000/B000/hook-secret-one",
		"HOOK_CLOSED": closedURL + "/services/T000/B000/hook-secret-two",
		"URL_CLOSED":  "http://user:pw-secret-three@" + strings.TrimPrefix(closedURL, "http://") + "/x?token=tok-secret-four",
		"SIG":         sigValue,
	}
	n := &config.Notifications{
		Routes: []config.NotificationRoute{{Name: "a", Receiver: "s1"}, {Name: "b", Receiver: "s2"}, {Name: "c", Receiver: "w"}},
		Receivers: []config.NotificationReceiver{
			{Name: "s1", Slack: &config.SlackReceiver{HookURLEnv: "HOOK_FAIL"}},
			{Name: "s2", Slack: &config.SlackReceiver{HookURLEnv: "HOOK_CLOSED"}},
			{Name: "w", Webhook: &config.WebhookReceiver{URLEnv: "URL_CLOSED", SignatureKey: "X", SignatureValueEnv: "SIG"}},
		},
	}
	w := &warnings{}
	d, err := FromConfig(n, Options{Getenv: func(k string) string { return secrets[k] }, Warn: w.add, Bound: 300 * time.Millisecond, Backoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	d.Notify(deployEvent(DeploymentFailed))
	_ = d.Close(context.Background())
	ws := w.get()
	if len(ws) != 3 {
		t.Fatalf("warnings %q", ws)
	}
	all := strings.Join(ws, "\n")
	for _, s := range []string{"hook-secret-one", "hook-secret-two", "pw-secret-three", "tok-secret-four", sigValue, "/services/"} {
		if strings.Contains(all, s) {
			t.Errorf("warnings hold %q:\n%s", s, all)
		}
	}
	t.Logf("warnings:\n%s", all)
}

func TestNotifyAfterCloseDropped(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) }))
	defer srv.Close()
	w := &warnings{}
	d, _ := FromConfig(webhookConfig(srv.URL), Options{Getenv: env, Warn: w.add})
	_ = d.Close(context.Background())
	d.Notify(deployEvent(DeploymentFailed))
	if n.Load() != 0 || len(w.get()) != 1 {
		t.Errorf("sent %d, warnings %v", n.Load(), w.get())
	}
}

func TestOrderPerReceiver(t *testing.T) {
	var mu sync.Mutex
	var got []Type
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e Event
		_ = json.NewDecoder(r.Body).Decode(&e)
		mu.Lock()
		got = append(got, e.Type)
		mu.Unlock()
	}))
	defer srv.Close()
	d, _ := FromConfig(webhookConfig(srv.URL), Options{Getenv: env})
	want := []Type{DeploymentTriggered, DeploymentPlanned, DeploymentStarted, StageStarted, StageSucceeded, DeploymentSucceeded}
	for _, typ := range want {
		d.Notify(deployEvent(typ))
	}
	_ = d.Close(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(typesToStrings(got), ",") != strings.Join(typesToStrings(want), ",") {
		t.Errorf("order %v", got)
	}
}

func typesToStrings(ts []Type) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

func TestSendForNotifyTest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	defer srv.Close()
	d, _ := FromConfig(webhookConfig(srv.URL), Options{Getenv: env})
	defer d.Close(context.Background())
	if err := d.Send(context.Background(), "hook", deployEvent(DeploymentTriggered)); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("Send: %v", err)
	}
	if err := d.Send(context.Background(), "nope", deployEvent(DeploymentTriggered)); err == nil {
		t.Error("unknown receiver accepted")
	}
}

// BenchmarkNotifyCloseSlowReceiver measures what notifications cost a
// deployment whose receiver takes 2s per request: Notify of a run's ten
// events, then Close with the 500ms a caller gives it at exit.
func BenchmarkNotifyCloseSlowReceiver(b *testing.B) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(stop)
	var notify time.Duration
	for b.Loop() {
		d, _ := FromConfig(webhookConfig(srv.URL), Options{Getenv: env, Warn: func(string) {}})
		start := time.Now()
		for range 10 {
			d.Notify(deployEvent(StageSucceeded))
		}
		notify += time.Since(start)
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_ = d.Close(ctx)
		cancel()
	}
	b.ReportMetric(float64(notify.Nanoseconds())/float64(b.N)/10, "ns/Notify")
}
