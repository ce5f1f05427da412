package fakes

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

func ddGet(t *testing.T, base string, q url.Values, apiKey, appKey string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/query?"+q.Encode(), nil)
	req.Header.Set("DD-API-KEY", apiKey)
	req.Header.Set("DD-APPLICATION-KEY", appKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	return resp.StatusCode, body
}

func TestDatadogFake(t *testing.T) {
	d, srv := NewDatadog("api", "app")
	defer srv.Close()
	t0 := time.Unix(1_700_000_000, 0)
	v := 1.5
	d.SetSeries("avg:m{*}", DatadogSeries{Metric: "m", Scope: "*", Points: []DatadogPoint{
		{Time: t0.Add(-time.Hour), Value: &v}, {Time: t0, Value: &v}, {Time: t0.Add(time.Minute)},
	}})
	q := url.Values{"from": {strconv.FormatInt(t0.Unix(), 10)}, "to": {strconv.FormatInt(t0.Add(time.Hour).Unix(), 10)}, "query": {"avg:m{*}"}}

	for _, keys := range [][2]string{{"", "app"}, {"api", ""}, {"bad", "app"}, {"api", "bad"}} {
		code, body := ddGet(t, srv.URL, q, keys[0], keys[1])
		if code != http.StatusForbidden || fmt.Sprint(body["errors"]) != "[Forbidden]" {
			t.Errorf("keys %q: %d %v", keys, code, body)
		}
	}

	code, body := ddGet(t, srv.URL, q, "api", "app")
	if code != 200 || body["status"] != "ok" || body["res_type"] != "time_series" || body["from_date"] != float64(t0.UnixMilli()) {
		t.Fatalf("%d %v", code, body)
	}
	series := body["series"].([]any)
	if len(series) != 1 {
		t.Fatalf("series %v", series)
	}
	s := series[0].(map[string]any)
	pl := s["pointlist"].([]any)
	if len(pl) != 2 || fmt.Sprint(pl[0]) != fmt.Sprintf("[%v 1.5]", float64(t0.UnixMilli())) || pl[1].([]any)[1] != nil {
		t.Errorf("pointlist %v: want the two points in the window, the second null", pl)
	}
	if s["scope"] != "*" || s["metric"] != "m" || s["length"] != float64(2) {
		t.Errorf("series fields %v", s)
	}
	if r := d.Requests(); len(r) != 1 || r[0].Query != "avg:m{*}" || !r[0].From.Equal(t0) {
		t.Errorf("requests %+v (forbidden calls are not recorded)", r)
	}

	for _, drop := range []string{"from", "to", "query"} {
		bad := url.Values{}
		for k, v := range q {
			if k != drop {
				bad[k] = v
			}
		}
		if code, body := ddGet(t, srv.URL, bad, "api", "app"); code != 400 || body["errors"] == nil {
			t.Errorf("without %s: %d %v", drop, code, body)
		}
	}

	d.Data = func(query string, _, _ time.Time) ([]DatadogSeries, error) {
		if query == "bad{" {
			return nil, fmt.Errorf("%w: unexpected end", ErrDatadogQuery)
		}
		return nil, errors.New("evaluation failed")
	}
	q.Set("query", "bad{")
	if code, body := ddGet(t, srv.URL, q, "api", "app"); code != 400 || fmt.Sprint(body["errors"]) == "" {
		t.Errorf("bad query: %d %v", code, body)
	}
	q.Set("query", "avg:x{*}")
	if code, body := ddGet(t, srv.URL, q, "api", "app"); code != 200 || body["status"] != "error" || body["error"] != "evaluation failed" {
		t.Errorf("status error: %d %v", code, body)
	}
}
