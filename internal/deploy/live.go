package deploy

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/platform/kubernetes"
)

// LiveObserver observes the live side of an application for a live plan:
// its objects in the cluster (those carrying its ownership labels) and what
// a sync of the desired objects would leave there (a server-side dry run).
type LiveObserver interface {
	Observe(ctx context.Context, desired []*unstructured.Unstructured) (live, dryRun []*unstructured.Unstructured, err error)
}

// KubernetesObserver is the LiveObserver of a Kubernetes cluster.
type KubernetesObserver struct {
	Client *kubernetes.Client
	// App is the application observed (its ownership labels select the
	// live objects and are set on the dry-run objects).
	App string
	// ForceConflicts dry-runs as a sync with --force-conflicts would apply.
	ForceConflicts bool
}

// Observe returns both sides at once with the target's live plan, which
// asks the server for a dry run only where the live object does not
// already show the result (a fraction of the cost of dry-running all).
func (o KubernetesObserver) Observe(ctx context.Context, desired []*unstructured.Unstructured) (live, dryRun []*unstructured.Unstructured, err error) {
	app := kubernetes.App{ID: o.App, Namespaces: kubernetes.ScopeOf(desired, o.Client.Namespace())}
	lp, err := o.Client.LivePlan(ctx, desired, kubernetes.DryRunOptions{App: app, ForceConflicts: o.ForceConflicts})
	if err != nil {
		return nil, nil, err
	}
	for _, p := range lp.Pairs {
		if p.Live != nil && p.Owned {
			live = append(live, p.Live)
		}
		if p.Desired != nil {
			dryRun = append(dryRun, p.Desired)
		}
	}
	return live, dryRun, nil
}
