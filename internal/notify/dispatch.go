package notify

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/ctxtime"
	"github.com/gitops-pipe/pipe/internal/redact"
)

// Defaults of Options.
const (
	DefaultBound          = 20 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultBackoff        = 500 * time.Millisecond
	maxBackoff            = 8 * time.Second
	// maxQueue caps the events waiting for one receiver; beyond it the
	// oldest are dropped (with a warning): a receiver that does not answer
	// cannot make pipe hold every event of a long run.
	maxQueue = 1000
)

// Options configure a Dispatcher.
type Options struct {
	// Getenv reads the environment variables credentials come from;
	// os.Getenv when nil.
	Getenv func(string) string
	// Warn receives a line for each event given up on, and for events
	// dropped when the queue is closed. Lines never hold a webhook URL, a
	// token or a signature value. Stderr when nil.
	Warn func(string)
	// HTTPClient sends the requests; its Timeout bounds each request. A
	// client with DefaultRequestTimeout when nil. Webhook receivers use a
	// copy that does not follow redirects (the signature value would go
	// along).
	HTTPClient *http.Client
	// Mask, when set, masks the run's secret values in a webhook's body
	// before it is signed (masking it after would void the signature).
	Mask func([]byte) []byte
	// Bound is how long an event may take, from Notify to the last retry,
	// before it is given up on; DefaultBound when 0.
	Bound time.Duration
	// Backoff is the first wait between retries, doubled each time up to
	// 8s, with jitter; DefaultBackoff when 0.
	Backoff time.Duration
	// Now is the clock of webhook signatures and message timestamps;
	// time.Now when nil. Retries and the bound use the real clock.
	Now func() time.Time
	// SlackAPIURL is the Slack Web API base URL (e.g. for GovSlack, or a
	// test server); Slack's when empty.
	SlackAPIURL string
	// SlackThreads preloads what SlackThreads returned in an earlier run,
	// so that the message of a deployment resumed in another CI job is
	// updated rather than posted again.
	SlackThreads map[string]string
	// UserAgent of webhook requests; "pipe" when empty.
	UserAgent string
}

// Dispatcher sends events to their receivers in the background. Notify
// never blocks; each receiver gets its events in order, one at a time.
// An event that fails is retried with exponential backoff (a 429's
// Retry-After is honoured) until Options.Bound after Notify, then given up
// with a warning. Close waits for the queues to drain until its context
// ends. A nil *Dispatcher, or one without receivers, does nothing.
type Dispatcher struct {
	router  *Router
	workers map[string]*worker
	order   []string
	warn    func(string)
	bound   time.Duration
	backoff time.Duration
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	threads *threadStore

	mu     sync.Mutex
	closed bool
}

// sender delivers one job to one receiver.
type sender interface {
	receiverName() string
	send(ctx context.Context, j *job) error
}

// job is one event for one receiver.
type job struct {
	ev       Event
	rcv      Receiver
	deadline time.Time
}

type worker struct {
	d      *Dispatcher
	s      sender
	masker *redact.Masker
	wake   chan struct{}

	mu       sync.Mutex
	queue    []*job
	inflight int
	closing  bool
	expired  int // events whose bound passed before they were tried, not yet warned about
}

// FromConfig returns the Dispatcher of n's routes and receivers, reading
// their credentials from files and environment variables now. An error
// names the receiver and the field (never the secret). A nil n, or one
// without routes, gives a Dispatcher that sends nothing.
func FromConfig(n *config.Notifications, opts Options) (*Dispatcher, error) {
	opts = opts.withDefaults()
	d := newDispatcher(NewRouter(n), opts)
	if n == nil || len(n.Routes) == 0 {
		return d, nil
	}
	used := map[string]bool{}
	for _, rt := range n.Routes {
		used[rt.Receiver] = true
	}
	for _, rc := range n.Receivers {
		if !used[rc.Name] {
			continue
		}
		s, secrets, err := newSender(rc, opts, d.threads)
		if err != nil {
			d.cancel()
			return nil, fmt.Errorf("notifications receiver %q: %w", rc.Name, err)
		}
		d.addWorker(s, secrets...)
	}
	d.start()
	return d, nil
}

func (o Options) withDefaults() Options {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Warn == nil {
		o.Warn = func(s string) { fmt.Fprintln(os.Stderr, "warning: "+s) }
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: DefaultRequestTimeout}
	}
	if o.Bound <= 0 {
		o.Bound = DefaultBound
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.UserAgent == "" {
		o.UserAgent = "pipe"
	}
	return o
}

func newDispatcher(r *Router, opts Options) *Dispatcher {
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{
		router: r, workers: map[string]*worker{}, warn: opts.Warn,
		bound: opts.Bound, backoff: opts.Backoff, ctx: ctx, cancel: cancel,
		threads: newThreadStore(),
	}
	if bad := d.threads.load(opts.SlackThreads); bad > 0 {
		d.warn(fmt.Sprintf("notifications: %d stored Slack message reference(s) unreadable; those deployments get a new message", bad))
	}
	return d
}

