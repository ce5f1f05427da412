//go:build unix

package startup

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/kube"
)

// liveNamespace is the namespace of the 300-object application.
const liveNamespace = "bench-live"

// liveChanged is how many of its Deployments the planned commit changes.
const liveChanged = 10

// cachedControlPlane returns the control plane's binaries when they are all
// built in the testenv cache, else why not.
func cachedControlPlane() (*kube.Binaries, string) {
	if os.Getenv("PIPE_TESTENV_SKIP") == "1" {
		return nil, "PIPE_TESTENV_SKIP=1"
	}
	cache, err := kube.CacheDir()
	if err != nil {
		return nil, err.Error()
	}
	bins, missing := kube.CachedBinaries(cache)
	if bins == nil {
		return nil, "the local Kubernetes control plane is not built (" + missing + " missing in " + cache + "): `make testenv-build` builds it"
	}
	return bins, ""
}

// liveSetup is the control plane and the synced application that the
// plan-live sub-benchmark plans, made on its first call (a sub-benchmark's
// function runs several times) and stopped when the benchmark ends.
type liveSetup struct {
	cluster *kube.Cluster
	prog    program
	skip    string
}

// prepare starts the control plane, makes a repository whose application
// of 300 objects `pipe sync` applies, then commits a change of
// liveChanged Deployments for `pipe plan --live` to find.
func (s *liveSetup) prepare(b *testing.B, pipe, dir string) {
	b.Helper()
	if s.cluster != nil || s.skip != "" {
		return
	}
	bins, skip := cachedControlPlane()
	if bins == nil {
		s.skip = skip
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := kube.Start(ctx, kube.Options{Binaries: bins})
	if err != nil {
		b.Fatalf("starting the control plane: %v", err)
	}
	s.cluster = c

	repo := filepath.Join(dir, "live")
	env := runEnv(dir, "KUBECONFIG="+c.Kubeconfig())
	writeFile(b, filepath.Join(repo, "apps/web/app.pipecd.yaml"), appConfig(liveNamespace))
	writeFile(b, filepath.Join(repo, "apps/web/manifests.yaml"), appObjects(liveNamespace, 0))
	git(b, repo, env, "init", "-q", "-b", "main")
	commitAll(b, repo, env, "web: 300 objects")
	sync := program{path: pipe, args: []string{"sync", "web", "--no-push"}, dir: repo, env: env}
	if out, err := sync.output(ctx); err != nil {
		b.Fatalf("%s: %v\n%s", sync, err, tail(out, 40))
	}
	writeFile(b, filepath.Join(repo, "apps/web/manifests.yaml"), appObjects(liveNamespace, liveChanged))
	commitAll(b, repo, env, "web: 10 new images")
	s.prog = program{
		path: pipe, args: []string{"plan", "web", "--live", "--detailed-exitcode"}, dir: repo, env: env,
		exit: 3, want: "registry.invalid/web:2",
	}
}

// stop stops the control plane, if it was started.
func (s *liveSetup) stop() {
	if s.cluster != nil {
		s.cluster.Stop()
	}
}
