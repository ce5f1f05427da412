package lambda

import (
	"context"
	"errors"
	"fmt"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
)

// Stage metadata keys of the Lambda stages.
const (
	// metaRoutingBefore is the alias routing before the deployment changed
	// anything (routing.String), written by the first Lambda stage before
	// its first change: ROLLBACK restores it.
	metaRoutingBefore = "routingBefore"
	// metaVersion is the version a LAMBDA_SYNC or LAMBDA_CANARY_ROLLOUT
	// published; LAMBDA_PROMOTE routes traffic to it.
	metaVersion = "version"
	// metaRouting is the routing a stage set.
	metaRouting = "routing"
	// metaFunction names the function.
	metaFunction = "function"
)

// Target is a function as a deployment wants it: its configuration and
// its code.
type Target struct {
	Config fnConfig
	Code   code
	// Source is the function manifest (file path) it was read from.
	Source string
	// File and Positions locate the manifest's fields (config's field
	// paths, "spec.environments.KEY").
	File      string
	Positions map[string]config.Pos
	// Missing says that the function manifest does not exist (Config and
	// Code are empty then).
	Missing error
}

// Runner runs the stages of a LambdaApp (execute.Platform):
// LAMBDA_SYNC (update, publish, all traffic to the new version),
// LAMBDA_CANARY_ROLLOUT (update and publish, no traffic),
// LAMBDA_PROMOTE (a percentage of the traffic to the new version) and
// ROLLBACK (the running commit's code and configuration, the routing from
// before the deployment).
type Runner struct {
	fns *functions
	// Head is the function at the deployed commit.
	Head Target
	// Running loads the function at the last successful deployment's
	// commit; nil when there is none (the first deployment).
	Running func(ctx context.Context) (Target, error)
	// RunningHash is that commit.
	RunningHash string
	// resolve readies code for AWS (fetches and zips Git sources).
	resolve func(ctx context.Context, c code) (*zipped, error)
	// head is Head's code once resolved.
	head *zipped
}

// RunStage implements execute.Platform.
func (r *Runner) RunStage(ctx context.Context, st *execute.Stage) error {
	if r.Head.Missing != nil {
		return r.Head.Missing
	}
	st.SetMeta(metaFunction, r.Head.Config.Name)
	switch st.Plan.Name {
	case config.StageLambdaSync:
		version, err := r.rollout(ctx, st)
		if err != nil {
			return err
		}
		return r.setRouting(ctx, st, routing{Primary: version})
	case config.StageLambdaCanaryRollout:
		version, err := r.rollout(ctx, st)
		if err != nil {
			return err
		}
		// ANALYSIS compares the canary's version with the primary's
		// ({{ .Variant.Version }}: CloudWatch's ExecutedVersion).
		st.SetMeta(execute.MetaVariantVersion+"canary", version)
		if text, ok := st.Deployment.Record.StageMeta(metaRoutingBefore); ok {
			if before, err := parseRouting(text); err == nil && before != nil {
				st.SetMeta(execute.MetaVariantVersion+"primary", before.Primary)
			}
		}
		st.Emitf("version %s of %s is ready and receives no traffic yet", version, r.Head.Config.Name)
		return st.Checkpoint()
	case config.StageLambdaPromote:
		percent := 0
		if st.Config != nil {
			if o, ok := st.Config.With.(*config.LambdaPromoteStageOptions); ok && o != nil {
				percent = o.Percent.Number
			}
		}
		return r.promote(ctx, st, percent)
	}
	return fmt.Errorf("stage %s is not a Lambda stage", st.Plan.Name)
}

// rollout records the routing before the deployment (once), brings
// $LATEST to the head and publishes a version of it.
func (r *Runner) rollout(ctx context.Context, st *execute.Stage) (string, error) {
	name := r.Head.Config.Name
	if err := r.recordRoutingBefore(ctx, st); err != nil {
		return "", err
	}
	if r.head == nil {
		z, err := r.resolve(ctx, r.Head.Code)
		if err != nil {
			return "", err
		}
		r.head = z
	}
	r.fns.say = st.Emitf
	changed, err := r.fns.ensure(ctx, r.Head.Config, r.head)
	if err != nil {
		return "", err
	}
	if !changed {
		st.Emitf("function %s already has the code and configuration of this commit", name)
	}
	version, err := r.fns.publish(ctx, name)
	if err != nil {
		return "", err
	}
	st.SetMeta(metaVersion, version)
	st.Emitf("published version %s of %s (%s)", version, name, r.Head.Code.Version())
	return version, st.Checkpoint()
}

