package analysis

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/analysis/provider"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/state"
	promtest "github.com/gitops-pipe/pipe/internal/testenv/prometheus"
)

// BenchmarkTick compares one analysis tick against a real Prometheus
// (rendering the query template, the range query through the provider,
// the judge, and recording the tick into the stage's record, the whole
// record encoded as every checkpoint does for the note) with the
// provider's query alone and the raw HTTP range query it issues, one after
// the other and interleaved (tick/raw). The goal is a tick within 1.2 times
// the raw query; the record keeps
// state.MaxAnalysisTicks ticks in full, so after that many iterations its
// size (record-bytes) stops growing but for the analyzer's history.
//
//	go test -run '^$' -bench Tick -benchtime 300x -count 3 -benchmem ./internal/analysis/
func BenchmarkTick(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	exp := promtest.NewExporter(b, 200)
	exp.SetErrorRate("canary", 0.02)
	srv := promtest.Start(ctx, b, exp.Addr())
	if err := srv.WaitForSample(ctx, `count_over_time(http_requests_total{variant="canary",code="500"}[10s]) >= 6`); err != nil {
		b.Fatal(err)
	}
	prov, err := provider.New(&config.AnalysisProvider{Name: "prom", Type: config.AnalysisPrometheus,
		Config: &config.PrometheusConfig{Address: srv.URL()}}, provider.Options{})
	if err != nil {
		b.Fatal(err)
	}
	const tmpl = `sum(rate(http_requests_total{variant="{{ .App.Name }}",code="500"}[5s])) / sum(rate(http_requests_total{variant="{{ .App.Name }}"}[5s]))`
	max := 0.05
	interval := 30 * time.Second
	o := &config.AnalysisStageOptions{Duration: config.Duration(time.Hour), Metrics: []config.TemplatableAnalysisMetrics{{AnalysisMetrics: config.AnalysisMetrics{
		Strategy: config.AnalysisStrategyThreshold, Provider: "prom", Query: tmpl, Expected: &config.AnalysisExpected{Max: &max},
		Interval: config.Duration(interval), FailureLimit: 1 << 30}}}}

	// Warm the server (and the connection) up first: the first queries
	// after its start are slower, and the tick is measured first.
	for i := 0; i < 200; i++ {
		end := time.Now()
		q := `sum(rate(http_requests_total{variant="canary",code="500"}[5s])) / sum(rate(http_requests_total{variant="canary"}[5s]))`
		if _, err := prov.Query(ctx, q, provider.Window{Start: end.Add(-interval), End: end}); err != nil {
			b.Fatal(err)
		}
	}

	// newTicker sets up a stage record and a runner; its tick renders the
	// query template, queries, judges, records the tick and encodes the
	// whole record (the checkpoint).
	newTicker := func(b *testing.B) (tick func(i int), done func()) {
		rec := &state.Record{SchemaVersion: state.SchemaVersion, ID: "bench", App: "canary",
			Stages: []state.Stage{{ID: "analysis", Name: "ANALYSIS", Status: state.StageRunning,
				Analysis: &state.Analysis{StartedAt: time.Now().UTC().Truncate(time.Millisecond)}}}}
		bytesOut := 0
		r := &Runner{Options: o, App: "canary", Progress: rec.Stages[0].Analysis, Now: time.Now,
			Providers: func(string) (provider.Provider, error) { return prov, nil },
			Checkpoint: func() error {
				line, err := json.Marshal(rec)
				bytesOut = len(line)
				return err
			}}
		zs, err := r.build(ctx)
		if err != nil {
			b.Fatal(err)
		}
		z := zs[0]
		r.Progress.Analyzers = append(r.Progress.Analyzers, z.rec) // as Run does: the ticks are counted in it
		passed := 0
		tick = func(i int) {
			q, err := Render("metrics[0]", tmpl, r.baseArgs(nil))
			if err != nil {
				b.Fatal(err)
			}
			z.query = q
			t, ignore := r.tick(ctx, z, time.Duration(i+1)*interval)
			if ignore {
				b.Fatal("tick ignored")
			}
			if t.Verdict == state.VerdictPass {
				passed++
			}
			r.record(z, t, time.Duration(i+1)*interval, time.Hour)
		}
		done = func() {
			if passed == 0 {
				b.Fatalf("no tick passed: last %+v", rec.Stages[0].Analysis.LastTick("metrics[0]"))
			}
			b.ReportMetric(float64(bytesOut), "record-bytes")
		}
		return tick, done
	}
	q, err := Render("metrics[0]", tmpl, Args{App: AppArgs{Name: "canary"}})
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{}
	raw := func(b *testing.B) {
		end := time.Now()
		v := url.Values{"query": {q}, "start": {unix(end.Add(-interval))}, "end": {unix(end)}, "step": {"1"}}
		resp, err := client.Get(srv.URL() + "/api/v1/query_range?" + v.Encode())
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%d %v: %s", resp.StatusCode, err, body)
		}
	}

	b.Run("tick", func(b *testing.B) {
		tick, done := newTicker(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			tick(i)
		}
		b.StopTimer()
		done()
	})

	b.Run("provider", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			end := time.Now()
			if _, err := prov.Query(ctx, q, provider.Window{Start: end.Add(-interval), End: end}); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("raw", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			raw(b)
		}
	})

	// A tick and a raw query in turn (in alternating order), so that both
	// see the same load of a shared machine: tick/raw is their ratio.
	b.Run("interleaved", func(b *testing.B) {
		tick, done := newTicker(b)
		var tickTime, rawTime time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			if i%2 == 0 {
				tick(i)
				t1 := time.Now()
				raw(b)
				tickTime, rawTime = tickTime+t1.Sub(t0), rawTime+time.Since(t1)
			} else {
				raw(b)
				t1 := time.Now()
				tick(i)
				rawTime, tickTime = rawTime+t1.Sub(t0), tickTime+time.Since(t1)
			}
		}
		b.StopTimer()
		done()
		b.ReportMetric(float64(tickTime.Nanoseconds())/float64(b.N), "tick-ns")
		b.ReportMetric(float64(rawTime.Nanoseconds())/float64(b.N), "raw-ns")
		b.ReportMetric(float64(tickTime)/float64(rawTime), "tick/raw")
	})
}

