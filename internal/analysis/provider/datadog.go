package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	urlredact "github.com/gitops-pipe/pipe/internal/redact"
)

// maxDatadogBody caps the answers read from Datadog.
const maxDatadogBody = 32 << 20

// Datadog queries the metrics query API v1 of a Datadog site:
// GET https://api.<site>/api/v1/query?from=&to=&query= with the DD-API-KEY
// and DD-APPLICATION-KEY headers. Datadog chooses the resolution itself
// (Window.Step is not sent); null values are skipped.
type Datadog struct {
	where          string
	base           *url.URL
	client         *http.Client
	apiKey, appKey string
}

func newDatadog(where string, c *config.DatadogConfig, opts Options) (*Datadog, error) {
	apiKey, err := secret(where, "apiKey", c.APIKeyFile, c.APIKeyEnv, opts)
	if err != nil {
		return nil, err
	}
	if apiKey == "" {
		return nil, fmt.Errorf("%s: no API key: set `config.apiKeyEnv` (an environment variable holding it) or `config.apiKeyFile`", where)
	}
	appKey, err := secret(where, "applicationKey", c.ApplicationKeyFile, c.ApplicationKeyEnv, opts)
	if err != nil {
		return nil, err
	}
	if appKey == "" {
		return nil, fmt.Errorf("%s: no application key: set `config.applicationKeyEnv` (an environment variable holding it) or `config.applicationKeyFile`", where)
	}
	raw := opts.DatadogBaseURL
	if raw == "" {
		raw, err = datadogBaseURL(c.Address)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
	}
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("%s: invalid Datadog API URL (from `config.address`); write a site such as datadoghq.com or an https:// URL", where)
	}
	if urlredact.Cleartext(base.String()) {
		return nil, fmt.Errorf("%s: refusing to send the API and application keys over plain http to %s, where anyone on the network path can read them: "+
			"write a site such as datadoghq.com or an https:// URL in `config.address` (plain http carries credentials only to this machine: localhost, 127.0.0.1, ::1)", where, base.Host)
	}
	return &Datadog{where: where, base: base, client: opts.httpClient(), apiKey: apiKey, appKey: appKey}, nil
}

// datadogBaseURL derives the API URL of a site: datadoghq.com ->
// https://api.datadoghq.com, app.datadoghq.eu -> https://api.datadoghq.eu.
// A full http(s):// URL is used as it is (a proxy).
func datadogBaseURL(address string) (string, error) {
	a := strings.TrimSpace(address)
	if a == "" {
		a = "datadoghq.com"
	}
	if strings.HasPrefix(a, "https://") || strings.HasPrefix(a, "http://") {
		return strings.TrimRight(a, "/"), nil
	}
	a = strings.TrimRight(a, "/")
	a = strings.TrimPrefix(a, "app.")
	a = strings.TrimPrefix(a, "api.")
	if strings.ContainsAny(a, "/?#@ ") || !strings.Contains(a, ".") {
		return "", fmt.Errorf("`config.address` %q is not a Datadog site; write e.g. datadoghq.com, datadoghq.eu or us3.datadoghq.com", address)
	}
	return "https://api." + a, nil
}

// Type implements Provider.
func (*Datadog) Type() string { return config.AnalysisDatadog }

type datadogResponse struct {
	Status string          `json:"status"`
	Error  string          `json:"error"`
	Errors []string        `json:"errors"`
	Series []datadogSeries `json:"series"`
}

type datadogSeries struct {
	Metric     string        `json:"metric"`
	Scope      string        `json:"scope"`
	Expression string        `json:"expression"`
	TagSet     []string      `json:"tag_set"`
	Pointlist  [][2]*float64 `json:"pointlist"`
}

