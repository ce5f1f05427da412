package provider

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/gitops-pipe/pipe/internal/config"
	urlredact "github.com/gitops-pipe/pipe/internal/redact"
)

const (
	defaultHTTPTimeout = 60 * time.Second
	// maxAutoPoints is about how many points a query gets when the window
	// leaves the step to the provider.
	maxAutoPoints = 60
)

// Prometheus queries the HTTP API of a Prometheus server (or anything that
// speaks it: Thanos, Mimir, VictoriaMetrics...) with range queries.
//
// Results: a matrix with exactly one series gives its points. NaN samples
// (typically 0/0 of a ratio while there is no traffic) are dropped: a
// series of only NaN is no data. ±Inf samples are kept for the judge.
// Warnings the server attaches to a successful answer do not fail the
// query; they are passed to Options.OnWarning when it is set.
type Prometheus struct {
	where   string
	api     promv1.API
	secrets []string
	warn    func(query, warning string)
	minStep time.Duration
}

func newPrometheus(where string, c *config.PrometheusConfig, opts Options) (*Prometheus, error) {
	u, err := url.Parse(strings.TrimSpace(c.Address))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: `config.address` is not an http:// or https:// URL; write e.g. http://prometheus:9090", where)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s: `config.address` holds credentials (user:password@); remove them and set `usernameEnv`/`passwordEnv` or `bearerTokenEnv` instead", where)
	}
	user, err := secret(where, "username", c.UsernameFile, c.UsernameEnv, opts)
	if err != nil {
		return nil, err
	}
	pass, err := secret(where, "password", c.PasswordFile, c.PasswordEnv, opts)
	if err != nil {
		return nil, err
	}
	token, err := secret(where, "bearerToken", c.BearerTokenFile, c.BearerTokenEnv, opts)
	if err != nil {
		return nil, err
	}
	if (user == "") != (pass == "") {
		return nil, fmt.Errorf("%s: basic authentication needs both a username and a password; set both, or neither", where)
	}
	if (user != "" || token != "") && urlredact.Cleartext(u.String()) {
		return nil, fmt.Errorf("%s: refusing to send the credentials over plain http to %s, where anyone on the network path can read them: "+
			"write an https:// `config.address` (plain http carries credentials only to this machine: localhost, 127.0.0.1, ::1)", where, u.Host)
	}
	base := opts.httpClient()
	client := *base
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	client.Transport = &authTransport{next: next, user: user, pass: pass, token: token}
	ac, err := api.NewClient(api.Config{Address: u.String(), Client: &client})
	if err != nil {
		return nil, fmt.Errorf("%s: cannot create the Prometheus client for %s: %v", where, u.Redacted(), err)
	}
	minStep := c.MinStep.Std()
	if minStep <= 0 {
		minStep = DefaultPrometheusMinStep
	}
	return &Prometheus{where: where, api: promv1.NewAPI(ac), secrets: []string{user, pass, token}, warn: opts.OnWarning, minStep: minStep}, nil
}

// authTransport adds basic authentication or a bearer token to requests.
type authTransport struct {
	next              http.RoundTripper
	user, pass, token string
}

func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.user == "" && t.token == "" {
		return t.next.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	if t.token != "" {
		r.Header.Set("Authorization", "Bearer "+t.token)
	} else {
		r.SetBasicAuth(t.user, t.pass)
	}
	return t.next.RoundTrip(r)
}

// Type implements Provider.
func (*Prometheus) Type() string { return config.AnalysisPrometheus }

// DefaultPrometheusMinStep is the least step of a query whose window leaves
// the step to the provider, when the config sets no minStep: a common
// scrape interval.
const DefaultPrometheusMinStep = 15 * time.Second

// autoStep is the step of a window that leaves it to the provider: about
// maxAutoPoints points, whole seconds, at least 1s.
func autoStep(w Window) time.Duration {
	span := w.End.Sub(w.Start)
	step := (span + maxAutoPoints - 1) / maxAutoPoints
	step = step.Round(time.Second)
	if step*maxAutoPoints < span {
		step += time.Second
	}
	return max(step, time.Second)
}

