package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/manifest"
)

// Cluster is what the Kubernetes stages need from a cluster.
type Cluster interface {
	Apply(ctx context.Context, objs []*unstructured.Unstructured, opts ApplyOptions) (*Result, error)
	Wait(ctx context.Context, keys []Key, opts WaitOptions) error
	Live(ctx context.Context, app App, opts LiveOptions) ([]*unstructured.Unstructured, error)
	Delete(ctx context.Context, objs []*unstructured.Unstructured, events Events) ([]Key, error)
}

// Kubernetes runs the K8S_* stages and the rollback of a KubernetesApp
// (PipeCD's semantics): variants are the manifests' workloads copied as
// <name>-<suffix>, told apart by the variant label and the
// pipecd.dev/variant annotation.
type Runner struct {
	Cluster Cluster
	// AppID owns the objects (pipecd.dev/application).
	AppID string
	// Namespaces is the app's namespace scope (App.Namespaces):
	// same-named apps elsewhere in the cluster are never its objects.
	Namespaces []string
	Spec       *config.KubernetesApplicationSpec
	// Head is the commit deployed and Desired its rendered objects.
	Head    string
	Desired []*unstructured.Unstructured
	// Running is the commit of the last successful deployment ("" when
	// none); RunningObjects renders it (called at most once per stage).
	Running        string
	RunningObjects func(ctx context.Context) ([]*unstructured.Unstructured, error)
	ForceConflicts bool
}

// Stage metadata keys of the Kubernetes stages.
const (
	MetaResources = "resources" // the keys of the objects a stage applied
	MetaDeleted   = "deleted"   // the keys of the objects a stage deleted
)

type variantLabel struct{ key, primary, canary, baseline string }

func (k *Runner) label() variantLabel {
	l := k.Spec.VariantLabel
	v := variantLabel{key: l.Key, primary: l.PrimaryValue, canary: l.CanaryValue, baseline: l.BaselineValue}
	if v.key == "" {
		v.key = LabelVariant
	}
	if v.primary == "" {
		v.primary = config.VariantPrimary
	}
	if v.canary == "" {
		v.canary = config.VariantCanary
	}
	if v.baseline == "" {
		v.baseline = config.VariantBaseline
	}
	return v
}

func (k *Runner) workloads() []WorkloadRef {
	var out []WorkloadRef
	for _, w := range k.Spec.Workloads {
		out = append(out, WorkloadRef{Kind: w.Kind, Name: w.Name})
	}
	return out
}

// RunStage implements Platform.
func (k *Runner) RunStage(ctx context.Context, st *execute.Stage) error {
	with := st.Options()
	switch st.Plan.Name {
	case config.StageK8sSync:
		o, _ := with.(*config.K8sSyncStageOptions)
		if o == nil && st.Config == nil {
			o = &k.Spec.QuickSync // the quick sync's own stage
		}
		if o == nil {
			o = &config.K8sSyncStageOptions{}
		}
		return k.rollout(ctx, st, o.AddVariantLabelToSelector, o.Prune, false, "")
	case config.StageK8sPrimaryRollout:
		o, _ := with.(*config.K8sPrimaryRolloutStageOptions)
		if o == nil {
			o = &config.K8sPrimaryRolloutStageOptions{}
		}
		suffix := ""
		if o.CreateService {
			suffix = cmpStr(o.Suffix, config.VariantPrimary)
		}
		return k.rollout(ctx, st, o.AddVariantLabelToSelector, o.Prune, true, suffix)
	case config.StageK8sCanaryRollout:
		o, _ := with.(*config.K8sCanaryRolloutStageOptions)
		if o == nil {
			o = &config.K8sCanaryRolloutStageOptions{}
		}
		var patches []Patch
		for _, p := range o.Patches {
			kp := Patch{Kind: p.Target.Kind, Name: p.Target.Name, DocumentRoot: p.Target.DocumentRoot}
			for _, op := range p.Ops {
				kp.Ops = append(kp.Ops, PatchOp{Op: op.Op, Path: op.Path, Value: op.Value})
			}
			patches = append(patches, kp)
		}
		return k.variant(ctx, st, k.Desired, k.Head, k.label().canary, cmpStr(o.Suffix, config.VariantCanary), o.Replicas, o.CreateService, patches)
	case config.StageK8sBaselineRollout:
		o, _ := with.(*config.K8sBaselineRolloutStageOptions)
		if o == nil {
			o = &config.K8sBaselineRolloutStageOptions{}
		}
		objs, commit := k.Desired, k.Head
		if k.Running != "" && k.RunningObjects != nil {
			var err error
			if objs, err = k.RunningObjects(ctx); err != nil {
				return fmt.Errorf("render the running commit %s: %w", short(k.Running), err)
			}
			commit = k.Running
		} else {
			st.Warnf("no successful deployment is recorded: the baseline runs the new commit's manifests")
		}
		return k.variant(ctx, st, objs, commit, k.label().baseline, cmpStr(o.Suffix, config.VariantBaseline), o.Replicas, o.CreateService, nil)
	case config.StageK8sCanaryClean:
		return k.clean(ctx, st, k.label().canary)
	case config.StageK8sBaselineClean:
		return k.clean(ctx, st, k.label().baseline)
	case config.StageK8sTrafficRouting:
		o, _ := with.(*config.K8sTrafficRoutingStageOptions)
		if o == nil {
			return errors.New("K8S_TRAFFIC_ROUTING needs options")
		}
		return k.route(ctx, st, o)
	}
	return fmt.Errorf("stage %s is not supported for a KubernetesApp", st.Plan.Name)
}

