// Package prometheus starts a real Prometheus server (Debian's
// /usr/bin/prometheus) for tests, scraping Exporters the tests control, so
// that the analysis providers are tested against the real query API and
// PromQL engine.
//
// The server listens on a free 127.0.0.1 port, keeps its storage in the
// test's temporary directory, scrapes and evaluates every second, and is
// stopped when the test ends; its log is shown when the test fails. When
// prometheus is not installed the test fails with how to install it
// (`apt-get install prometheus`; .ci/run does): it is never skipped.
package prometheus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Binary is the prometheus executable looked up in $PATH.
const Binary = "prometheus"

// Server is a running Prometheus.
type Server struct {
	url     string
	logPath string
	api     promv1.API
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// Start starts Prometheus scraping targets (host:port, each serving
// /metrics) every second. It returns once the server is ready; a failure
// fails the test. ctx bounds the start, not the server's life: the server
// runs until the test ends.
func Start(ctx context.Context, t testing.TB, targets ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath(Binary)
	if err != nil {
		t.Fatalf("prometheus is not installed (%v): install the Debian package with `apt-get install prometheus` (.ci/run installs it)", err)
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(configYAML(targets)), 0o600); err != nil {
		t.Fatalf("prometheus: writing its config: %v", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(ctx, t, bin, dir, cfgPath, attempt)
		if err == nil {
			return s
		}
		lastErr = err
		if ctx.Err() != nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("prometheus: %v", lastErr)
	return nil
}

func configYAML(targets []string) string {
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n")
	b.WriteString("scrape_configs:\n  - job_name: test\n    static_configs:\n      - targets: [")
	for i, tg := range targets {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(tg))
	}
	b.WriteString("]\n")
	return b.String()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start(ctx context.Context, t testing.TB, bin, dir, cfgPath string, attempt int) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("finding a free port: %v", err)
	}
	logPath := filepath.Join(dir, fmt.Sprintf("prometheus-%d.log", attempt))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating its log file: %v", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data-%d", attempt)),
		"--web.listen-address="+addr,
		"--storage.tsdb.retention.time=1h",
		"--log.level=info",
	)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %v", bin, err)
	}
	s := &Server{url: "http://" + addr, logPath: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("prometheus log (%s):\n%s", logPath, tail(logPath, 4000))
		}
	})
	client, err := api.NewClient(api.Config{Address: s.url})
	if err != nil {
		return nil, err
	}
	s.api = promv1.NewAPI(client)
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		return nil, fmt.Errorf("%v; its log:\n%s", err, tail(logPath, 4000))
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/-/ready", nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("prometheus exited before it was ready (%v)", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("prometheus at %s was not ready within 60s: %v", s.url, ctx.Err())
		case <-tick.C:
		}
	}
}

func (s *Server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read it: %v)", err)
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// URL is the server's base URL, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.url }

// LogPath is the file the server logs to.
func (s *Server) LogPath() string { return s.logPath }

// Instant runs an instant query and returns the one sample it selects.
// A query selecting nothing is an error saying so.
func (s *Server) Instant(ctx context.Context, query string) (float64, error) {
	v, _, _, err := s.api.Query(ctx, query, time.Now())
	if err != nil {
		return 0, fmt.Errorf("instant query %q: %w", query, err)
	}
	switch v := v.(type) {
	case model.Vector:
		if len(v) == 1 {
			return float64(v[0].Value), nil
		}
		return 0, fmt.Errorf("instant query %q selects %d series, want 1", query, len(v))
	case *model.Scalar:
		return float64(v.Value), nil
	}
	return 0, fmt.Errorf("instant query %q returns a %s, want a vector", query, v.Type())
}

// WaitForSample polls the instant query until it returns one sample that is
// a number (not NaN): Prometheus discovers and scrapes targets on timers,
// so tests poll rather than sleep. It returns the last error when ctx ends.
func (s *Server) WaitForSample(ctx context.Context, query string) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		v, err := s.Instant(ctx, query)
		switch {
		case err == nil && !math.IsNaN(v):
			return nil
		case err == nil:
			last = fmt.Errorf("instant query %q is NaN", query)
		default:
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no sample for %q at %s: %w (last: %v)", query, s.url, ctx.Err(), last)
		case <-s.exited:
			return errors.New("prometheus exited: " + tail(s.logPath, 2000))
		case <-tick.C:
		}
	}
}
