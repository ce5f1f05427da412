package provider

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
)

// promAPI is a stand-in for the query_range endpoint: it records the
// request and answers the JSON the test gives. The real server is tested
// in internal/testenv/prometheus.
type promAPI struct {
	mu     sync.Mutex
	form   url.Values
	header http.Header
	status int
	body   string
}

func (a *promAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query_range" {
		http.NotFound(w, r)
		return
	}
	_ = r.ParseForm()
	a.mu.Lock()
	a.form, a.header = r.Form, r.Header.Clone()
	status, body := a.status, a.body
	a.mu.Unlock()
	if status == 0 {
		status = 200
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func matrixJSON(series ...string) string {
	return `{"status":"success","data":{"resultType":"matrix","result":[` + strings.Join(series, ",") + `]}}`
}

func newProm(t *testing.T, a *promAPI, c config.PrometheusConfig, opts Options) Provider {
	t.Helper()
	s := httptest.NewServer(a)
	t.Cleanup(s.Close)
	c.Address = s.URL
	p, err := New(&config.AnalysisProvider{Name: "prom", Type: config.AnalysisPrometheus, Config: &c}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestPrometheusOneSeries(t *testing.T) {
	a := &promAPI{body: matrixJSON(`{"metric":{"variant":"canary"},"values":[[` + unix(t0) + `,"0.1"],[` + unix(t0.Add(time.Minute)) + `,"NaN"],[` + unix(t0.Add(2*time.Minute)) + `,"+Inf"],[` + unix(t0.Add(3*time.Minute)) + `,"0.3"]]}`)}
	p := newProm(t, a, config.PrometheusConfig{}, Options{})
	if p.Type() != config.AnalysisPrometheus {
		t.Errorf("Type = %q", p.Type())
	}
	pts, err := p.Query(context.Background(), `sum(rate(x[1m]))`, Window{Start: t0, End: t0.Add(3 * time.Minute), Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	want := []Point{{t0, 0.1}, {t0.Add(2 * time.Minute), math.Inf(1)}, {t0.Add(3 * time.Minute), 0.3}}
	if len(pts) != len(want) {
		t.Fatalf("points %v, want %v (NaN dropped)", pts, want)
	}
	for i := range want {
		if !pts[i].Time.Equal(want[i].Time) || pts[i].Value != want[i].Value {
			t.Errorf("point %d = %v, want %v", i, pts[i], want[i])
		}
	}
	if got := a.form.Get("query"); got != `sum(rate(x[1m]))` {
		t.Errorf("query sent %q", got)
	}
	if a.form.Get("step") != "60" || a.form.Get("start") != unix(t0) || a.form.Get("end") != unix(t0.Add(3*time.Minute)) {
		t.Errorf("range sent %v", a.form)
	}
	if h := a.header.Get("Authorization"); h != "" {
		t.Errorf("Authorization %q sent without credentials", h)
	}
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func TestPrometheusAutoStep(t *testing.T) {
	a := &promAPI{body: matrixJSON(`{"metric":{},"values":[[` + unix(t0) + `,"1"]]}`)}
	p := newProm(t, a, config.PrometheusConfig{}, Options{})
	if _, err := p.Query(context.Background(), "up", Window{Start: t0, End: t0.Add(30 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if got := a.form.Get("step"); got != "30" {
		t.Errorf("step %q for 30m, want 30 (60 points)", got)
	}
}

func TestPrometheusAuth(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret-pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	body := matrixJSON(`{"metric":{},"values":[[` + unix(t0) + `,"1"]]}`)
	w := Window{Start: t0, End: t0.Add(time.Minute)}

	a := &promAPI{body: body}
	p := newProm(t, a, config.PrometheusConfig{UsernameEnv: "PROM_USER", PasswordFile: config.HostPath(pwFile)},
		Options{Getenv: env(map[string]string{"PROM_USER": "alice"})})
	if _, err := p.Query(context.Background(), "up", w); err != nil {
		t.Fatal(err)
	}
	r := &http.Request{Header: a.header}
	if u, pw, ok := r.BasicAuth(); !ok || u != "alice" || pw != "s3cret-pass" {
		t.Errorf("basic auth = %q %q %v", u, pw, ok)
	}

	a = &promAPI{body: body}
	p = newProm(t, a, config.PrometheusConfig{BearerTokenEnv: "PROM_TOKEN"}, Options{Getenv: env(map[string]string{"PROM_TOKEN": "tok-123456"})})
	if _, err := p.Query(context.Background(), "up", w); err != nil {
		t.Fatal(err)
	}
	if h := a.header.Get("Authorization"); h != "Bearer tok-123456" {
		t.Errorf("Authorization = %q", h)
	}

	_, err := New(&config.AnalysisProvider{Name: "prom", Type: config.AnalysisPrometheus,
		Config: &config.PrometheusConfig{Address: "http://p", BearerTokenEnv: "UNSET"}}, Options{Getenv: env(nil)})
	if err == nil || !strings.Contains(err.Error(), "UNSET") {
		t.Errorf("unset token env: %v", err)
	}
	_, err = New(&config.AnalysisProvider{Name: "prom", Type: config.AnalysisPrometheus,
		Config: &config.PrometheusConfig{Address: "http://p", UsernameEnv: "U"}}, Options{Getenv: env(map[string]string{"U": "bob"})})
	if err == nil || !strings.Contains(err.Error(), "both a username and a password") {
		t.Errorf("username without password: %v", err)
	}
}

func TestPrometheusResults(t *testing.T) {
	w := Window{Start: t0, End: t0.Add(time.Minute), Step: time.Minute}
	series := func(labels string) string {
		return `{"metric":` + labels + `,"values":[[` + unix(t0) + `,"1"]]}`
	}
	for _, tc := range []struct {
		name, body string
		noData     bool
		want       []string
		value      float64
	}{
		{name: "no series", body: matrixJSON(), noData: true, want: []string{`query "q"`}},
		{name: "only NaN", body: matrixJSON(`{"metric":{},"values":[[` + unix(t0) + `,"NaN"]]}`), noData: true},
		{name: "several series", body: matrixJSON(series(`{"pod":"a"}`), series(`{"pod":"b"}`), series(`{"pod":"c"}`), series(`{"pod":"d"}`)),
			want: []string{"4 series", `{pod="a"}, {pod="b"}, {pod="c"} and 1 more`, "sum(q)"}},
		{name: "vector", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[` + unix(t0) + `,"7"]}]}}`, value: 7},
		{name: "scalar", body: `{"status":"success","data":{"resultType":"scalar","result":[` + unix(t0) + `,"3"]}}`, value: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProm(t, &promAPI{body: tc.body}, config.PrometheusConfig{}, Options{})
			pts, err := p.Query(context.Background(), "q", w)
			if tc.value != 0 {
				if err != nil || len(pts) != 1 || pts[0].Value != tc.value || !pts[0].Time.Equal(t0) {
					t.Fatalf("got %v, %v; want one point %v", pts, err, tc.value)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %v, want an error", pts)
			}
			if errors.Is(err, ErrNoData) != tc.noData {
				t.Errorf("errors.Is(%v, ErrNoData) = %v, want %v", err, !tc.noData, tc.noData)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

func TestPrometheusErrorsDoNotLeak(t *testing.T) {
	const token = "super-secret-token-42"
	// A proxy that rejects the token and echoes it back.
	a := &promAPI{status: 401, body: "invalid bearer token " + token}
	p := newProm(t, a, config.PrometheusConfig{BearerTokenEnv: "T"}, Options{Getenv: env(map[string]string{"T": token})})
	_, err := p.Query(context.Background(), "up", Window{Start: t0, End: t0.Add(time.Minute)})
	if err == nil {
		t.Fatal("no error on 401")
	}
	if strings.Contains(err.Error(), token) {
		t.Fatalf("error leaks the token: %v", err)
	}
	if !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("error %q should name the status and hint at the credentials", err)
	}

	a = &promAPI{status: 400, body: `{"status":"error","errorType":"bad_data","error":"1:5: parse error: unclosed left parenthesis"}`}
	p = newProm(t, a, config.PrometheusConfig{}, Options{})
	_, err = p.Query(context.Background(), "sum(", Window{Start: t0, End: t0.Add(time.Minute)})
	if err == nil || !strings.Contains(err.Error(), "parse error") || !strings.Contains(err.Error(), `"sum("`) {
		t.Errorf("bad query error = %v", err)
	}
}

func TestPrometheusWarnings(t *testing.T) {
	body := `{"status":"success","warnings":["PromQL info: metric might not be a counter"],"data":{"resultType":"matrix","result":[{"metric":{},"values":[[` + unix(t0) + `,"1"]]}]}}`
	var got []string
	p := newProm(t, &promAPI{body: body}, config.PrometheusConfig{}, Options{OnWarning: func(q, w string) { got = append(got, q+": "+w) }})
	if _, err := p.Query(context.Background(), "rate(x[1m])", Window{Start: t0, End: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "rate(x[1m]): PromQL info: metric might not be a counter" {
		t.Errorf("warnings %q", got)
	}
}

func TestPrometheusBadInput(t *testing.T) {
	p := newProm(t, &promAPI{body: matrixJSON()}, config.PrometheusConfig{}, Options{})
	for _, tc := range []struct {
		q string
		w Window
	}{
		{"", Window{Start: t0, End: t0.Add(time.Minute)}},
		{"up", Window{Start: t0, End: t0}},
		{"up", Window{}},
		{"up", Window{Start: t0, End: t0.Add(time.Minute), Step: -time.Second}},
	} {
		if _, err := p.Query(context.Background(), tc.q, tc.w); err == nil || errors.Is(err, ErrNoData) {
			t.Errorf("Query(%q, %v) = %v, want an input error", tc.q, tc.w, err)
		}
	}
	// Unreachable server.
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()
	p2, err := New(&config.AnalysisProvider{Name: "prom", Type: config.AnalysisPrometheus, Config: &config.PrometheusConfig{Address: s.URL}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p2.Query(context.Background(), "up", Window{Start: t0, End: t0.Add(time.Minute)})
	if err == nil || !strings.Contains(err.Error(), "config.address") {
		t.Errorf("unreachable: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Query(ctx, "up", Window{Start: t0, End: t0.Add(time.Minute)}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}
