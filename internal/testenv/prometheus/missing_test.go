package prometheus_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	promtest "github.com/gitops-pipe/pipe/internal/testenv/prometheus"
)

// recordTB records the message of Fatalf and stops the goroutine, as
// testing.T does.
type recordTB struct {
	testing.TB
	msg string
}

func (r *recordTB) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStartWithoutPrometheusFailsWithInstallHint(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	rec := &recordTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		promtest.Start(context.Background(), rec, "127.0.0.1:1")
		rec.msg = "Start returned"
	}()
	<-done
	if !strings.Contains(rec.msg, "apt-get install prometheus") {
		t.Errorf("Start without prometheus: %q, want a failure saying to apt-get install prometheus", rec.msg)
	}
}
