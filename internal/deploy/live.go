package deploy

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/target/kubernetes"
)

// KubernetesObserver gives the planner the live side of a Kubernetes app:
// its objects in the cluster and a server-side dry run of the desired ones.
type KubernetesObserver struct {
	Client *kubernetes.Client
	// App is the application observed (its ownership labels select the
	// live objects and are set on the dry-run objects).
	App string
	// ForceConflicts dry-runs as a sync with --force-conflicts would apply.
	ForceConflicts bool
	// Namespaces is the app's namespace scope for LiveObjects (see
	// kubernetes.App.Namespaces); the other methods derive it from the
	// desired objects.
	Namespaces []string
}

func (o KubernetesObserver) scope(desired []*unstructured.Unstructured) []string {
	return kubernetes.ScopeOf(desired, o.Client.Namespace())
}

// LiveObjects lists the application's objects in the cluster.
func (o KubernetesObserver) LiveObjects(ctx context.Context, app string) ([]*unstructured.Unstructured, error) {
	live, err := o.Client.Live(ctx, kubernetes.App{ID: app, Namespaces: o.Namespaces}, kubernetes.LiveOptions{})
	if err != nil {
		return nil, err
	}
	for i, u := range live {
		live[i] = kubernetes.Normalize(u)
	}
	return live, nil
}

// DryRunApply returns what applying the desired objects would leave in the
// cluster (defaults, admission and other managers' fields included).
func (o KubernetesObserver) DryRunApply(ctx context.Context, desired []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	res, err := o.Client.DryRun(ctx, desired, kubernetes.DryRunOptions{App: kubernetes.App{ID: o.App, Namespaces: o.scope(desired)}, ForceConflicts: o.ForceConflicts})
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, 0, len(res))
	for _, r := range res {
		out = append(out, kubernetes.Normalize(r.Object))
	}
	return out, nil
}

// Observe returns both sides at once with the target's live plan, which
// asks the server for a dry run only where the live object does not
// already show the result (a fraction of the cost of dry-running all).
func (o KubernetesObserver) Observe(ctx context.Context, desired []*unstructured.Unstructured) (live, dryRun []*unstructured.Unstructured, err error) {
	lp, err := o.Client.LivePlan(ctx, desired, kubernetes.DryRunOptions{App: kubernetes.App{ID: o.App, Namespaces: o.scope(desired)}, ForceConflicts: o.ForceConflicts})
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
