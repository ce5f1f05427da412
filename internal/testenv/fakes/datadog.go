package fakes

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DatadogPoint is one point of a DatadogSeries; a nil Value is sent as
// null (Datadog's gap).
type DatadogPoint struct {
	Time  time.Time
	Value *float64
}

// DatadogSeries is one series of a metrics query answer.
type DatadogSeries struct {
	Metric     string
	Scope      string
	Expression string
	TagSet     []string
	Points     []DatadogPoint
}

// DatadogRequest is a query the Datadog fake received.
type DatadogRequest struct {
	Query    string
	From, To time.Time
	// APIKey and AppKey are the DD-API-KEY and DD-APPLICATION-KEY headers.
	APIKey, AppKey string
}

// ErrDatadogQuery is returned by a DatadogData func for a query Datadog
// cannot parse: the fake answers 400 with {"errors": ["Error parsing
// query: ..."]}.
var ErrDatadogQuery = errors.New("unable to parse the query")

// DatadogData answers a query over [from, to]; an error wrapping
// ErrDatadogQuery is a 400, any other error a 200 with "status": "error"
// and the message in "error" (how Datadog reports failed evaluations).
type DatadogData func(query string, from, to time.Time) ([]DatadogSeries, error)

// Datadog is a fake of Datadog's metrics query API v1 (GET /api/v1/query):
// it checks both keys (403 {"errors": ["Forbidden"]} otherwise), parses
// from, to (Unix seconds) and query (400 when missing or invalid), and
// answers the series of Data, or of the series set by SetSeries, with the
// points inside [from, to], in the real response shape.
type Datadog struct {
	APIKey, AppKey string
	// Data answers queries; nil uses the series set by SetSeries (a query
	// without any gets an empty series list, as Datadog does).
	Data DatadogData

	mu       sync.Mutex
	series   map[string][]DatadogSeries
	requests []DatadogRequest
}

// NewDatadog starts a fake Datadog accepting the two keys; the caller
// closes the returned server.
func NewDatadog(apiKey, appKey string) (*Datadog, *httptest.Server) {
	d := &Datadog{APIKey: apiKey, AppKey: appKey, series: map[string][]DatadogSeries{}}
	return d, httptest.NewServer(d)
}

// SetSeries sets the series the query returns.
func (d *Datadog) SetSeries(query string, s ...DatadogSeries) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.series[query] = s
}

// Requests returns the queries received so far.
func (d *Datadog) Requests() []DatadogRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.requests)
}

func ddErr(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"errors": []string{msg}})
}

func (d *Datadog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		ddErr(w, http.StatusNotFound, "Not found")
		return
	}
	if r.Method != http.MethodGet {
		ddErr(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	apiKey, appKey := r.Header.Get("DD-API-KEY"), r.Header.Get("DD-APPLICATION-KEY")
	if apiKey == "" || apiKey != d.APIKey || appKey == "" || appKey != d.AppKey {
		ddErr(w, http.StatusForbidden, "Forbidden")
		return
	}
	q := r.URL.Query()
	var times [2]time.Time
	for i, name := range []string{"from", "to"} {
		v := q.Get(name)
		if v == "" {
			ddErr(w, http.StatusBadRequest, "The value provided for parameter '"+name+"' is invalid")
			return
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			ddErr(w, http.StatusBadRequest, "The value provided for parameter '"+name+"' is invalid")
			return
		}
		times[i] = time.Unix(n, 0).UTC()
	}
	from, to := times[0], times[1]
	query := q.Get("query")
	if strings.TrimSpace(query) == "" {
		ddErr(w, http.StatusBadRequest, "The value provided for parameter 'query' is invalid")
		return
	}
	if !to.After(from) {
		ddErr(w, http.StatusBadRequest, "Invalid time range: 'from' must be before 'to'")
		return
	}
	d.mu.Lock()
	d.requests = append(d.requests, DatadogRequest{Query: query, From: from, To: to, APIKey: apiKey, AppKey: appKey})
	data, stored := d.Data, d.series[query]
	d.mu.Unlock()

	series := stored
	if data != nil {
		var err error
		series, err = data(query, from, to)
		switch {
		case errors.Is(err, ErrDatadogQuery):
			ddErr(w, http.StatusBadRequest, "Error parsing query: \n"+err.Error())
			return
		case err != nil:
			writeJSON(w, http.StatusOK, map[string]any{"status": "error", "res_type": "time_series", "error": err.Error(),
				"query": query, "from_date": from.UnixMilli(), "to_date": to.UnixMilli(), "series": []any{}})
			return
		}
	}
	out := make([]map[string]any, 0, len(series))
	for _, s := range series {
		points := make([][2]any, 0, len(s.Points))
		var start, end int64
		for _, p := range s.Points {
			if p.Time.Before(from) || p.Time.After(to) {
				continue
			}
			ms := p.Time.UnixMilli()
			if len(points) == 0 {
				start = ms
			}
			end = ms
			var v any
			if p.Value != nil && !math.IsNaN(*p.Value) {
				v = *p.Value
			}
			points = append(points, [2]any{float64(ms), v})
		}
		interval := int64(1)
		if len(points) > 1 {
			interval = max((end-start)/int64(len(points)-1)/1000, 1)
		}
		tagSet := s.TagSet
		if tagSet == nil {
			tagSet = []string{}
		}
		out = append(out, map[string]any{
			"metric": s.Metric, "display_name": s.Metric, "scope": s.Scope, "expression": s.Expression,
			"tag_set": tagSet, "pointlist": points, "start": start, "end": end, "interval": interval,
			"length": len(points), "aggr": nil, "unit": nil, "query_index": 0, "attributes": map[string]any{},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "ok", "res_type": "time_series", "resp_version": 1, "query": query,
		"from_date": from.UnixMilli(), "to_date": to.UnixMilli(), "series": out,
		"values": []any{}, "times": []any{}, "message": "", "group_by": []string{},
	})
}
