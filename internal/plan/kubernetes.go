package plan

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
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

// decision is the strategy the rules chose and why.
type decision struct {
	strategy Strategy
	rule     Rule
	reason   string
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
	message := in.HeadMessage
	if message == "" {
		message = in.Head.Subject
	}
	d, err := decideKubernetes(in, message)
	if err != nil {
		return nil, err
	}
	autoRollback := spec.AutoRollbackEnabled(config.KindKubernetesApp)

	p := &Plan{
		SchemaVersion: SchemaVersion,
		App:           in.App,
		Head:          in.Head,
		Mode:          ModeOffline,
		CreatedAt:     in.Now,
		Strategy:      d.strategy,
		Reason:        d.reason,
		Rule:          d.rule,
		Version:       imageVersion(in.Desired, spec.Workloads),
		AutoRollback:  autoRollback,
	}
	p.App.Kind = kind
	if p.Head.Subject == "" {
		p.Head.Subject = Subject(message)
	}
	if in.Running != nil {
		c := in.Running.Commit
		p.Running = &c
	}
	sk := skipContext{message: message, files: in.ChangedFiles, filesKnown: in.ChangedFiles != nil}
	if d.strategy == StrategyPipeline {
		p.Stages = pipelineStages(spec.Pipeline, autoRollback, sk)
	} else {
		p.Stages = quickSyncStages(kind, autoRollback, &spec.QuickSync)
	}
	p.MinDuration, p.WaitsForApproval = timing(p.Stages)

	p.Changes = kubernetesChanges(in, p)
	prune := pruneOf(spec, d.strategy)
	for i := range p.Changes {
		if p.Changes[i].Action == ActionDelete && !prune {
			p.Changes[i].Note = "kept in the cluster: pruning is off (quickSync.prune, or prune of the pipeline's sync stage)"
		}
	}
	p.Summary = Summarize(p.Changes)

	p.Source = Fingerprint{HeadCommit: in.Head.Hash, Config: in.ConfigDigest, Desired: DesiredDigest(in.Desired)}
	if in.Live != nil {
		p.Source.Live = LiveDigest(in.Live.Objects)
	}
	return p, nil
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

// decideKubernetes applies the rules in order.
func decideKubernetes(in KubernetesInput, message string) (decision, error) {
	d, ok, err := decideCommon(in.Spec.Generic(), in.Strategy, in.Commander, message, quickSyncReasons{
		noPipeline:   "Quick sync by applying all manifests (no pipeline was configured)",
		commitPrefix: "Quick sync by applying all manifests",
	})
	if ok || err != nil {
		return d, err
	}
	if in.Running == nil || in.Running.Commit.Hash == "" {
		return decision{StrategyQuickSync, RuleFirstDeployment, "Quick sync by applying all manifests because it seems this is the first deployment"}, nil
	}
	return decideByDiff(in.Running.Objects, in.Desired, in.Spec.Workloads), nil
}

// quickSyncReasons are a kind's wordings of the quick sync decisions.
type quickSyncReasons struct {
	noPipeline   string
	commitPrefix string
}

// decideCommon applies the rules every kind shares, in PipeCD's order: the
// strategy forced by the command, no pipeline configured,
// planner.alwaysUsePipeline, then commitMatcher (unless triggered by a
// command). ok is false when none of them decided.
func decideCommon(spec *config.GenericApplicationSpec, strategy Strategy, commander, message string, quick quickSyncReasons) (d decision, ok bool, err error) {
	hasPipeline := spec.Pipeline != nil && len(spec.Pipeline.Stages) > 0
	switch strategy {
	case StrategyQuickSync:
		return decision{StrategyQuickSync, RuleForced, "Quick sync because it was forced with --strategy quick"}, true, nil
	case StrategyPipeline:
		if !hasPipeline {
			return decision{}, true, errors.New("unable to force sync with pipeline because no pipeline was specified")
		}
		return decision{StrategyPipeline, RuleForced, "Sync with the specified pipeline because it was forced with --strategy pipeline"}, true, nil
	case "":
	default:
		return decision{}, true, fmt.Errorf("unknown strategy %q", strategy)
	}
	if !hasPipeline {
		return decision{StrategyQuickSync, RuleNoPipeline, quick.noPipeline}, true, nil
	}
	if spec.Planner.AlwaysUsePipeline {
		return decision{StrategyPipeline, RuleAlwaysUsePipeline, "Sync with the specified pipeline (alwaysUsePipeline was set)"}, true, nil
	}
	if commander == "" {
		if p := spec.CommitMatcher.Pipeline; p != "" {
			re, err := regexp.Compile(p)
			if err != nil {
				return decision{}, true, fmt.Errorf("failed to compile commitMatcher.pipeline(%s): %w", p, err)
			}
			if re.MatchString(message) {
				return decision{StrategyPipeline, RuleCommitMatchPipeline, fmt.Sprintf("Sync progressively because the commit message was matching %q", p)}, true, nil
			}
		}
		if q := spec.CommitMatcher.QuickSync; q != "" {
			re, err := regexp.Compile(q)
			if err != nil {
				return decision{}, true, fmt.Errorf("failed to compile commitMatcher.quickSync(%s): %w", q, err)
			}
			if re.MatchString(message) {
				return decision{StrategyQuickSync, RuleCommitMatchQuickSync, fmt.Sprintf("%s because the commit message was matching %q", quick.commitPrefix, q)}, true, nil
			}
		}
	}
	return decision{}, false, nil
}

// sameObjects reports whether two desired states are equal once normalised.
func sameObjects(olds, news []Object) bool {
	om, nm := byKey(olds), byKey(news)
	if len(om) != len(nm) {
		return false
	}
	for k, o := range om {
		n, ok := nm[k]
		if !ok || !reflect.DeepEqual(normalize(o.Object), normalize(n.Object)) {
			return false
		}
	}
	return true
}