// recordRoutingBefore writes the alias routing into the stage's metadata
// unless an earlier stage of the deployment did, and checkpoints it
// before anything changes: ROLLBACK restores it, whichever stage fails.
func (r *Runner) recordRoutingBefore(ctx context.Context, st *execute.Stage) error {
	if _, ok := st.Deployment.Record.StageMeta(metaRoutingBefore); ok {
		return nil
	}
	cur, err := r.fns.alias(ctx, r.Head.Config.Name)
	if err != nil {
		return err
	}
	st.SetMeta(metaRoutingBefore, cur.String())
	return st.Checkpoint()
}

// promote routes percent of the traffic to the version the canary rollout
// published, the rest to the version that was primary before the
// deployment.
func (r *Runner) promote(ctx context.Context, st *execute.Stage, percent int) error {
	name := r.Head.Config.Name
	version, _ := st.Deployment.Record.StageMeta(metaVersion)
	if version == "" {
		return errors.New("no version to promote: LAMBDA_PROMOTE needs a LAMBDA_CANARY_ROLLOUT before it in the pipeline")
	}
	if percent < 0 || percent > 100 {
		return fmt.Errorf("LAMBDA_PROMOTE percent %d is out of 0..100", percent)
	}
	beforeText, ok := st.Deployment.Record.StageMeta(metaRoutingBefore)
	if !ok {
		// Written by the rollout; a record from before it was kept.
		cur, err := r.fns.alias(ctx, name)
		if err != nil {
			return err
		}
		beforeText = cur.String()
	}
	before, err := parseRouting(beforeText)
	if err != nil {
		return fmt.Errorf("the deployment record's routing before the deployment: %w", err)
	}
	var want routing
	switch {
	case percent == 100:
		want = routing{Primary: version}
	case before == nil:
		return fmt.Errorf("function %s has no alias %s yet (its first deployment), so its traffic cannot be split: promote with percent: 100, or deploy it once with a quick sync", name, AliasName)
	case before.Primary == version:
		st.Emitf("version %s already was the primary version: nothing to split", version)
		want = routing{Primary: version}
	default:
		want = routing{Primary: before.Primary, Secondary: version, Weight: float64(percent) / 100}
	}
	return r.setRouting(ctx, st, want)
}

func (r *Runner) setRouting(ctx context.Context, st *execute.Stage, want routing) error {
	r.fns.say = st.Emitf
	if err := r.fns.route(ctx, r.Head.Config.Name, want); err != nil {
		return err
	}
	st.SetMeta(metaRouting, want.String())
	st.Emitf("alias %s of %s: %s", AliasName, r.Head.Config.Name, want.Describe())
	return st.Checkpoint()
}

// Rollback implements execute.Platform: the function's $LATEST gets the
// running commit's code and configuration back, and the alias the
// routing recorded before the deployment. When no Lambda stage had
// changed anything (the deployment failed before), there is nothing to
// restore.
func (r *Runner) Rollback(ctx context.Context, st *execute.Stage) error {
	name := r.Head.Config.Name
	st.SetMeta(metaFunction, name)
	r.fns.say = st.Emitf
	beforeText, recorded := st.Deployment.Record.StageMeta(metaRoutingBefore)
	if !recorded {
		st.Emitf("no Lambda stage had changed function %s: nothing to roll back", name)
		return nil
	}
	if r.Running == nil {
		st.Warnf("this was the first deployment of %s: there is no earlier version to go back to; the function is left as the deployment left it", name)
		return nil
	}
	prev, err := r.Running(ctx)
	if err != nil {
		return fmt.Errorf("load the function of the running commit %s: %w", short(r.RunningHash), err)
	}
	z, err := r.resolve(ctx, prev.Code)
	if err != nil {
		return err
	}
	st.Emitf("restoring the code and configuration of %s at commit %s (%s)", name, short(r.RunningHash), prev.Code.Version())
	if _, err := r.fns.ensure(ctx, prev.Config, z); err != nil {
		return err
	}
	before, err := parseRouting(beforeText)
	if err != nil {
		return fmt.Errorf("the deployment record's routing before the deployment: %w", err)
	}
	if before == nil {
		// The alias did not exist before: it routes to the restored code.
		version, err := r.fns.publish(ctx, name)
		if err != nil {
			return err
		}
		before = &routing{Primary: version}
	}
	if err := r.fns.route(ctx, name, *before); err != nil {
		return err
	}
	st.SetMeta(metaRouting, before.String())
	st.Emitf("alias %s of %s restored: %s", AliasName, name, before.Describe())
	return nil
}

func short(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}
