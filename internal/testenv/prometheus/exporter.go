package prometheus

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Exporter is an HTTP server exposing /metrics for Prometheus to scrape,
// with traffic series per variant that the test controls:
//
//   - http_requests_total{variant, code="200"|"500"}: a counter advanced
//     every 100ms by the variant's request rate, split by its error rate;
//   - http_request_latency_seconds{variant}: a gauge holding the latency;
//   - http_request_duration_seconds{variant}: a histogram observing the
//     latency once per simulated request.
//
// So sum(rate(http_requests_total{variant="canary",code="500"}[5s])) /
// sum(rate(http_requests_total{variant="canary"}[5s])) is the error rate
// set with SetErrorRate.
type Exporter struct {
	t        testing.TB
	srv      *httptest.Server
	requests *prometheus.CounterVec
	latency  *prometheus.GaugeVec
	duration *prometheus.HistogramVec

	mu          sync.Mutex
	defaultRate float64
	variants    map[string]*variant
	stop        chan struct{}
	done        chan struct{}
}

type variant struct {
	rate, errorRate, latency float64
	pending                  float64 // fractional requests carried to the next tick
}

// TickInterval is how often the exporter advances its counters.
const TickInterval = 100 * time.Millisecond

// NewExporter starts an exporter whose variants receive requestsPerSecond
// requests each (until SetRequestRate). It is stopped when the test ends.
func NewExporter(t testing.TB, requestsPerSecond float64) *Exporter {
	t.Helper()
	if requestsPerSecond < 0 {
		t.Fatalf("prometheus.NewExporter: negative request rate %v", requestsPerSecond)
	}
	reg := prometheus.NewRegistry()
	e := &Exporter{
		t: t,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "Simulated requests by variant and status code.",
		}, []string{"variant", "code"}),
		latency: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "http_request_latency_seconds", Help: "The simulated latency of the variant.",
		}, []string{"variant"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "Simulated request durations.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"variant"}),
		defaultRate: requestsPerSecond,
		variants:    map[string]*variant{},
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	reg.MustRegister(e.requests, e.latency, e.duration)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	e.srv = httptest.NewServer(mux)
	go e.run()
	t.Cleanup(func() {
		close(e.stop)
		<-e.done
		e.srv.Close()
	})
	return e
}

// Addr is the host:port to scrape.
func (e *Exporter) Addr() string { return strings.TrimPrefix(e.srv.URL, "http://") }

// URL is the exporter's base URL.
func (e *Exporter) URL() string { return e.srv.URL }

// variantLocked returns the variant, creating its series at zero.
func (e *Exporter) variantLocked(name string) *variant {
	v := e.variants[name]
	if v == nil {
		v = &variant{rate: e.defaultRate}
		e.variants[name] = v
		e.requests.WithLabelValues(name, "200")
		e.requests.WithLabelValues(name, "500")
		e.latency.WithLabelValues(name).Set(0)
	}
	return v
}

// SetRequestRate sets the requests per second of the variant.
func (e *Exporter) SetRequestRate(variantName string, perSecond float64) {
	if perSecond < 0 || math.IsNaN(perSecond) || math.IsInf(perSecond, 0) {
		e.t.Errorf("prometheus.Exporter.SetRequestRate(%q, %v): the rate must be a finite number >= 0; unchanged", variantName, perSecond)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.variantLocked(variantName).rate = perSecond
}

// SetErrorRate sets the fraction (0..1) of the variant's requests that
// fail with code 500.
func (e *Exporter) SetErrorRate(variantName string, r float64) {
	if !(r >= 0 && r <= 1) {
		e.t.Errorf("prometheus.Exporter.SetErrorRate(%q, %v): the error rate is a fraction between 0 and 1; unchanged", variantName, r)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.variantLocked(variantName).errorRate = r
}

// SetLatency sets the variant's request latency in seconds.
func (e *Exporter) SetLatency(variantName string, seconds float64) {
	if seconds < 0 || math.IsNaN(seconds) || math.IsInf(seconds, 0) {
		e.t.Errorf("prometheus.Exporter.SetLatency(%q, %v): the latency must be a finite number of seconds >= 0; unchanged", variantName, seconds)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.variantLocked(variantName).latency = seconds
	e.latency.WithLabelValues(variantName).Set(seconds)
}

func (e *Exporter) run() {
	defer close(e.done)
	tick := time.NewTicker(TickInterval)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-e.stop:
			return
		case now := <-tick.C:
			e.advance(now.Sub(last).Seconds())
			last = now
		}
	}
}

// advance adds dt seconds of traffic to every variant.
func (e *Exporter) advance(dt float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for name, v := range e.variants {
		n := v.rate * dt
		if n == 0 {
			continue
		}
		e.requests.WithLabelValues(name, "500").Add(n * v.errorRate)
		e.requests.WithLabelValues(name, "200").Add(n * (1 - v.errorRate))
		v.pending += n
		obs := e.duration.WithLabelValues(name)
		for ; v.pending >= 1; v.pending-- {
			obs.Observe(v.latency)
		}
	}
}
