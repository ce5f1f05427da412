package provider

import (
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
)

// Credentials from the environment are not sent over plain http to an
// address the repository's config chose, but to this machine.
func TestNoCredentialsOverPlainHTTP(t *testing.T) {
	getenv := env(map[string]string{"TOKEN": "tok-123456", "USER": "bob", "PASS": "pw-123456", "DD_API": "api-123456", "DD_APP": "app-123456"})
	for _, tc := range []struct {
		name string
		p    *config.AnalysisProvider
		want string // "" for no error
	}{
		{"prometheus token", &config.AnalysisProvider{Name: "prom", Type: config.AnalysisPrometheus,
			Config: &config.PrometheusConfig{Address: "http://prom.example:9090", BearerTokenEnv: "TOKEN"}},
			"refusing to send the credentials over plain http to prom.example:9090"},
		{"prometheus basic auth", &config.AnalysisProvider{Name: "prom", Type: config.AnalysisPrometheus,
			Config: &config.PrometheusConfig{Address: "http://10.0.0.7:9090", UsernameEnv: "USER", PasswordEnv: "PASS"}},
			"refusing to send the credentials over plain http to 10.0.0.7:9090"},
		{"prometheus without credentials", &config.AnalysisProvider{Name: "prom", Type: config.AnalysisPrometheus,
			Config: &config.PrometheusConfig{Address: "http://prom.example:9090"}}, ""},
		{"prometheus on this machine", &config.AnalysisProvider{Name: "prom", Type: config.AnalysisPrometheus,
			Config: &config.PrometheusConfig{Address: "http://localhost:9090", BearerTokenEnv: "TOKEN"}}, ""},
		{"prometheus https", &config.AnalysisProvider{Name: "prom", Type: config.AnalysisPrometheus,
			Config: &config.PrometheusConfig{Address: "https://prom.example", BearerTokenEnv: "TOKEN"}}, ""},
		{"datadog proxy", &config.AnalysisProvider{Name: "dd", Type: config.AnalysisDatadog,
			Config: &config.DatadogConfig{Address: "http://dd-proxy.example", APIKeyEnv: "DD_API", ApplicationKeyEnv: "DD_APP"}},
			"refusing to send the API and application keys over plain http to dd-proxy.example"},
		{"datadog site", &config.AnalysisProvider{Name: "dd", Type: config.AnalysisDatadog,
			Config: &config.DatadogConfig{Address: "datadoghq.eu", APIKeyEnv: "DD_API", ApplicationKeyEnv: "DD_APP"}}, ""},
	} {
		_, err := New(tc.p, Options{Getenv: getenv})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "https://")):
			t.Errorf("%s: err = %v, want %q and to use https", tc.name, err, tc.want)
		}
	}
}
