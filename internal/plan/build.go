package plan

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
)

// Input is what the plan of an application is made from, whatever its
// kind: the application, the commits, and what the strategy rules read.
type Input struct {
	App App
	// Spec is the application's config at the head.
	Spec *config.GenericApplicationSpec
	// Head is the commit being deployed; HeadMessage its full message
	// (commitMatcher and skipOn.commitMessagePrefixes match it; the
	// subject is used when it is empty).
	Head        Commit
	HeadMessage string
	// Running is the commit of the last successful deployment; nil when
	// none is recorded (the first deployment).
	Running *Commit
	// Strategy forces the strategy (`--strategy quick|pipeline`); empty
	// lets the rules decide.
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

// Kind is what a platform kind brings to the rules every kind shares.
type Kind struct {
	// QuickSync is the kind's quick sync stage (PipeCD's predefined stage,
	// e.g. K8sSync / K8S_SYNC); Index, Predefined and Rollback are set by
	// the planner.
	QuickSync Stage
	// AutoRollback says whether the kind rolls a failed deployment back
	// (spec.autoRollback, with the kind's default).
	AutoRollback bool
	// NoPipelineReason and CommitMatchReason word the quick sync decisions
	// of the shared rules in the kind's terms ("Quick sync by applying all
	// manifests"); CommitMatchReason is followed by the matching pattern.
	NoPipelineReason, CommitMatchReason string
	// Decide applies the kind's own rules, once the shared ones decided
	// nothing; nil means the pipeline ("Sync with the specified
	// pipeline"), as for kinds whose changes are always reviewed.
	Decide func() (Decision, error)
}

// Decision is a strategy chosen by a rule, and why.
type Decision struct {
	Strategy Strategy
	Rule     Rule
	// Reason says it for people, in PipeCD's words.
	Reason string
}

// New decides the strategy of a deployment and lays out its stages. The
// first rule that applies decides, in PipeCD's order:
//
//  1. forced by the command (--strategy);
//  2. no pipeline configured: quick sync;
//  3. planner.alwaysUsePipeline: pipeline;
//  4. commitMatcher.pipeline, then commitMatcher.quickSync, matching the
//     head commit message (unless triggered by a command);
//  5. the kind's own rules (Kind.Decide).
//
// The plan it returns has no changes: the platform fills Changes,
// Summary, Mode and the fingerprint of its desired state.
func New(in Input, k Kind) (*Plan, error) {
	if in.Spec == nil {
		return nil, errors.New("no application spec")
	}
	message := in.HeadMessage
	if message == "" {
		message = in.Head.Subject
	}
	d, err := decide(in, k, message)
	if err != nil {
		return nil, err
	}
	p := &Plan{
		SchemaVersion: SchemaVersion,
		App:           in.App,
		Head:          in.Head,
		Running:       in.Running,
		Mode:          ModeOffline,
		CreatedAt:     in.Now,
		Strategy:      d.Strategy,
		Reason:        d.Reason,
		Rule:          d.Rule,
		AutoRollback:  k.AutoRollback,
		Changes:       []Change{},
	}
	if p.Head.Subject == "" {
		p.Head.Subject = Subject(message)
	}
	sk := skipContext{message: message, files: in.ChangedFiles, filesKnown: in.ChangedFiles != nil}
	if d.Strategy == StrategyPipeline {
		p.Stages = pipelineStages(in.Spec.Pipeline, k.AutoRollback, sk)
	} else {
		p.Stages = quickSyncStages(k.QuickSync, k.AutoRollback)
	}
	p.MinDuration, p.WaitsForApproval = timing(p.Stages)
	p.Source = Fingerprint{HeadCommit: in.Head.Hash, Config: in.ConfigDigest}
	return p, nil
}

func decide(in Input, k Kind, message string) (Decision, error) {
	spec := in.Spec
	hasPipeline := spec.Pipeline != nil && len(spec.Pipeline.Stages) > 0
	switch in.Strategy {
	case StrategyQuickSync:
		return Decision{StrategyQuickSync, RuleForced, "Quick sync because it was forced with --strategy quick"}, nil
	case StrategyPipeline:
		if !hasPipeline {
			return Decision{}, errors.New("unable to force sync with pipeline because no pipeline was specified")
		}
		return Decision{StrategyPipeline, RuleForced, "Sync with the specified pipeline because it was forced with --strategy pipeline"}, nil
	case "":
	default:
		return Decision{}, fmt.Errorf("unknown strategy %q", in.Strategy)
	}
	if !hasPipeline {
		return Decision{StrategyQuickSync, RuleNoPipeline, k.NoPipelineReason}, nil
	}
	if spec.Planner.AlwaysUsePipeline {
		return Decision{StrategyPipeline, RuleAlwaysUsePipeline, "Sync with the specified pipeline (alwaysUsePipeline was set)"}, nil
	}
	if in.Commander == "" {
		if p := spec.CommitMatcher.Pipeline; p != "" {
			re, err := regexp.Compile(p)
			if err != nil {
				return Decision{}, fmt.Errorf("failed to compile commitMatcher.pipeline(%s): %w", p, err)
			}
			if re.MatchString(message) {
				return Decision{StrategyPipeline, RuleCommitMatchPipeline, fmt.Sprintf("Sync progressively because the commit message was matching %q", p)}, nil
			}
		}
		if q := spec.CommitMatcher.QuickSync; q != "" {
			re, err := regexp.Compile(q)
			if err != nil {
				return Decision{}, fmt.Errorf("failed to compile commitMatcher.quickSync(%s): %w", q, err)
			}
			if re.MatchString(message) {
				return Decision{StrategyQuickSync, RuleCommitMatchQuickSync, fmt.Sprintf("%s because the commit message was matching %q", k.CommitMatchReason, q)}, nil
			}
		}
	}
	if k.Decide == nil {
		return Decision{StrategyPipeline, RuleOtherChange, "Sync with the specified pipeline"}, nil
	}
	return k.Decide()
}
