// Package kubernetes is pipe's Kubernetes target: the live side of planning
// and the mechanics of a quick sync, against one cluster.
//
// It owns:
//   - the connection (Client): a REST config from the CLI's kubectl-style
//     connection settings, a discovery-backed RESTMapper cached in memory
//     (reset when a kind is missing, e.g. for CRDs created by the sync), and
//     a dynamic client with raised client-side rate limits;
//   - preparing desired objects for a cluster (Prepare): default namespace,
//     PipeCD-compatible ownership labels and annotations, the config-hash of
//     workloads that mount managed ConfigMaps/Secrets;
//   - the apply order (Order): Namespaces and CRDs first, then a kind-aware
//     order (Helm's install order) refined by the pipecd.dev/order annotation;
//   - applying (Apply): server-side apply with field manager "pipe",
//     replace / forced replace for objects annotated so, opt-in pruning of
//     the application's objects that left Git, bounded retries;
//   - observing (Live, DryRun, LivePlan): the application's live objects and
//     the objects a server-side dry-run apply would produce, normalised and
//     paired by resource key for the planner's diff;
//   - planning (plan.go, plan_workloads.go, plan_diff.go): PipeCD's
//     Kubernetes planner on top of the rules every kind shares (plan.New):
//     the comparison of workloads and configs that decides the strategy,
//     the per-object diffs of two commits or of the live objects and a dry
//     run, and the digests of the rendered and live objects that a saved
//     plan is verified against;
//   - readiness (Wait): kstatus over watched objects, and on timeout which
//     object is stuck and why (pods' container states, scheduling, events).
//
// It never prints, reads flags, environment or the clock's wall time for
// decisions: progress goes to an Events callback, connection settings come
// in as a genericclioptions.RESTClientGetter (or a rest.Config).
// Errors are *Error values with a Reason (errors.Is with ErrConflict,
// ErrForbidden, ...) and a Hint, meant to be shown as they are.
package kubernetes
