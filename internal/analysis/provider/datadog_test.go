package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/testenv/fakes"
)

const (
	ddAPIKey = "dd-api-key-0123456789abcdef"
	ddAppKey = "dd-app-key-fedcba9876543210"
)

func newDD(t *testing.T, apiKey, appKey string) (*fakes.Datadog, Provider) {
	t.Helper()
	fake, srv := fakes.NewDatadog(ddAPIKey, ddAppKey)
	t.Cleanup(srv.Close)
	p, err := New(&config.AnalysisProvider{Name: "dd", Type: config.AnalysisDatadog, Config: &config.DatadogConfig{
		Address: "datadoghq.eu", APIKeyEnv: "DD_API_KEY", ApplicationKeyEnv: "DD_APP_KEY",
	}}, Options{Getenv: env(map[string]string{"DD_API_KEY": apiKey, "DD_APP_KEY": appKey}), DatadogBaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return fake, p
}

func f(v float64) *float64 { return &v }

func TestDatadogQuery(t *testing.T) {
	fake, p := newDD(t, ddAPIKey, ddAppKey)
	const q = "sum:trace.http.request.errors{service:web,version:canary}.as_count()"
	fake.SetSeries(q, fakes.DatadogSeries{Metric: "trace.http.request.errors", Scope: "service:web,version:canary", Points: []fakes.DatadogPoint{
		{Time: t0.Add(-time.Minute), Value: f(99)}, // before the window: not returned
		{Time: t0, Value: f(1)},
		{Time: t0.Add(20 * time.Second), Value: nil},
		{Time: t0.Add(40 * time.Second), Value: f(2.5)},
	}})
	w := Window{Start: t0, End: t0.Add(time.Minute), Step: 10 * time.Second}
	pts, err := p.Query(context.Background(), q, w)
	if err != nil {
		t.Fatal(err)
	}
	want := []Point{{t0, 1}, {t0.Add(40 * time.Second), 2.5}}
	if len(pts) != 2 || pts[0] != want[0] || pts[1] != want[1] {
		t.Errorf("points %v, want %v (null skipped)", pts, want)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("requests %v", reqs)
	}
	r := reqs[0]
	if r.Query != q || !r.From.Equal(t0) || !r.To.Equal(t0.Add(time.Minute)) || r.APIKey != ddAPIKey || r.AppKey != ddAppKey {
		t.Errorf("request %+v", r)
	}
	if p.Type() != config.AnalysisDatadog {
		t.Errorf("Type %q", p.Type())
	}
}

func TestDatadogNoDataAndSeveralSeries(t *testing.T) {
	fake, p := newDD(t, ddAPIKey, ddAppKey)
	w := Window{Start: t0, End: t0.Add(time.Minute)}
	_, err := p.Query(context.Background(), "avg:nothing{*}", w)
	if !errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), "avg:nothing{*}") {
		t.Errorf("empty: %v", err)
	}
	fake.SetSeries("avg:nulls{*}", fakes.DatadogSeries{Scope: "*", Points: []fakes.DatadogPoint{{Time: t0}}})
	if _, err := p.Query(context.Background(), "avg:nulls{*}", w); !errors.Is(err, ErrNoData) {
		t.Errorf("only nulls: %v", err)
	}
	fake.SetSeries("avg:lat{*} by {version}",
		fakes.DatadogSeries{Scope: "version:v1", Points: []fakes.DatadogPoint{{Time: t0, Value: f(1)}}},
		fakes.DatadogSeries{Scope: "version:v2", Points: []fakes.DatadogPoint{{Time: t0, Value: f(2)}}})
	_, err = p.Query(context.Background(), "avg:lat{*} by {version}", w)
	if err == nil || errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), "2 series ({version:v1}, {version:v2})") || !strings.Contains(err.Error(), "aggregate") {
		t.Errorf("several series: %v", err)
	}
}

