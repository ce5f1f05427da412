package provider

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
)

// Options are what New needs besides the provider config.
type Options struct {
	// Getenv reads the environment variables the config names; nil means
	// os.Getenv.
	Getenv func(string) string
	// HTTPClient sends the requests of Prometheus and Datadog; nil means a
	// client with a 60s timeout. CloudWatch uses it too when set.
	HTTPClient *http.Client
	// DatadogBaseURL replaces https://api.<address> (tests, proxies).
	DatadogBaseURL string
	// OnWarning receives the warnings a backend attaches to an answer it
	// still serves (Prometheus warnings, CloudWatch messages); nil drops
	// them. Warnings never fail a query.
	OnWarning func(query, warning string)
	// CloudWatchEndpoint replaces the regional CloudWatch endpoint (tests).
	CloudWatchEndpoint string
}

func (o Options) getenv(name string) string {
	if o.Getenv == nil {
		return os.Getenv(name)
	}
	return o.Getenv(name)
}

func (o Options) httpClient() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return &http.Client{Timeout: defaultHTTPTimeout}
}

// New returns the Provider of one entry of the analysis providers of
// .pipe/config.yaml. Credentials are read once, here: a missing environment
// variable or an unreadable file is an error naming the config field and the
// variable or file, never the value.
func New(p *config.AnalysisProvider, opts Options) (Provider, error) {
	if p == nil {
		return nil, errors.New("analysis provider: no provider config given")
	}
	where := fmt.Sprintf("analysis provider %q", p.Name)
	switch p.Type {
	case config.AnalysisPrometheus:
		c := p.Prometheus()
		if c == nil {
			return nil, fmt.Errorf("%s: type PROMETHEUS has no config: set `config.address`", where)
		}
		return newPrometheus(where, c, opts)
	case config.AnalysisDatadog:
		c := p.Datadog()
		if c == nil {
			return nil, fmt.Errorf("%s: type DATADOG has no config: set `config.apiKeyEnv` and `config.applicationKeyEnv` (or the ...File fields)", where)
		}
		return newDatadog(where, c, opts)
	case config.AnalysisCloudWatch:
		c := p.CloudWatch()
		if c == nil {
			return nil, fmt.Errorf("%s: type CLOUDWATCH has no config: set `config.region`", where)
		}
		return newCloudWatch(where, c, opts)
	}
	return nil, fmt.Errorf("%s: unknown type %q: pipe supports %s, %s and %s", where, p.Type,
		config.AnalysisPrometheus, config.AnalysisDatadog, config.AnalysisCloudWatch)
}

// secret reads one optional credential given as <field>File or <field>Env.
// It returns "" when neither is set. File contents are trimmed of
// surrounding white space (a trailing newline is the norm).
func secret(where, field string, file config.HostPath, env config.EnvVar, opts Options) (string, error) {
	v, err := config.ReadSecret(file, env, opts.getenv)
	switch {
	case err == nil:
		return v, nil
	case file != "":
		return "", fmt.Errorf("%s: `%sFile`: %w; write the %s into a file readable on this machine", where, field, err, field)
	}
	return "", fmt.Errorf("%s: `%sEnv`: %w; export it with the %s", where, field, err, field)
}

// redact replaces every secret in s by "<redacted>". Servers sometimes
// echo a key they rejected; errors built from their answers pass through
// it.
func redact(s string, secrets ...string) string {
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "<redacted>")
		}
	}
	return s
}

// snippet returns at most n bytes of b as text, marking a cut.
func snippet(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// describeSeries formats up to three label sets of a multi-series result.
func describeSeries(labels []string) string {
	const max = 3
	shown := labels
	if len(shown) > max {
		shown = shown[:max]
	}
	s := strings.Join(shown, ", ")
	if len(labels) > max {
		s += fmt.Sprintf(" and %d more", len(labels)-max)
	}
	return s
}
