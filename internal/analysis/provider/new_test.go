package provider

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestNewUnknownAndMissingConfig(t *testing.T) {
	for _, tc := range []struct {
		p    *config.AnalysisProvider
		want string
	}{
		{nil, "no provider config"},
		{&config.AnalysisProvider{Name: "x", Type: "STACKDRIVER"}, `unknown type "STACKDRIVER"`},
		{&config.AnalysisProvider{Name: "x", Type: config.AnalysisPrometheus}, "has no config"},
		{&config.AnalysisProvider{Name: "x", Type: config.AnalysisDatadog}, "has no config"},
		{&config.AnalysisProvider{Name: "x", Type: config.AnalysisCloudWatch}, "has no config"},
		{&config.AnalysisProvider{Name: "x", Type: config.AnalysisPrometheus, Config: &config.PrometheusConfig{Address: "prometheus:9090"}}, "not an http:// or https:// URL"},
		{&config.AnalysisProvider{Name: "x", Type: config.AnalysisPrometheus, Config: &config.PrometheusConfig{Address: "http://u:hunter22@p:9090"}}, "holds credentials"},
		{&config.AnalysisProvider{Name: "x", Type: config.AnalysisCloudWatch, Config: &config.AWSConfig{}}, "`config.region` is empty"},
		{&config.AnalysisProvider{Name: "x", Type: config.AnalysisCloudWatch, Config: &config.AWSConfig{Region: "us-east-1", TokenFile: "/t"}}, "without `config.roleARN`"},
		{&config.AnalysisProvider{Name: "x", Type: config.AnalysisDatadog, Config: &config.DatadogConfig{Address: "datadoghq.com"}}, "no API key"},
	} {
		_, err := New(tc.p, Options{Getenv: env(nil)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", tc.p, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter22") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("  file-secret-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := Options{Getenv: env(map[string]string{"TOK": "env-secret-value\n"})}

	v, err := secret("p", "bearerToken", config.HostPath(file), "", opts)
	if err != nil || v != "file-secret-value" {
		t.Errorf("from file: %q, %v; want the trimmed content", v, err)
	}
	v, err = secret("p", "bearerToken", "", "TOK", opts)
	if err != nil || v != "env-secret-value" {
		t.Errorf("from env: %q, %v", v, err)
	}
	v, err = secret("p", "bearerToken", "", "", opts)
	if err != nil || v != "" {
		t.Errorf("unset: %q, %v", v, err)
	}

	_, err = secret("p", "bearerToken", "", "MISSING_VAR", opts)
	if err == nil || !strings.Contains(err.Error(), "MISSING_VAR") || !strings.Contains(err.Error(), "`bearerTokenEnv`") {
		t.Errorf("missing env var: %v; want the variable and field named", err)
	}
	_, err = secret("p", "apiKey", config.HostPath(filepath.Join(dir, "nope")), "", opts)
	if err == nil || !strings.Contains(err.Error(), "`apiKeyFile`") || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing file: %v; want the field and file named", err)
	}
	_, err = secret("p", "apiKey", config.HostPath(empty), "", opts)
	if err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty file: %v", err)
	}
}

func TestAutoStep(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		span time.Duration
		want time.Duration
	}{
		{10 * time.Second, time.Second},
		{time.Minute, time.Second},
		{61 * time.Second, 2 * time.Second},
		{10 * time.Minute, 10 * time.Second},
		{time.Hour, time.Minute},
		{90 * time.Minute, 90 * time.Second},
	} {
		got := autoStep(Window{Start: t0, End: t0.Add(tc.span)})
		if got != tc.want {
			t.Errorf("autoStep(%s) = %s, want %s", tc.span, got, tc.want)
		}
		if n := tc.span / got; n > maxAutoPoints {
			t.Errorf("autoStep(%s) gives %d points, want <= %d", tc.span, n, maxAutoPoints)
		}
	}
}

func TestRedactAndSnippet(t *testing.T) {
	if got := redact("key abcd1234 rejected; abcd1234", "abcd1234", ""); got != "key <redacted> rejected; <redacted>" {
		t.Errorf("redact = %q", got)
	}
	if got := snippet([]byte(strings.Repeat("é", 200)), 11); got != strings.Repeat("é", 5)+"…" {
		t.Errorf("snippet cut a rune: %q", got)
	}
	if got := describeSeries([]string{"a", "b", "c", "d", "e"}); got != "a, b, c and 2 more" {
		t.Errorf("describeSeries = %q", got)
	}
}
