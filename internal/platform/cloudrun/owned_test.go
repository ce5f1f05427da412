package cloudrun

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/plan"
)

// A manifest exported with gcloud holds spec.traffic and the template's
// name, which pipe sets itself on apply: right after a deployment, neither
// the live plan nor drift reports them.
func TestExportedManifestInSyncAfterDeploy(t *testing.T) {
	w := newWorld(t)
	exported := serviceYAML("gcr.io/p/web:v1", "            - {name: LOG_LEVEL, value: info}\n") +
		"  traffic:\n    - latestRevision: true\n      percent: 100\n"
	exported = strings.Replace(exported, "    metadata:\n      annotations:", "    metadata:\n      name: web-00001-abc\n      annotations:", 1)
	rev, app := w.revision(strings.Repeat("1", 40), `apiVersion: pipecd.dev/v1beta1
kind: CloudRunApp
spec:
  name: web
`, exported)
	if _, _, err := w.deploy(context.Background(), rev, nil, app); err != nil {
		t.Fatal(err)
	}
	if got := w.traffic(); got != "web-v1-1111111:100" {
		t.Fatalf("traffic %s", got)
	}
	tree, _ := rev.Open(context.Background())
	w.p.opts.Root = tree.Root
	var r drift.AppResult
	if err := w.p.drift(context.Background(), w.p.opts.Root, tree.App, &r); err != nil {
		t.Fatal(err)
	}
	if r.Status != drift.InSync {
		t.Errorf("drift %+v", r.Drift)
	}
	c := rev.Commit
	pl, prep, err := w.p.Plan(context.Background(), deploy.PlanRequest{App: app, Head: rev, Running: rev, Live: true,
		Input: plan.Input{App: plan.AppOf(app), Head: rev.Commit, Running: &c, Now: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	prep.Close()
	if len(pl.Changes) != 0 {
		t.Errorf("live plan changes %+v", pl.Changes)
	}
}