func (d *Dispatcher) addWorker(s sender, secrets ...string) {
	w := &worker{d: d, s: s, masker: redact.NewMasker(secrets...), wake: make(chan struct{}, 1)}
	d.workers[s.receiverName()] = w
	d.order = append(d.order, s.receiverName())
}

func (d *Dispatcher) start() {
	for _, name := range d.order {
		w := d.workers[name]
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			w.run()
		}()
	}
}

// newSender builds the sender of a receiver and returns the secrets its
// errors must never show.
func newSender(rc config.NotificationReceiver, opts Options, threads *threadStore) (sender, []string, error) {
	switch {
	case rc.Slack != nil:
		return newSlackSender(rc.Name, rc.Slack, opts, threads)
	case rc.Webhook != nil:
		return newWebhookSender(rc.Name, rc.Webhook, opts)
	}
	return nil, nil, errors.New("neither slack nor webhook is set")
}

// secret reads a credential from a file or an environment variable; field
// is the config path shown in errors ("slack.hookURL").
func secret(field string, file config.HostPath, env config.EnvVar, getenv func(string) string) (string, error) {
	v, err := config.ReadSecret(file, env, getenv)
	switch {
	case err == nil:
		return v, nil
	case file != "":
		return "", fmt.Errorf("%sFile: %w", field, err)
	}
	return "", fmt.Errorf("%sEnv: %w", field, err)
}

func newWebhookSender(name string, c *config.WebhookReceiver, opts Options) (sender, []string, error) {
	u := c.URL
	var secrets []string
	if c.URLEnv != "" {
		v, err := secret("webhook.url", "", c.URLEnv, opts.Getenv)
		if err != nil {
			return nil, nil, err
		}
		u = v
		secrets = append(secrets, urlSecrets(v)...)
	}
	if u == "" {
		return nil, nil, errors.New("webhook.url: not set")
	}
	where := "webhook.url"
	if c.URLEnv != "" {
		where = "webhook.urlEnv (" + string(c.URLEnv) + ")"
	}
	if !strings.HasPrefix(strings.ToLower(u), "https://") && !strings.HasPrefix(strings.ToLower(u), "http://") {
		return nil, nil, fmt.Errorf("%s: not an http(s) URL", where)
	}
	if redact.Cleartext(u) {
		return nil, nil, fmt.Errorf("%s: http:// would send the events and the signature unencrypted; use https:// (plain http is allowed to localhost only)", where)
	}
	val, err := secret("webhook.signatureValue", c.SignatureValueFile, c.SignatureValueEnv, opts.Getenv)
	if err != nil {
		return nil, nil, err
	}
	if val != "" {
		secrets = append(secrets, val)
	}
	key := strings.TrimSpace(c.SignatureKey) // "": no static header
	client := *opts.HTTPClient
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &webhookSender{name: name, url: u, key: key, value: []byte(val), client: &client, now: opts.Now, userAgent: opts.UserAgent, mask: opts.Mask}, secrets, nil
}

// Notify routes ev and queues it for its receivers; it returns at once.
// Events after Close are dropped.
func (d *Dispatcher) Notify(ev Event) {
	if d == nil || len(d.workers) == 0 {
		return
	}
	if ev.Group == "" {
		ev.Group = GroupOf(ev.Type)
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		d.warn(fmt.Sprintf("notifications: %s for %q not sent: notifications already closed", ev.Type, ev.App.Name))
		return
	}
	// Queued under d.mu: Close cannot let a worker end between the check
	// and the queueing.
	deadline := time.Now().Add(d.bound)
	for _, rcv := range d.router.Route(ev) {
		if w := d.workers[rcv.Name]; w != nil {
			w.enqueue(&job{ev: ev, rcv: rcv, deadline: deadline})
		}
	}
	d.mu.Unlock()
}

// Receivers returns the names of the receivers that routes send to.
func (d *Dispatcher) Receivers() []string {
	if d == nil {
		return nil
	}
	return append([]string(nil), d.order...)
}

// Send sends ev to the receiver named name now, whatever the routes say,
// retrying within the bound like Notify (for `pipe notify test`). The
// error is redacted.
func (d *Dispatcher) Send(ctx context.Context, name string, ev Event) error {
	if d == nil {
		return fmt.Errorf("no receiver %q", name)
	}
	w := d.workers[name]
	if w == nil {
		return fmt.Errorf("no receiver %q is routed to", name)
	}
	if ev.Group == "" {
		ev.Group = GroupOf(ev.Type)
	}
	rcv, _ := d.router.Receiver(name)
	ctx, cancel := context.WithTimeout(ctx, d.bound)
	defer cancel()
	deadline, _ := ctx.Deadline()
	_, err := w.deliver(ctx, &job{ev: ev, rcv: rcv, deadline: deadline})
	if err != nil {
		return errors.New(w.redact(err))
	}
	return nil
}