// Query implements Provider.
func (d *Datadog) Query(ctx context.Context, query string, w Window) ([]Point, error) {
	if strings.TrimSpace(query) == "" {
		return nil, fmt.Errorf("%s: the query is empty; write a Datadog metrics query such as sum:trace.http.request.errors{service:web}.as_count()", d.where)
	}
	if err := checkWindow(d.where, query, w); err != nil {
		return nil, err
	}
	u := *d.base
	u.Path = strings.TrimRight(u.Path, "/") + "/api/v1/query"
	q := url.Values{}
	q.Set("from", strconv.FormatInt(w.Start.Unix(), 10))
	q.Set("to", strconv.FormatInt(w.End.Unix(), 10))
	q.Set("query", query)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: query %q: cannot build the request: %v", d.where, query, err)
	}
	req.Header.Set("DD-API-KEY", d.apiKey)
	req.Header.Set("DD-APPLICATION-KEY", d.appKey)
	req.Header.Set("Accept", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s: query %q interrupted: %w", d.where, query, err)
		}
		return nil, fmt.Errorf("%s: query %q: cannot reach %s: %s; check `config.address` and the network", d.where, query,
			d.base.Host, d.redact(err.Error()))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDatadogBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s: query %q: reading the answer of %s: %s", d.where, query, d.base.Host, d.redact(err.Error()))
	}
	if len(body) > maxDatadogBody {
		return nil, fmt.Errorf("%s: query %q: the answer is larger than %d MiB; narrow the query", d.where, query, maxDatadogBody>>20)
	}
	var r datadogResponse
	jsonErr := json.Unmarshal(body, &r)
	if resp.StatusCode != http.StatusOK {
		return nil, d.httpError(query, resp.StatusCode, r, jsonErr, body)
	}
	if jsonErr != nil {
		return nil, fmt.Errorf("%s: query %q: the answer of %s is not the JSON of the query API (%v): %s", d.where, query, d.base.Host,
			jsonErr, d.redact(snippet(body, 200)))
	}
	if r.Status == "error" || r.Error != "" {
		msg := r.Error
		if msg == "" {
			msg = strings.Join(r.Errors, "; ")
		}
		return nil, fmt.Errorf("%s: query %q: Datadog says: %s; check the query syntax", d.where, query, d.redact(msg))
	}
	return d.points(query, r.Series)
}

func (d *Datadog) httpError(query string, code int, r datadogResponse, jsonErr error, body []byte) error {
	msg := strings.Join(r.Errors, "; ")
	if msg == "" {
		msg = r.Error
	}
	if msg == "" || jsonErr != nil {
		msg = snippet(body, 200)
	}
	hint := "check the query"
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden:
		hint = "check the API and application keys, their site (`config.address`), and that the application key has the timeseries_query permission"
	case http.StatusTooManyRequests:
		hint = "Datadog rate-limits the query API; lower the analysis frequency"
	case http.StatusNotFound:
		hint = "check `config.address`"
	default:
		if code >= 500 {
			hint = "Datadog failed; retry later"
		}
	}
	return fmt.Errorf("%s: query %q: HTTP %d from %s: %s; %s", d.where, query, code, d.base.Host, d.redact(msg), hint)
}

func (d *Datadog) redact(s string) string { return redact(s, d.apiKey, d.appKey) }

func (d *Datadog) points(query string, series []datadogSeries) ([]Point, error) {
	switch len(series) {
	case 0:
		return nil, fmt.Errorf("%s: query %q: %w (no series matched)", d.where, query, ErrNoData)
	case 1:
	default:
		labels := make([]string, len(series))
		for i, s := range series {
			labels[i] = s.Scope
			if labels[i] == "" {
				labels[i] = s.Expression
			}
			labels[i] = "{" + labels[i] + "}"
		}
		sort.Strings(labels)
		return nil, fmt.Errorf("%s: query %q returns %d series (%s); the analysis needs one: aggregate them, e.g. sum:<metric>{...} without `by {...}`",
			d.where, query, len(series), describeSeries(labels))
	}
	pts := make([]Point, 0, len(series[0].Pointlist))
	for _, p := range series[0].Pointlist {
		if p[0] == nil || p[1] == nil {
			continue
		}
		ms := *p[0]
		pts = append(pts, Point{Time: time.UnixMilli(int64(ms)).UTC(), Value: *p[1]})
	}
	if len(pts) == 0 {
		return nil, fmt.Errorf("%s: query %q: %w (the series has only null values in the window)", d.where, query, ErrNoData)
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].Time.Before(pts[j].Time) })
	return pts, nil
}