// primaryObjects returns copies of objs as the primary variant: workloads
// get the variant label in their pod template when traffic is routed
// (the Service or the Istio subsets must tell the variants apart) or when
// it is added to their selector (addVariantLabelToSelector); with routed,
// the Service selects the primary when traffic is routed by pod selector
// and the VirtualService is left out when Istio routes it (the routing
// stages own it);
// with primaryService a <name>-<suffix> Service selecting the primary is
// added.
func (k *Runner) primaryObjects(objs []*unstructured.Unstructured, toSelector, routed bool, primaryService string) ([]*unstructured.Unstructured, error) {
	l := k.label()
	refs := k.workloads()
	svc := FindService(objs, k.Spec.Service.Name)
	out := make([]*unstructured.Unstructured, 0, len(objs)+1)
	var vs *unstructured.Unstructured
	if routed && k.istioRouted() {
		vs = k.virtualService(objs)
	} else if routed && k.gatewayRouted() {
		vs = k.httpRoute(objs)
	}
	for _, u := range objs {
		if vs != nil && u == vs {
			continue // the traffic routing stages own it
		}
		c := u.DeepCopy()
		switch {
		case IsWorkload(u, refs) && (toSelector || k.podSelectorRouted() || k.istioRouted() || k.gatewayRouted()):
			if err := AddVariantLabel(c, l.key, l.primary, toSelector); err != nil {
				return nil, err
			}
		case routed && u == svc && (k.podSelectorRouted() || k.gatewayRouted()):
			if err := SetSelectorLabel(c, l.key, l.primary); err != nil {
				return nil, err
			}
		}
		out = append(out, c)
	}
	if primaryService != "" {
		if svc == nil {
			return nil, errors.New("createService: the manifests have no Service")
		}
		extra, err := VariantService(svc, primaryService, l.key, l.primary)
		if err != nil {
			return nil, err
		}
		out = append(out, extra)
	}
	return out, nil
}

// podSelectorRouted reports whether the pipeline routes traffic by the
// Service's pod selector.
func (k *Runner) podSelectorRouted() bool {
	return k.Spec.Pipeline.HasStage(config.StageK8sTrafficRouting) && k.Spec.TrafficRoutingMethod() == config.TrafficRoutingPodSelector
}

// rollout applies the head's manifests as the primary variant, prunes the
// primary objects no longer in Git when asked, and waits for readiness.
func (k *Runner) rollout(ctx context.Context, st *execute.Stage, toSelector, prune, primary bool, primaryService string) error {
	objs, err := k.primaryObjects(k.Desired, toSelector, primary, primaryService)
	if err != nil {
		return err
	}
	app := App{Namespaces: k.Namespaces, ID: k.AppID, CommitHash: k.Head}
	res, err := k.apply(ctx, st, objs, app)
	if err != nil {
		return err
	}
	if prune {
		desired := map[Key]bool{}
		for _, u := range objs {
			desired[manifest.KeyOf(u)] = true
		}
		if err := k.deleteLive(ctx, st, func(u *unstructured.Unstructured) bool {
			return VariantOf(u) == VariantPrimary && !desired[manifest.KeyOf(u)]
		}, desired); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
	}
	return k.wait(ctx, st, res, app)
}

// variant applies a canary or baseline variant of objs and waits for it.
func (k *Runner) variant(ctx context.Context, st *execute.Stage, objs []*unstructured.Unstructured, commit, value, suffix string,
	replicas config.Replicas, createService bool, patches []Patch) error {
	n, pct := replicas.Number, replicas.IsPercentage
	if n == 0 && !pct {
		n = 1
	}
	vobjs, err := Variant(objs, VariantSpec{Suffix: suffix, LabelKey: k.label().key, LabelValue: value,
		Replicas: n, Percent: pct, Workloads: k.workloads(), Service: k.Spec.Service.Name, CreateService: createService})
	if err != nil {
		return err
	}
	if err := ApplyPatches(vobjs, suffix, patches); err != nil {
		return err
	}
	app := App{Namespaces: k.Namespaces, ID: k.AppID, CommitHash: commit, Variant: value}
	res, err := k.apply(ctx, st, vobjs, app)
	if err != nil {
		return err
	}
	return k.wait(ctx, st, res, app)
}

