package httpcheck

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
)

func server(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

func reply(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

func TestCheckMatches(t *testing.T) {
	tests := []struct {
		name       string
		code       int
		body       string
		check      config.AnalysisHTTP
		pass       bool
		noData     bool
		reasonHas  []string
		reasonLack []string
	}{
		{name: "code ok", code: 200, body: "ok", check: config.AnalysisHTTP{ExpectedCode: 200}, pass: true},
		{name: "code mismatch quotes body", code: 503, body: "upstream down", check: config.AnalysisHTTP{ExpectedCode: 200},
			reasonHas: []string{"expected status 200, got 503", `"upstream down"`}},
		{name: "any code", code: 418, body: "teapot", check: config.AnalysisHTTP{ExpectedResponse: "teapot"}, pass: true},
		{name: "exact ignores trailing newlines", code: 200, body: "healthy\r\n", check: config.AnalysisHTTP{ExpectedCode: 200, ExpectedResponse: "healthy\n"}, pass: true},
		{name: "exact is whole body", code: 200, body: "healthy and more", check: config.AnalysisHTTP{ExpectedResponse: "healthy"},
			reasonHas: []string{`expected the body "healthy", got "healthy and more"`}},
		{name: "exact keeps leading space", code: 200, body: " healthy", check: config.AnalysisHTTP{ExpectedResponse: "healthy", ExpectedResponseMatch: "EXACT"}},
		{name: "contains", code: 200, body: `{"status":"UP","db":"UP"}`, check: config.AnalysisHTTP{ExpectedResponse: `"status":"UP"`, ExpectedResponseMatch: "CONTAINS"}, pass: true},
		{name: "contains misses", code: 200, body: `{"status":"DOWN"}`, check: config.AnalysisHTTP{ExpectedResponse: `"status":"UP"`, ExpectedResponseMatch: "CONTAINS"},
			reasonHas: []string{`expected the body to contain "\"status\":\"UP\""`, `DOWN`}},
		{name: "regex", code: 200, body: "version: 1.4.2\n", check: config.AnalysisHTTP{ExpectedResponse: `^version: 1\.4\.\d+$`, ExpectedResponseMatch: "REGEX"}, pass: true},
		{name: "regex misses", code: 200, body: "version: 1.5.0", check: config.AnalysisHTTP{ExpectedResponse: `^version: 1\.4\.`, ExpectedResponseMatch: "REGEX"},
			reasonHas: []string{`/^version: 1\.4\./`, `"version: 1.5.0"`}},
		{name: "empty body is no data", code: 200, body: "", check: config.AnalysisHTTP{ExpectedCode: 200, ExpectedResponse: "ok"}, noData: true,
			reasonHas: []string{"empty body"}},
		{name: "empty body fine without expected body", code: 204, body: "", check: config.AnalysisHTTP{ExpectedCode: 204}, pass: true},
		{name: "long body snippet capped", code: 500, body: strings.Repeat("x", 5000), check: config.AnalysisHTTP{ExpectedCode: 200},
			reasonLack: []string{strings.Repeat("x", 201)}, reasonHas: []string{strings.Repeat("x", 200) + "…"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.check
			c.URL = server(t, reply(tc.code, tc.body))
			res, err := Check(context.Background(), nil, c)
			if err != nil {
				t.Fatal(err)
			}
			if res.Pass != tc.pass || res.NoData != tc.noData || res.Code != tc.code {
				t.Fatalf("got %+v, want pass=%v noData=%v code=%d", res, tc.pass, tc.noData, tc.code)
			}
			if res.Pass && res.Reason != "" {
				t.Errorf("a passing check has a reason: %q", res.Reason)
			}
			if !res.Pass && res.Reason == "" {
				t.Errorf("a failing check has no reason")
			}
			for _, s := range tc.reasonHas {
				if !strings.Contains(res.Reason, s) {
					t.Errorf("reason %q lacks %q", res.Reason, s)
				}
			}
			for _, s := range tc.reasonLack {
				if strings.Contains(res.Reason, s) {
					t.Errorf("reason %q has %q", res.Reason, s)
				}
			}
			if res.Duration <= 0 {
				t.Errorf("duration %v, want > 0", res.Duration)
			}
		})
	}
}

func TestCheckSendsMethodAndRepeatedHeaders(t *testing.T) {
	var got *http.Request
	u := server(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		io.WriteString(w, "ok")
	})
	res, err := Check(context.Background(), nil, config.AnalysisHTTP{
		URL: u + "/healthz?deep=1", Method: "POST", ExpectedCode: 200,
		Headers: []config.AnalysisHTTPHeader{{Key: "X-Tag", Value: "a"}, {Key: "X-Tag", Value: "b"}, {Key: "Host", Value: "canary.example.com"}},
	})
	if err != nil || !res.Pass {
		t.Fatalf("Check = %+v, %v", res, err)
	}
	if got.Method != "POST" || got.URL.Path != "/healthz" || got.URL.RawQuery != "deep=1" {
		t.Errorf("request %s %s", got.Method, got.URL)
	}
	if v := got.Header.Values("X-Tag"); len(v) != 2 || v[0] != "a" || v[1] != "b" {
		t.Errorf("X-Tag = %v, want [a b]", v)
	}
	if got.Host != "canary.example.com" {
		t.Errorf("Host = %q", got.Host)
	}
}

func TestCheckDefaultsToGET(t *testing.T) {
	var method string
	u := server(t, func(w http.ResponseWriter, r *http.Request) { method = r.Method })
	if _, err := Check(context.Background(), nil, config.AnalysisHTTP{URL: u, ExpectedCode: 200}); err != nil {
		t.Fatal(err)
	}
	if method != http.MethodGet {
		t.Errorf("method %q, want GET", method)
	}
}

func TestCheckReasonNeverEchoesHeaders(t *testing.T) {
	const token = "Bearer s3cr3t-t0ken-value"
	u := server(t, reply(401, "unauthorized"))
	res, err := Check(context.Background(), nil, config.AnalysisHTTP{URL: u, ExpectedCode: 200,
		Headers: []config.AnalysisHTTPHeader{{Key: "Authorization", Value: token}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pass || strings.Contains(res.Reason, "s3cr3t") {
		t.Errorf("result %+v", res)
	}
}

func TestCheckTimeout(t *testing.T) {
	release := make(chan struct{})
	u := server(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	began := time.Now()
	_, err := Check(context.Background(), nil, config.AnalysisHTTP{URL: u + "/?token=abc123", ExpectedCode: 200, Timeout: config.Duration(200 * time.Millisecond)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
	if !strings.Contains(err.Error(), "200ms") || strings.Contains(err.Error(), "abc123") {
		t.Errorf("err %q should name the timeout and not the query string", err)
	}
}

func TestCheckTransportError(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	_, err := Check(context.Background(), nil, config.AnalysisHTTP{URL: "http://user:pw@" + strings.TrimPrefix(u, "http://"), ExpectedCode: 200})
	if err == nil || !strings.Contains(err.Error(), "request failed") || strings.Contains(err.Error(), "pw") {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckBodyLimit(t *testing.T) {
	big := strings.Repeat("a", MaxBody+10)
	u := server(t, reply(200, big))
	res, err := Check(context.Background(), nil, config.AnalysisHTTP{URL: u, ExpectedResponse: big})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pass || !strings.Contains(res.Reason, "larger than") {
		t.Errorf("EXACT on a body over the limit: %+v", res.Reason)
	}
	res, err = Check(context.Background(), nil, config.AnalysisHTTP{URL: u, ExpectedResponse: "aaa", ExpectedResponseMatch: "CONTAINS"})
	if err != nil || !res.Pass {
		t.Errorf("CONTAINS within the first MiB: %+v %v", res, err)
	}
}

func TestCheckInvalid(t *testing.T) {
	for _, c := range []config.AnalysisHTTP{
		{URL: "ftp://x", ExpectedCode: 200},
		{URL: "not a url", ExpectedCode: 200},
		{URL: "http://127.0.0.1:1", ExpectedResponse: "(", ExpectedResponseMatch: "REGEX"},
		{URL: "http://127.0.0.1:1", ExpectedResponse: "x", ExpectedResponseMatch: "FUZZY"},
		{URL: "http://127.0.0.1:1", ExpectedCode: 42},
		{URL: "http://127.0.0.1:1", Method: "BAD METHOD", ExpectedCode: 200},
	} {
		if _, err := Check(context.Background(), nil, c); err == nil {
			t.Errorf("Check(%+v) succeeded, want an error", c)
		}
	}
}

func TestRegexCompiledOnce(t *testing.T) {
	a, err := compile(`^ok$`)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := compile(`^ok$`)
	if a != b {
		t.Error("the same pattern was compiled twice")
	}
}