// Close stops accepting events and waits until every queued event is sent
// or given up, or until ctx ends: then the requests in flight are
// cancelled, what is left is dropped with one warning naming how many, and
// the error says so (the warning has been given). A receiver that hangs
// never holds Close beyond ctx.
func (d *Dispatcher) Close(ctx context.Context) error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	already := d.closed
	d.closed = true
	d.mu.Unlock()
	if !already {
		for _, w := range d.workers {
			w.mu.Lock()
			w.closing = true
			w.mu.Unlock()
			w.signal()
		}
	}
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		d.cancel()
		return nil
	case <-ctx.Done():
	}
	left := 0
	for _, w := range d.workers {
		w.mu.Lock()
		left += len(w.queue) + w.inflight
		w.queue = nil
		w.mu.Unlock()
	}
	d.cancel()
	if left == 0 {
		return nil
	}
	d.warn(fmt.Sprintf("notifications: %d not sent: pipe stopped waiting for the receivers (%v)", left, context.Cause(ctx)))
	return fmt.Errorf("notifications: %d not sent: %w", left, context.Cause(ctx))
}

func (w *worker) enqueue(j *job) {
	w.mu.Lock()
	dropped := 0
	if len(w.queue) >= maxQueue {
		dropped = len(w.queue) - maxQueue + 1
		w.queue = w.queue[dropped:]
	}
	w.queue = append(w.queue, j)
	w.mu.Unlock()
	if dropped > 0 {
		w.d.warn(fmt.Sprintf("notifications: receiver %q: %d event(s) dropped: more than %d waiting", w.s.receiverName(), dropped, maxQueue))
	}
	w.signal()
}

func (w *worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) run() {
	defer w.flushExpired()
	for {
		w.mu.Lock()
		for len(w.queue) == 0 {
			if w.closing {
				w.mu.Unlock()
				return
			}
			w.mu.Unlock()
			w.flushExpired()
			select {
			case <-w.wake:
			case <-w.d.ctx.Done():
				return
			}
			w.mu.Lock()
		}
		j := w.queue[0]
		w.queue = w.queue[1:]
		if !time.Now().Before(j.deadline) {
			w.expired++
			w.mu.Unlock()
			continue
		}
		w.inflight = 1
		w.mu.Unlock()

		ctx, cancel := context.WithDeadline(w.d.ctx, j.deadline)
		attempts, err := w.deliver(ctx, j)
		cancel()

		w.mu.Lock()
		w.inflight = 0
		w.mu.Unlock()
		if err != nil && w.d.ctx.Err() == nil {
			w.flushExpired()
			w.d.warn(fmt.Sprintf("notifications: receiver %q: %s for %q not sent (%s): %s",
				w.s.receiverName(), j.ev.Type, j.ev.App.Name, tries(attempts), w.redact(err)))
		}
	}
}

func tries(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// flushExpired warns once about the events given up on before they were
// tried.
func (w *worker) flushExpired() {
	w.mu.Lock()
	n := w.expired
	w.expired = 0
	w.mu.Unlock()
	if n > 0 && w.d.ctx.Err() == nil {
		w.d.warn(fmt.Sprintf("notifications: receiver %q: %d event(s) not sent: the bound of %v passed while earlier ones were retried",
			w.s.receiverName(), n, w.d.bound))
	}
}

// deliver sends j, retrying within ctx; it returns the number of attempts
// and the last error.
func (w *worker) deliver(ctx context.Context, j *job) (int, error) {
	wait := w.d.backoff
	for attempt := 1; ; attempt++ {
		err := w.s.send(ctx, j)
		if err == nil {
			return attempt, nil
		}
		if ctx.Err() != nil {
			return attempt, fmt.Errorf("gave up after %v: %w", w.d.bound, err)
		}
		retry, after := retryable(err)
		if !retry {
			return attempt, err
		}
		pause := after
		if pause <= 0 {
			pause = jitter(wait)
			wait = min(wait*2, maxBackoff)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < pause {
			if after > 0 {
				return attempt, fmt.Errorf("%w; the receiver asks to retry after %v, beyond the bound", err, after)
			}
			return attempt, fmt.Errorf("gave up within the bound of %v: %w", w.d.bound, err)
		}
		if ctxtime.Sleep(ctx, pause) != nil {
			return attempt, fmt.Errorf("gave up after %v: %w", w.d.bound, err)
		}
	}
}

func jitter(d time.Duration) time.Duration {
	return d - d/5 + rand.N(d/5*2+1)
}

// permanentError is a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

// retryable says whether err is worth another attempt, and after how long
// the receiver asked to wait (0: use the backoff).
func retryable(err error) (bool, time.Duration) {
	var (
		pe  *permanentError
		rl  *slack.RateLimitedError
		se  *statusError
		sce slack.StatusCodeError
		ser slack.SlackErrorResponse
	)
	switch {
	case errors.As(err, &pe):
		return false, 0
	case errors.As(err, &rl):
		return true, rl.RetryAfter
	case errors.As(err, &se):
		return se.retry, se.after
	case errors.As(err, &sce):
		return sce.Retryable(), 0
	case errors.As(err, &ser):
		switch ser.Err {
		case "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout":
			return true, 0
		}
		return false, 0
	}
	// Transport errors: a refused or reset connection, a request timeout.
	return true, 0
}

// redact returns err's message without the receiver's secrets, and with
// credentials in URLs masked.
func (w *worker) redact(err error) string {
	return w.masker.Mask(redact.Error(err).Error())
}