// route switches the Service's selector to the variant receiving all the
// traffic (podselector); the other methods are not available.
func (k *Runner) route(ctx context.Context, st *execute.Stage, o *config.K8sTrafficRoutingStageOptions) error {
	p, c, b := o.Percentages()
	switch m := k.Spec.TrafficRoutingMethod(); m {
	case config.TrafficRoutingPodSelector:
	case config.TrafficRoutingIstio:
		return k.routeIstio(ctx, st, p, c, b)
	case config.TrafficRoutingGatewayAPI:
		return k.routeGatewayAPI(ctx, st, p, c, b)
	default:
		return fmt.Errorf("traffic routing by %s is not available in this version of pipe (podselector, istio and gatewayapi are)", m)
	}
	l := k.label()
	var to string
	switch {
	case p == 100:
		to = l.primary
	case c == 100:
		to = l.canary
	case b == 100:
		to = l.baseline
	default:
		return fmt.Errorf("podselector cannot split traffic (primary %d%%, canary %d%%, baseline %d%%)", p, c, b)
	}
	svc := FindService(k.Desired, k.Spec.Service.Name)
	if svc == nil {
		return errors.New("the manifests have no Service to route traffic with")
	}
	svc = svc.DeepCopy()
	if err := SetSelectorLabel(svc, l.key, to); err != nil {
		return err
	}
	st.SetMeta("primary", strconv.Itoa(p))
	st.SetMeta("canary", strconv.Itoa(c))
	st.SetMeta("baseline", strconv.Itoa(b))
	_, err := k.apply(ctx, st, []*unstructured.Unstructured{svc}, App{Namespaces: k.Namespaces, ID: k.AppID, CommitHash: k.Head})
	if err == nil {
		st.Emitf("Service %s now selects %s=%s", svc.GetName(), l.key, to)
	}
	return err
}

func (k *Runner) events(st *execute.Stage) Events {
	return func(ev Event) {
		if ev.Action == ActionUnchanged || (ev.Key == (Key{}) && strings.Contains(ev.Message, "deprecated")) {
			return // listing every type warns about deprecated ones: noise here
		}
		msg := string(ev.Action) + " " + ev.Key.Readable()
		if ev.Message != "" {
			msg += ": " + ev.Message
		}
		if ev.Action == ActionFailed || ev.Action == ActionWarning {
			st.Warnf("%s", msg)
		} else {
			st.Emitf("%s", msg)
		}
	}
}

func (k *Runner) apply(ctx context.Context, st *execute.Stage, objs []*unstructured.Unstructured, app App) (*Result, error) {
	opts := ApplyOptions{App: app, ForceConflicts: k.ForceConflicts, Events: k.events(st)}
	if k.Spec.Input.AutoCreateNamespace && k.Spec.Input.Namespace != "" {
		opts.CreateNamespace = k.Spec.Input.Namespace
	}
	res, err := k.Cluster.Apply(ctx, objs, opts)
	if res != nil {
		if st.Plan.Name == config.StageK8sSync {
			noteCounts(st, res, err)
		} else {
			st.SetMeta(MetaResources, joinKeys(res.Applied()))
		}
		_ = st.Checkpoint()
	}
	if err != nil {
		return res, fmt.Errorf("apply: %w", err)
	}
	return res, nil
}

// noteCounts notes in a K8S_SYNC stage's record what the apply did to
// the objects: how many were created, configured and unchanged, and which
// were not applied when it stopped.
func noteCounts(st *execute.Stage, res *Result, err error) {
	counts := map[Action]int{}
	for _, o := range res.Objects {
		counts[o.Action]++
	}
	st.SetMeta("objects", strconv.Itoa(len(res.Objects)))
	st.SetMeta("created", strconv.Itoa(counts[ActionCreated]))
	st.SetMeta("configured", strconv.Itoa(counts[ActionConfigured]+counts[ActionReplaced]+counts[ActionRecreated]))
	st.SetMeta("unchanged", strconv.Itoa(counts[ActionUnchanged]))
	if na := res.NotApplied(); err != nil && len(na) > 0 {
		st.SetMeta("notApplied", joinKeys(na))
	}
}

func (k *Runner) wait(ctx context.Context, st *execute.Stage, res *Result, app App) error {
	st.Emitf("applied %d objects; waiting for them to be ready", len(res.Objects))
	if err := k.Cluster.Wait(ctx, res.Applied(), WaitOptions{App: app, Events: k.events(st)}); err != nil {
		return fmt.Errorf("wait for readiness: %w", err)
	}
	return nil
}

func joinKeys(keys []Key) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = k.Readable()
	}
	sort.Strings(s)
	if len(s) > 30 {
		s = append(s[:30], fmt.Sprintf("… %d more", len(s)-30))
	}
	return strings.Join(s, ", ")
}

func cmpStr(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func short(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}