func unix(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', 3, 64)
}

// BenchmarkTickOverhead is BenchmarkTick's tick without the query: the
// templating, judging, recording and encoding a tick adds to it, against a
// provider that answers at once with as many points as Prometheus does.
// The record is encoded whole at every tick, as the checkpoints do, so the
// cost grows with the ticks already recorded: the sub-benchmarks first
// record ticks=N ticks (10 is a few minutes of analysis at a 30s interval,
// 300 two and a half hours), then time the next ones; record-bytes is the
// size of the last record encoded.
//
//	go test -run '^$' -bench TickOverhead -benchmem ./internal/analysis/
func BenchmarkTickOverhead(b *testing.B) {
	for _, n := range []int{10, 300} {
		b.Run("ticks="+strconv.Itoa(n), func(b *testing.B) { benchTickOverhead(b, n) })
	}
}

func benchTickOverhead(b *testing.B, prefill int) {
	ctx := context.Background()
	vals := make([]float64, 31)
	for i := range vals {
		vals[i] = 0.02 + float64(i%7)*0.001
	}
	prov := &memProvider{fn: constant(vals...)}
	const tmpl = `sum(rate(http_requests_total{variant="{{ .App.Name }}",code="500"}[5s])) / sum(rate(http_requests_total{variant="{{ .App.Name }}"}[5s]))`
	max := 0.05
	interval := 30 * time.Second
	o := &config.AnalysisStageOptions{Duration: config.Duration(time.Hour), Metrics: []config.TemplatableAnalysisMetrics{{AnalysisMetrics: config.AnalysisMetrics{
		Strategy: config.AnalysisStrategyThreshold, Provider: "prom", Query: tmpl, Expected: &config.AnalysisExpected{Max: &max},
		Interval: config.Duration(interval), FailureLimit: 1 << 30}}}}
	rec := &state.Record{SchemaVersion: state.SchemaVersion, ID: "bench", App: "canary",
		Stages: []state.Stage{{ID: "analysis", Name: "ANALYSIS", Status: state.StageRunning,
			Analysis: &state.Analysis{StartedAt: time.Now().UTC().Truncate(time.Millisecond)}}}}
	bytesOut := 0
	r := &Runner{Options: o, App: "canary", Progress: rec.Stages[0].Analysis, Now: time.Now,
		Providers: func(string) (provider.Provider, error) { return prov, nil },
		Checkpoint: func() error {
			line, err := json.Marshal(rec)
			bytesOut = len(line)
			return err
		}}
	zs, err := r.build(ctx)
	if err != nil {
		b.Fatal(err)
	}
	z := zs[0]
	r.Progress.Analyzers = append(r.Progress.Analyzers, z.rec)
	i := 0
	tick := func() {
		i++
		q, err := Render("metrics[0]", tmpl, r.baseArgs(nil))
		if err != nil {
			b.Fatal(err)
		}
		z.query = q
		t, ignore := r.tick(ctx, z, time.Duration(i)*interval)
		if ignore || t.Verdict != state.VerdictPass {
			b.Fatalf("tick %+v (ignored %v)", t, ignore)
		}
		r.record(z, t, time.Duration(i)*interval, time.Hour)
	}
	for range prefill {
		tick()
	}
	for b.Loop() {
		tick()
	}
	b.ReportMetric(float64(bytesOut), "record-bytes")
}
