// Package startup measures how fast the built pipe binary starts and how
// much memory it takes, the way CI jobs run it: as a fresh process, once
// per step. It holds no library code, only BenchmarkStartup, which
//
//   - builds pipe as a release is built (CGO_ENABLED=0 -trimpath
//     -ldflags '-s -w') and a hello-world Go program with the same
//     toolchain and flags, in the same run, and installs them by copy, as
//     a release archive is extracted;
//   - runs `pipe version`, `pipe validate` in a repository of one
//     KubernetesApp, and hello-world, and reports for each the wall time
//     per run (ms/op), the ratio to hello-world (x-hello), the peak
//     resident set (peak-RSS-MB: the rusage ru_maxrss of runs started from
//     a small probe process, see probeSource) and the size of the
//     stripped binaries (stripped-MB);
//   - runs `pipe plan --live` on an application of 300 objects synced to
//     the local Kubernetes control plane (internal/testenv/kube), when its
//     binaries are built (`make testenv-build`); otherwise that
//     sub-benchmark is skipped;
//   - logs a summary table with the goals of issue 22.
//
// Run it with
//
//	go test -run '^$' -bench Startup -benchtime 20x ./internal/release/startup
//
// docs/performance.md records the figures. Benchmarks run only with -bench,
// so `make test` builds nothing here.
package startup