func TestDatadogErrors(t *testing.T) {
	w := Window{Start: t0, End: t0.Add(time.Minute)}
	_, p := newDD(t, "wrong-api-key-value", ddAppKey)
	_, err := p.Query(context.Background(), "avg:x{*}", w)
	if err == nil || !strings.Contains(err.Error(), "HTTP 403") || !strings.Contains(err.Error(), "Forbidden") || !strings.Contains(err.Error(), "keys") {
		t.Errorf("bad key: %v", err)
	}

	fake, p := newDD(t, ddAPIKey, ddAppKey)
	fake.Data = func(q string, _, _ time.Time) ([]fakes.DatadogSeries, error) {
		if strings.HasPrefix(q, "bad") {
			return nil, fmt.Errorf("%w: rule 'scope_expr' didn't match at ''", fakes.ErrDatadogQuery)
		}
		return nil, errors.New("Query exceeded the maximum number of series")
	}
	_, err = p.Query(context.Background(), "bad:query{", w)
	if err == nil || !strings.Contains(err.Error(), "HTTP 400") || !strings.Contains(err.Error(), "Error parsing query") {
		t.Errorf("bad query: %v", err)
	}
	_, err = p.Query(context.Background(), "avg:x{*}", w)
	if err == nil || !strings.Contains(err.Error(), "Query exceeded the maximum number of series") {
		t.Errorf("status error: %v", err)
	}
}

func TestDatadogErrorsDoNotLeakKeys(t *testing.T) {
	// A server (or proxy) that echoes the keys it rejected.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"errors":["invalid key %s / %s"]}`, r.Header.Get("DD-API-KEY"), r.Header.Get("DD-APPLICATION-KEY"))
	}))
	defer srv.Close()
	p, err := New(&config.AnalysisProvider{Name: "dd", Type: config.AnalysisDatadog, Config: &config.DatadogConfig{
		APIKeyEnv: "A", ApplicationKeyEnv: "B"}}, Options{Getenv: env(map[string]string{"A": ddAPIKey, "B": ddAppKey}), DatadogBaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Query(context.Background(), "avg:x{*}", Window{Start: t0, End: t0.Add(time.Minute)})
	if err == nil || strings.Contains(err.Error(), ddAPIKey) || strings.Contains(err.Error(), ddAppKey) || !strings.Contains(err.Error(), "<redacted>") {
		t.Errorf("error %v leaks or hides nothing", err)
	}
	// Not JSON at all (an HTML error page of a proxy).
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html>oops "+r.Header.Get("DD-API-KEY")+"</html>")
	}))
	defer srv2.Close()
	p, _ = New(&config.AnalysisProvider{Name: "dd", Type: config.AnalysisDatadog, Config: &config.DatadogConfig{
		APIKeyEnv: "A", ApplicationKeyEnv: "B"}}, Options{Getenv: env(map[string]string{"A": ddAPIKey, "B": ddAppKey}), DatadogBaseURL: srv2.URL})
	_, err = p.Query(context.Background(), "avg:x{*}", Window{Start: t0, End: t0.Add(time.Minute)})
	if err == nil || strings.Contains(err.Error(), ddAPIKey) || !strings.Contains(err.Error(), "not the JSON") {
		t.Errorf("HTML answer: %v", err)
	}
}

func TestDatadogBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "https://api.datadoghq.com",
		"datadoghq.com":      "https://api.datadoghq.com",
		"datadoghq.eu":       "https://api.datadoghq.eu",
		"app.datadoghq.eu":   "https://api.datadoghq.eu",
		"us3.datadoghq.com":  "https://api.us3.datadoghq.com",
		"api.ddog-gov.com/":  "https://api.ddog-gov.com",
		"https://dd.proxy/x": "https://dd.proxy/x",
	} {
		got, err := datadogBaseURL(in)
		if err != nil || got != want {
			t.Errorf("datadogBaseURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"localhost", "datadoghq.com/path", "user@datadoghq.com"} {
		if _, err := datadogBaseURL(bad); err == nil {
			t.Errorf("datadogBaseURL(%q) accepted", bad)
		}
	}
	_, err := New(&config.AnalysisProvider{Name: "dd", Type: config.AnalysisDatadog, Config: &config.DatadogConfig{
		APIKeyEnv: "A", ApplicationKeyFile: "/nonexistent/app-key"}}, Options{Getenv: env(map[string]string{"A": "k"})})
	if err == nil || !strings.Contains(err.Error(), "`applicationKeyFile`: cannot read /nonexistent/app-key") {
		t.Errorf("unreadable key file: %v", err)
	}
}
