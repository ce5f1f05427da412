package plan

import (
	"errors"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/manifest"
)

// Revision is an application's desired state at a commit.
type Revision struct {
	Commit  Commit
	Objects []Object
}

// KubernetesInput is everything the Kubernetes planner decides from.
type KubernetesInput struct {
	App  App
	Spec *config.KubernetesApplicationSpec
	// Head is the commit being deployed; HeadMessage its full message
	// (commitMatcher and skipOn.commitMessagePrefixes match it; the
	// subject is used when it is empty).
	Head        Commit
	HeadMessage string
	// Desired is the head's rendered objects, in render order.
	Desired []Object
	// Running is the last successful deployment, from the deployment
	// records; nil when none is recorded (the first deployment).
	Running *Revision
	// Base is compared with the head when Running is nil (`pipe plan
	// --base REV`); it does not change the strategy.
	Base *Revision
	// Live, when set, makes a live plan: the changes compare the live
	// objects with the dry-run results instead of two commits.
	Live *Live
	// Strategy forces the strategy (`--strategy quick|pipeline`); empty
	// lets the planner decide.
	Strategy Strategy
	// Commander is who triggered the deployment by hand (a command rather
	// than a commit); commitMatcher is ignored then, as PipeCD ignores it
	// for deployments triggered from the console or pipectl.
	Commander string
	// ChangedFiles are the files changed between the running and the head
	// commit, for skipOn.paths; nil when unknown (paths are not evaluated).
	ChangedFiles []string
	// ConfigDigest fingerprints the application config (ConfigDigest).
	ConfigDigest string
	// Now is when the plan is made.
	Now time.Time
}

// PlanKubernetes plans a deployment of a KubernetesApp. The strategy is
// decided by the first rule that applies, in PipeCD's order:
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
func PlanKubernetes(in KubernetesInput) (*Plan, error) {
	spec := in.Spec
	if spec == nil {
		return nil, errors.New("no KubernetesApp spec")
	}
	kind := in.App.Kind
	if kind == "" {
		kind = string(config.KindKubernetesApp)
	}
	var running *Commit
	if in.Running != nil {
		c := in.Running.Commit
		running = &c
	}
	p, err := New(Input{
		App: in.App, Spec: spec.Generic(), Head: in.Head, HeadMessage: in.HeadMessage, Running: running,
		Strategy: in.Strategy, Commander: in.Commander, ChangedFiles: in.ChangedFiles, ConfigDigest: in.ConfigDigest, Now: in.Now,
	}, Kind{
		QuickSync:         Stage{ID: "K8sSync", Name: config.StageK8sSync, Desc: "Sync by applying all manifests", Summary: spec.QuickSync.Describe()},
		AutoRollback:      spec.AutoRollbackEnabled(config.KindKubernetesApp),
		NoPipelineReason:  "Quick sync by applying all manifests (no pipeline was configured)",
		CommitMatchReason: "Quick sync by applying all manifests",
		Decide: func() (Decision, error) {
			if in.Running == nil || in.Running.Commit.Hash == "" {
				return Decision{StrategyQuickSync, RuleFirstDeployment, "Quick sync by applying all manifests because it seems this is the first deployment"}, nil
			}
			return decideByDiff(in.Running.Objects, in.Desired, spec.Workloads), nil
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
		if p.Changes[i].Action == ActionDelete && !prune {
			p.Changes[i].Note = "kept in the cluster: pruning is off (quickSync.prune, or prune of the pipeline's sync stage)"
		}
	}
	p.Summary = Summarize(p.Changes)
	p.Source.Desired = DesiredDigest(in.Desired)
	if in.Live != nil {
		p.Source.Live = LiveDigest(in.Live.Objects)
	}
	return p, nil
}

// pruneOf reports whether the sync that the stages run deletes objects no
// longer in Git: quickSync.prune for quick sync, the prune option of a
// K8S_SYNC or K8S_PRIMARY_ROLLOUT stage of the pipeline.
func pruneOf(spec *config.KubernetesApplicationSpec, s Strategy) bool {
	if s == StrategyQuickSync {
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
func kubernetesChanges(in KubernetesInput, p *Plan) []Change {
	head := "head " + in.Head.Short()
	if in.Live != nil {
		p.Mode = ModeLive
		dry := byKey(in.Live.DryRun)
		live := byKey(in.Live.Objects)
		// Objects that exist are compared as the server would store them;
		// objects to create are shown as written.
		to := make([]Object, 0, len(in.Desired))
		for _, o := range in.Desired {
			if d, ok := dry[o.Key]; ok && live[o.Key].Object != nil {
				d.Source = o.Source
				o = d
			}
			to = append(to, o)
		}
		return DiffObjects(in.Live.Objects, to, DiffOptions{From: "live", To: head + ", server dry run"})
	}
	base := in.Running
	from := "last deployed"
	if base == nil {
		base, from = in.Base, "base"
	}
	if base == nil {
		return DiffObjects(nil, in.Desired, DiffOptions{From: "none", To: head})
	}
	c := base.Commit
	p.Base = &c
	return DiffObjects(base.Objects, in.Desired, DiffOptions{From: from + " " + c.Short(), To: head})
}

// sameObjects reports whether two desired states are equal once normalised
// (manifest.Normalize, manifest.EqualInOrder).
func sameObjects(olds, news []Object) bool {
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
