package deploytest

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
)

// StartAWS starts an AWS emulator with opts, closed when tb ends, and
// clears the process's environment of the machine's AWS
// configuration (the SDK reads credentials from it: the emulator's). getenv
// is pipe's environment: the emulator's endpoint and region.
func StartAWS(tb testing.TB, opts awsemu.Options) (emu *awsemu.Emulator, getenv func(string) string) {
	tb.Helper()
	emu, srv := awsemu.Start(opts)
	tb.Cleanup(srv.Close)
	tb.Setenv("AWS_ACCESS_KEY_ID", awsemu.AccessKeyID)
	tb.Setenv("AWS_SECRET_ACCESS_KEY", awsemu.SecretAccessKey)
	tb.Setenv("AWS_SESSION_TOKEN", "")
	tb.Setenv("AWS_PROFILE", "")
	tb.Setenv("AWS_CONFIG_FILE", filepath.Join(tb.TempDir(), "none"))
	tb.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(tb.TempDir(), "none"))
	tb.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	// A CA bundle (AWS_CA_BUNDLE) is parsed by every awsconf.Load, ~3.5ms
	// once per CLI run; the emulator is plain HTTP.
	tb.Setenv("AWS_CA_BUNDLE", "")
	env := map[string]string{"AWS_ENDPOINT_URL": srv.URL, "AWS_REGION": awsemu.DefaultRegion}
	return emu, func(k string) string { return env[k] }
}

// CompareAWS runs the sub-benchmarks pipe and sdk, each iteration one
// call of its function (a deployment by pipe, the same AWS calls made by
// a straight-line program), on emu. Each reports calls/op, the AWS
// requests an iteration made (it fails on an error response); the sdk
// lines also report pipe/sdk: the median ns/op of the pipe runs over the
// run's; -v logs the ratio of the medians and the difference. It returns
// each sub-benchmark's calls of an iteration as "Operation×n" sorted, nil
// for one that did not run.
func CompareAWS(b *testing.B, emu *awsemu.Emulator, pipe, sdk func() error) (pipeCalls, sdkCalls []string) {
	b.Helper()
	calls := map[string][]string{}
	nsop := map[string][]float64{} // per run of a sub-benchmark (-count)
	for _, s := range []struct {
		name string
		f    func() error
	}{{"pipe", pipe}, {"sdk", sdk}} {
		b.Run(s.name, func(b *testing.B) {
			start := len(emu.Requests())
			b.ResetTimer()
			for range b.N {
				if err := s.f(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			calls[s.name] = reportCalls(b, emu, start)
			if b.N > 1 {
				ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				nsop[s.name] = append(nsop[s.name], ns)
				// The ratio, on the sdk line: pipe's median ns/op over this run's.
				if p := median(nsop["pipe"]); s.name == "sdk" && p > 0 {
					b.ReportMetric(p/ns, "pipe/sdk")
				}
			}
		})
	}
	if p, s := median(nsop["pipe"]), median(nsop["sdk"]); p > 0 && s > 0 {
		b.Logf("pipe/sdk %.2f: pipe %.0f ns/op, sdk %.0f ns/op (medians of %d runs), pipe's own overhead %.0f ns per deployment",
			p/s, p, s, len(nsop["pipe"]), p-s)
	}
	return calls["pipe"], calls["sdk"]
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Sorted(slices.Values(v))
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// reportCalls reports the AWS requests per iteration made since start and
// returns them as "Operation×n" sorted; it fails on any error response.
func reportCalls(b *testing.B, emu *awsemu.Emulator, start int) []string {
	b.Helper()
	reqs := emu.Requests()[start:]
	per := map[string]int{}
	for _, r := range reqs {
		if r.Status >= 300 {
			b.Fatalf("%s %s: HTTP %d", r.Operation, r.Function, r.Status)
		}
		per[r.Operation]++
	}
	b.ReportMetric(float64(len(reqs))/float64(b.N), "calls/op")
	var out []string
	for _, op := range slices.Sorted(maps.Keys(per)) {
		if per[op]%b.N != 0 {
			b.Fatalf("%d %s calls in %d iterations", per[op], op, b.N)
		}
		out = append(out, fmt.Sprintf("%s×%d", op, per[op]/b.N))
	}
	return out
}
