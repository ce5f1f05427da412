package prometheus_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/analysis/provider"
	"github.com/gitops-pipe/pipe/internal/config"
	promtest "github.com/gitops-pipe/pipe/internal/testenv/prometheus"
)

// TestProviderAgainstRealPrometheus starts Prometheus scraping an Exporter,
// sets error rates and checks that provider.Prometheus reads them back over
// a range window.
func TestProviderAgainstRealPrometheus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	exp := promtest.NewExporter(t, 200)
	exp.SetErrorRate("canary", 0.25)
	exp.SetErrorRate("primary", 0)
	exp.SetLatency("canary", 0.3)
	exp.SetLatency("primary", 0.02)

	srv := promtest.Start(ctx, t, exp.Addr())
	const errRate = `sum(rate(http_requests_total{variant="canary",code="500"}[5s])) / sum(rate(http_requests_total{variant="canary"}[5s]))`
	if err := srv.WaitForSample(ctx, errRate); err != nil {
		t.Fatal(err)
	}
	// Let a few evaluation points accumulate: poll the instant value until
	// the 5s rate window is filled with steady traffic.
	start := time.Now()
	if err := srv.WaitForSample(ctx, `count_over_time(http_requests_total{variant="canary",code="500"}[10s]) >= 6`); err != nil {
		t.Fatal(err)
	}

	p, err := provider.New(&config.AnalysisProvider{Name: "prom", Type: config.AnalysisPrometheus,
		Config: &config.PrometheusConfig{Address: srv.URL()}}, provider.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := provider.Window{Start: start, End: time.Now(), Step: time.Second}
	pts, err := p.Query(ctx, errRate, w)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	if len(pts) < 3 {
		t.Fatalf("got %d points over %s, want at least 3: %v", len(pts), w.End.Sub(w.Start), pts)
	}
	for i, pt := range pts {
		if math.Abs(pt.Value-0.25) > 0.03 {
			t.Errorf("point %d at %s = %v, want 0.25±0.03", i, pt.Time, pt.Value)
		}
		if i > 0 && !pt.Time.After(pts[i-1].Time) {
			t.Errorf("points out of order at %d: %v", i, pts)
		}
	}

	primary := `sum(rate(http_requests_total{variant="primary",code="500"}[5s])) / sum(rate(http_requests_total{variant="primary"}[5s]))`
	pts, err = p.Query(ctx, primary, w)
	if err != nil {
		t.Fatalf("Query primary: %v", err)
	}
	for _, pt := range pts {
		if pt.Value != 0 {
			t.Errorf("primary error rate at %s = %v, want 0", pt.Time, pt.Value)
		}
	}

	// The latency histogram: the canary's p90 lies in the bucket of 0.3s.
	p90 := `histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{variant="canary"}[5s])))`
	pts, err = p.Query(ctx, p90, provider.Window{Start: start, End: time.Now()})
	if err != nil {
		t.Fatalf("Query p90: %v", err)
	}
	for _, pt := range pts {
		if pt.Value <= 0.25 || pt.Value > 0.5 {
			t.Errorf("canary p90 at %s = %v, want in (0.25, 0.5]", pt.Time, pt.Value)
		}
	}

	// Several series: an error that says to aggregate.
	_, err = p.Query(ctx, `rate(http_requests_total[5s])`, w)
	if err == nil || !strings.Contains(err.Error(), "sum(") || !strings.Contains(err.Error(), "4 series") {
		t.Errorf("multi-series error = %v, want one naming 4 series and suggesting sum(...)", err)
	}
	// Nothing selected: ErrNoData.
	_, err = p.Query(ctx, `http_requests_total{variant="nope"}`, w)
	if err == nil || !errors.Is(err, provider.ErrNoData) {
		t.Errorf("empty selection error = %v, want ErrNoData", err)
	}
	// A PromQL syntax error comes back with the server's message.
	_, err = p.Query(ctx, `sum(rate(`, w)
	if err == nil || !strings.Contains(err.Error(), "bad_data") {
		t.Errorf("syntax error = %v, want the server's bad_data error", err)
	}

	// The exporter follows changes: raise the canary's error rate.
	exp.SetErrorRate("canary", 0.6)
	if err := srv.WaitForSample(ctx, errRate+` > 0.59`); err != nil {
		t.Fatal(err)
	}
}
