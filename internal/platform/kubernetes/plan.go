package kubernetes

import (
	"errors"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/manifest"
	"github.com/gitops-pipe/pipe/internal/plan"
)

// planRevision is an application's desired state at a commit.
type planRevision struct {
	Commit  plan.Commit
	Objects []planObject
}

// kubernetesInput is everything the Kubernetes planner decides from.
type kubernetesInput struct {
	// Input is what the rules every kind shares read; its Running is
	// taken from RunningState.
	plan.Input
	Spec *config.KubernetesApplicationSpec
	// Desired is the head's rendered objects, in render order.
	Desired []planObject
	// RunningState is the last successful deployment's desired state,
	// rendered with its own app config; nil when none is recorded (the
	// first deployment).
	RunningState *planRevision
	// Base is compared with the head when there is no running deployment
	// (`pipe plan --base REV`); it does not change the strategy.
	Base *planRevision
	// Live, when set, makes a live plan: the changes compare the live
	// objects with the dry-run results instead of two commits.
	Live *liveState
}

// planKubernetes plans a deployment of a KubernetesApp. The strategy is
// decided by the first rule that applies, in PipeCD's order (plan.New
// applies the first four, the rules every kind shares):
//
//  1. forced by the command (--strategy);
//  2. no pipeline configured: quick sync;
//  3. planner.alwaysUsePipeline: pipeline;
//  4. commitMatcher.pipeline, then commitMatcher.quickSync, matching the
//     head commit message (unless triggered by a command);
//  5. no successful deployment recorded: quick sync (the first deployment);
//  6. then the desired state of the last successful deployment is compared
//     with the head's (see decideByDiff).
//
// The changes compare the head with the last successful deployment (or
// Base), or the live objects with the dry-run results for a live plan.
func planKubernetes(in kubernetesInput) (*plan.Plan, error) {
	spec := in.Spec
	if spec == nil {
		return nil, errors.New("no KubernetesApp spec")
	}
	kind := in.App.Kind
	if kind == "" {
		kind = string(config.KindKubernetesApp)
	}
	input := in.Input
	input.Spec, input.Running = spec.Generic(), nil
	if in.RunningState != nil {
		c := in.RunningState.Commit
		input.Running = &c
	}
	p, err := plan.New(input, plan.Kind{
		QuickSync:         plan.Stage{ID: "K8sSync", Name: config.StageK8sSync, Desc: "Sync by applying all manifests", Summary: spec.QuickSync.Describe()},
		AutoRollback:      spec.AutoRollbackEnabled(config.KindKubernetesApp),
		NoPipelineReason:  "Quick sync by applying all manifests (no pipeline was configured)",
		CommitMatchReason: "Quick sync by applying all manifests",
		Decide: func() (plan.Decision, error) {
			if in.RunningState == nil || in.RunningState.Commit.Hash == "" {
				return plan.Decision{Strategy: plan.StrategyQuickSync, Rule: plan.RuleFirstDeployment, Reason: "Quick sync by applying all manifests because it seems this is the first deployment"}, nil
			}
			return decideByDiff(in.RunningState.Objects, in.Desired, spec.Workloads), nil
		},
	})
	if err != nil {
		return nil, err
	}
	p.App.Kind = kind
	p.Version = imageVersion(in.Desired, spec.Workloads)
	p.Changes = kubernetesChanges(in, p)
	prune := pruneOf(spec, p.Strategy)
	for i := range p.Changes {
		if p.Changes[i].Action == plan.ActionDelete && !prune {
			p.Changes[i].Note = "kept in the cluster: pruning is off (quickSync.prune, or prune of the pipeline's sync stage)"
		}
	}
	p.Summary = plan.Summarize(p.Changes)
	p.Source.Desired = desiredDigest(in.Desired)
	if in.Live != nil {
		p.Source.Live = liveDigest(in.Live.Objects)
	}
	return p, nil
}

// pruneOf reports whether the sync that the stages run deletes objects no
// longer in Git: quickSync.prune for quick sync, the prune option of a
// K8S_SYNC or K8S_PRIMARY_ROLLOUT stage of the pipeline.
func pruneOf(spec *config.KubernetesApplicationSpec, s plan.Strategy) bool {
	if s == plan.StrategyQuickSync {
		return spec.QuickSync.Prune
	}
	if spec.Pipeline == nil {
		return false
	}
	for _, st := range spec.Pipeline.Stages {
		switch o := st.With.(type) {
		case *config.K8sSyncStageOptions:
			if o.Prune {
				return true
			}
		case *config.K8sPrimaryRolloutStageOptions:
			if o.Prune {
				return true
			}
		}
	}
	return false
}

// kubernetesChanges computes the plan's changes and sets its mode and base.
func kubernetesChanges(in kubernetesInput, p *plan.Plan) []plan.Change {
	head := "head " + in.Head.Short()
	if in.Live != nil {
		p.Mode = plan.ModeLive
		dry := byKey(in.Live.DryRun)
		live := byKey(in.Live.Objects)
		// Objects that exist are compared as the server would store them;
		// objects to create are shown as written.
		to := make([]planObject, 0, len(in.Desired))
		for _, o := range in.Desired {
			if d, ok := dry[o.Key]; ok && live[o.Key].Object != nil {
				d.Source = o.Source
				o = d
			}
			to = append(to, o)
		}
		return diffObjects(in.Live.Objects, to, diffOptions{From: "live", To: head + ", server dry run"})
	}
	base := in.RunningState
	from := "last deployed"
	if base == nil {
		base, from = in.Base, "base"
	}
	if base == nil {
		return diffObjects(nil, in.Desired, diffOptions{From: "none", To: head})
	}
	c := base.Commit
	p.Base = &c
	return diffObjects(base.Objects, in.Desired, diffOptions{From: from + " " + c.Short(), To: head})
}

// sameState reports whether two desired states are equal once normalised
// (manifest.Normalize, manifest.EqualInOrder).
func sameState(olds, news []planObject) bool {
	om, nm := byKey(olds), byKey(news)
	if len(om) != len(nm) {
		return false
	}
	for k, o := range om {
		n, ok := nm[k]
		if !ok || !manifest.EqualInOrder(manifest.Normalize(o.Object), manifest.Normalize(n.Object)) {
			return false
		}
	}
	return true
}
