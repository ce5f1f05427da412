package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gitops-pipe/pipe/internal/cli"
	"github.com/gitops-pipe/pipe/internal/testenv/fakes"
	"github.com/gitops-pipe/pipe/internal/testenv/kube"
	"github.com/gitops-pipe/pipe/internal/testenv/prometheus"
)

// TestMain starts one control plane for the package (in the parent test
// process only: testscript re-executes this binary as `pipe`).
func TestMain(m *testing.M) {
	testscript.Main(runner{m}, map[string]func(){
		"pipe": func() { os.Exit(cli.Main(cli.System())) },
	})
}

type runner struct{ m *testing.M }

func (r runner) Run() int { return kube.Run(r.m) }

// TestKubeScripts runs testdata/script/kube/*.txtar against the control
// plane. Each script gets KUBECONFIG, kubectl on PATH, and a unique
// namespace in $NS (created by pipe through autoCreateNamespace).
//
// A real Prometheus scrapes a test exporter for the ANALYSIS scripts: its
// address is $PROM_URL, and `exporter SERIES ERROR_RATE` sets the error
// rate of the series variant="SERIES" (then waits until Prometheus has a
// rate for it).
func TestKubeScripts(t *testing.T) {
	c := kube.Shared(t)
	exp := prometheus.NewExporter(t, 50)
	prom := prometheus.Start(context.Background(), t, exp.Addr())
	testscript.Run(t, testscript.Params{
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"webhookrecv": fakes.WebhookCmd(),
			"exporter": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: exporter SERIES ERROR_RATE")
				}
				rate, err := strconv.ParseFloat(args[1], 64)
				ts.Check(err)
				exp.SetErrorRate(args[0], rate)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				// Wait until Prometheus's 5s error rate shows the new rate, so
				// that the analysis that follows sees it from its first tick.
				q := fmt.Sprintf(`sum(rate(http_requests_total{variant=%q,code="500"}[5s])) / sum(rate(http_requests_total{variant=%q}[5s]))`, args[0], args[0])
				ts.Check(prom.WaitForSample(ctx, q))
				for {
					v, err := prom.Instant(ctx, q)
					if err == nil && math.Abs(v-rate) < 0.05 {
						break
					}
					select {
					case <-ctx.Done():
						ts.Fatalf("the error rate of %s did not reach %v in Prometheus (last %v, %v)", args[0], rate, v, err)
					case <-time.After(250 * time.Millisecond):
					}
				}
			},
		},
		Dir: "../../testdata/script/kube",
		Setup: func(e *testscript.Env) error {
			for _, k := range []string{"CI", "GITHUB_ACTIONS", "GITLAB_CI"} {
				e.Setenv(k, "")
			}
			e.Setenv("NO_COLOR", "1")
			e.Setenv("KUBECONFIG", c.Kubeconfig())
			e.Setenv("PROM_URL", prom.URL())
			e.Setenv("PATH", filepath.Dir(c.Binaries.Kubectl)+string(os.PathListSeparator)+e.Getenv("PATH"))
			ns := "e2e-" + strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(filepath.Base(e.WorkDir)))
			if len(ns) > 50 {
				ns = ns[:50]
			}
			e.Setenv("NS", strings.Trim(ns, "-"))
			return nil
		},
		RequireExplicitExec: true,
	})
}