func checkWindow(where, query string, w Window) error {
	if w.Start.IsZero() || w.End.IsZero() || !w.End.After(w.Start) {
		return fmt.Errorf("%s: query %q: invalid window %s..%s: the end must be after the start", where, query,
			w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
	}
	if w.Step < 0 {
		return fmt.Errorf("%s: query %q: negative step %s", where, query, w.Step)
	}
	return nil
}

// Query implements Provider.
func (p *Prometheus) Query(ctx context.Context, query string, w Window) ([]Point, error) {
	if strings.TrimSpace(query) == "" {
		return nil, fmt.Errorf("%s: the query is empty; write a PromQL expression", p.where)
	}
	if err := checkWindow(p.where, query, w); err != nil {
		return nil, err
	}
	step := w.Step
	if step == 0 {
		// Never finer than the scrape interval: a rate evaluated every
		// second over 15s scrapes repeats each value 15 times, and a rank
		// test would count the copies as evidence.
		step = max(autoStep(w), p.minStep)
	}
	v, warnings, _, err := p.api.QueryRange(ctx, query, promv1.Range{Start: w.Start, End: w.End, Step: step})
	if err != nil {
		return nil, p.queryError(query, err)
	}
	if p.warn != nil {
		for _, wmsg := range warnings {
			p.warn(query, redact(wmsg, p.secrets...))
		}
	}
	return p.points(query, v)
}

func (p *Prometheus) queryError(query string, err error) error {
	var perr *promv1.Error
	if errors.As(err, &perr) {
		msg := fmt.Sprintf("%s: %s", perr.Type, perr.Msg)
		if perr.Detail != "" {
			msg += ": " + snippet([]byte(perr.Detail), 200)
		}
		hint := "check the PromQL expression"
		switch perr.Type {
		case promv1.ErrBadResponse, promv1.ErrServer:
			hint = "check `config.address` and the credentials"
		case promv1.ErrClient:
			if strings.Contains(perr.Msg, "401") || strings.Contains(perr.Msg, "403") {
				hint = "check the credentials (`usernameEnv`/`passwordEnv` or `bearerTokenEnv`)"
			} else {
				hint = "check the PromQL expression and `config.address`"
			}
		case promv1.ErrTimeout, promv1.ErrCanceled:
			hint = "narrow the query or the window"
		}
		return fmt.Errorf("%s: query %q failed: %s; %s", p.where, query, redact(msg, p.secrets...), hint)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: query %q interrupted: %w", p.where, query, err)
	}
	return fmt.Errorf("%s: query %q: cannot reach the server: %s; check `config.address` and the network", p.where, query,
		redact(err.Error(), p.secrets...))
}

func (p *Prometheus) points(query string, v model.Value) ([]Point, error) {
	switch v := v.(type) {
	case model.Matrix:
		switch len(v) {
		case 0:
			return nil, fmt.Errorf("%s: query %q: %w (no series matched)", p.where, query, ErrNoData)
		case 1:
			pts := make([]Point, 0, len(v[0].Values)+len(v[0].Histograms))
			for _, s := range v[0].Values {
				if math.IsNaN(float64(s.Value)) {
					continue
				}
				pts = append(pts, Point{Time: s.Timestamp.Time().UTC(), Value: float64(s.Value)})
			}
			if len(pts) == 0 {
				if len(v[0].Histograms) > 0 {
					return nil, fmt.Errorf("%s: query %q returns native histograms, not numbers; use e.g. histogram_quantile(0.99, ...) or histogram_count(...)", p.where, query)
				}
				return nil, fmt.Errorf("%s: query %q: %w (the series has no numeric samples in the window)", p.where, query, ErrNoData)
			}
			return pts, nil
		}
		labels := make([]string, len(v))
		for i, s := range v {
			labels[i] = s.Metric.String()
		}
		return nil, p.manySeries(query, labels)
	case model.Vector:
		switch len(v) {
		case 0:
			return nil, fmt.Errorf("%s: query %q: %w (no series matched)", p.where, query, ErrNoData)
		case 1:
			if math.IsNaN(float64(v[0].Value)) {
				return nil, fmt.Errorf("%s: query %q: %w (the sample is NaN)", p.where, query, ErrNoData)
			}
			return []Point{{Time: v[0].Timestamp.Time().UTC(), Value: float64(v[0].Value)}}, nil
		}
		labels := make([]string, len(v))
		for i, s := range v {
			labels[i] = s.Metric.String()
		}
		return nil, p.manySeries(query, labels)
	case *model.Scalar:
		if math.IsNaN(float64(v.Value)) {
			return nil, fmt.Errorf("%s: query %q: %w (the scalar is NaN)", p.where, query, ErrNoData)
		}
		return []Point{{Time: v.Timestamp.Time().UTC(), Value: float64(v.Value)}}, nil
	case nil:
		return nil, fmt.Errorf("%s: query %q: %w (empty result)", p.where, query, ErrNoData)
	}
	return nil, fmt.Errorf("%s: query %q returns a %s, not numbers; write an expression that evaluates to one number series", p.where, query, v.Type())
}

func (p *Prometheus) manySeries(query string, labels []string) error {
	sort.Strings(labels)
	return fmt.Errorf("%s: query %q returns %d series (%s); the analysis needs one: aggregate them, e.g. sum(%s)",
		p.where, query, len(labels), describeSeries(labels), query)
}
