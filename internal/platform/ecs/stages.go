package ecs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/state"
)

// Stage metadata keys of the ECS stages.
const (
	metaTaskDefinition = "taskDefinition"
	metaTaskSet        = "taskSet"
	metaCanaryTaskSet  = "canaryTaskSet"
	metaRouting        = "routing"
	metaListeners      = "listeners"
	metaService        = "service"
	metaTask           = "task"
)

// Target is an application as a commit describes it: its definitions and
// its config's input (target groups, access type, standalone task).
type Target struct {
	Defs  *Definitions
	Input config.ECSDeploymentInput
}

// Runner runs the stages of an ECSApp (execute.Platform): ECS_SYNC,
// ECS_CANARY_ROLLOUT, ECS_PRIMARY_ROLLOUT, ECS_TRAFFIC_ROUTING,
// ECS_CANARY_CLEAN and ROLLBACK, with the EXTERNAL deployment controller's
// task sets and the weights of the listener rules that forward to the two
// target groups.
type Runner struct {
	cl *client
	// Head is the application at the deployed commit (HeadHash).
	Head     Target
	HeadHash string
	// QuickSync are the options of the predefined ECS_SYNC stage.
	QuickSync config.ECSSyncStageOptions
	// Running loads the application at the last successful deployment's
	// commit (RunningHash); nil when there is none.
	Running     func(ctx context.Context) (Target, error)
	RunningHash string

	// prepared is what prepare last did in this run: the stages after the
	// first one of a commit reuse its task definition and service instead
	// of registering and applying them again.
	prepared *preparedCommit
}

type preparedCommit struct {
	hash string
	td   string
	svc  *types.Service
}

// RunStage implements execute.Platform.
func (r *Runner) RunStage(ctx context.Context, st *execute.Stage) error {
	r.cl.say = st.Emitf
	if r.Head.Defs.Missing != nil {
		return r.Head.Defs.Missing
	}
	switch st.Plan.Name {
	case config.StageECSSync:
		o := r.QuickSync
		if st.Config != nil {
			if w, ok := st.Config.With.(*config.ECSSyncStageOptions); ok && w != nil {
				o = *w
			}
		}
		if r.Head.Input.IsStandaloneTask() {
			return r.standalone(ctx, st)
		}
		return r.sync(ctx, st, o.Recreate)
	case config.StageECSCanaryRollout:
		scale := 0
		if st.Config != nil {
			if w, ok := st.Config.With.(*config.ECSCanaryRolloutStageOptions); ok && w != nil {
				scale = w.Scale.Number
			}
		}
		return r.canaryRollout(ctx, st, scale)
	case config.StageECSPrimaryRollout:
		return r.primaryRollout(ctx, st)
	case config.StageECSTrafficRouting:
		var o config.ECSTrafficRoutingStageOptions
		if st.Config != nil {
			if w, ok := st.Config.With.(*config.ECSTrafficRoutingStageOptions); ok && w != nil {
				o = *w
			}
		}
		p, c := o.Split()
		return r.routeTraffic(ctx, st, weights{Primary: int32(p), Canary: int32(c)})
	case config.StageECSCanaryClean:
		return r.canaryClean(ctx, st)
	}
	return fmt.Errorf("stage %s is not an ECS stage", st.Plan.Name)
}

// prepare registers the head's task definition and applies its service
// definition, noting both in the stage's metadata.
func (r *Runner) prepare(ctx context.Context, st *execute.Stage, t Target, hash string) (string, *types.Service, error) {
	if p := r.prepared; p != nil && p.hash == hash {
		// An earlier stage of this run registered and applied the same
		// commit's definitions.
		st.SetMeta(metaTaskDefinition, shortARN(p.td))
		st.SetMeta(metaService, deref(p.svc.ServiceName))
		return p.td, p.svc, st.Checkpoint()
	}
	r.prepared = nil
	older := 0
	if hash != r.HeadHash {
		// A rollback: the running commit's revision is likely registered.
		older = 5
	}
	td, err := r.cl.registerTaskDefinition(ctx, t.Defs.Task, hash, older)
	if err != nil {
		return "", nil, err
	}
	st.SetMeta(metaTaskDefinition, shortARN(td))
	svc, err := r.cl.applyService(ctx, t.Defs.Service, hash)
	if err != nil {
		return "", nil, err
	}
	st.SetMeta(metaService, deref(svc.ServiceName))
	r.prepared = &preparedCommit{hash: hash, td: td, svc: svc}
	return td, svc, st.Checkpoint()
}

func lb(tg *config.ECSTargetGroup) *types.LoadBalancer {
	if tg == nil {
		return nil
	}
	l := &types.LoadBalancer{ContainerName: aws.String(tg.ContainerName), ContainerPort: aws.Int32(int32(tg.ContainerPort))}
	if tg.TargetGroupArn != "" {
		l.TargetGroupArn = aws.String(tg.TargetGroupArn)
	}
	if tg.LoadBalancerName != "" {
		l.LoadBalancerName = aws.String(tg.LoadBalancerName)
	}
	return l
}

// sync deploys the head as the one primary task set (ECS_SYNC).
func (r *Runner) sync(ctx context.Context, st *execute.Stage, recreate bool) error {
	td, svc, err := r.prepare(ctx, st, r.Head, r.HeadHash)
	if err != nil {
		return err
	}
	desired := svc.DesiredCount
	if recreate {
		st.Emitf("recreate: scaling service %s to 0 tasks first", deref(svc.ServiceName))
		if err := r.cl.setDesiredCount(ctx, svc, 0); err != nil {
			return err
		}
	}
	if err := r.replacePrimary(ctx, st, svc, td, r.Head, r.HeadHash, "", nil); err != nil {
		return err
	}
	if recreate {
		st.Emitf("scaling service %s back to %d tasks", deref(svc.ServiceName), desired)
		if err := r.cl.setDesiredCount(ctx, svc, desired); err != nil {
			return err
		}
	}
	r.recordVersions(st, "primary", r.Head)
	return st.Checkpoint()
}

// replacePrimary creates a task set of td at 100% on the primary target
// group, waits for it, makes it the primary, runs then (when set: traffic
// back to the primary before the other task sets go) and deletes every
// other task set but keep.
func (r *Runner) replacePrimary(ctx context.Context, st *execute.Stage, svc *types.Service, td string, t Target, hash, keep string, then func() error) error {
	before, err := r.cl.taskSets(ctx, svc)
	if err != nil {
		return err
	}
	var primaryLB *types.LoadBalancer
	if t.Input.IsAccessedViaELB() {
		primaryLB = lb(t.Input.TargetGroups.Primary)
	}
	ts, err := r.cl.createTaskSet(ctx, svc, t.Defs.Service, td, primaryLB, 100, variantPrimary, hash)
	if err != nil {
		return err
	}
	st.SetMeta(metaTaskSet, shortARN(deref(ts.TaskSetArn)))
	if err := st.Checkpoint(); err != nil {
		return err
	}
	if err := r.cl.waitTaskSet(ctx, svc, deref(ts.TaskSetArn)); err != nil {
		return err
	}
	if err := r.cl.setPrimary(ctx, svc, deref(ts.TaskSetArn)); err != nil {
		return err
	}
	if then != nil {
		if err := then(); err != nil {
			return err
		}
	}
	for _, old := range before {
		arn := deref(old.TaskSetArn)
		if arn == deref(ts.TaskSetArn) || (keep != "" && arn == keep) {
			continue
		}
		if err := r.cl.deleteTaskSet(ctx, svc, arn); err != nil {
			return err
		}
	}
	return nil
}

// standalone registers the task definition and runs the task (ECS_SYNC of
// an application without a service definition).
func (r *Runner) standalone(ctx context.Context, st *execute.Stage) error {
	td, err := r.cl.registerTaskDefinition(ctx, r.Head.Defs.Task, r.HeadHash, 0)
	if err != nil {
		return err
	}
	st.SetMeta(metaTaskDefinition, shortARN(td))
	if !r.Head.Input.RunStandaloneTask {
		st.Emitf("runStandaloneTask is false: the task definition is registered, no task is run")
		return st.Checkpoint()
	}
	in := r.Head.Input
	var net *types.NetworkConfiguration
	if len(in.AwsVpcConfiguration.Subnets) > 0 {
		net = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: in.AwsVpcConfiguration.Subnets, SecurityGroups: in.AwsVpcConfiguration.SecurityGroups,
			AssignPublicIp: types.AssignPublicIp(in.AwsVpcConfiguration.AssignPublicIP)}}
	}
	if in.ClusterArn == "" {
		return errors.New("a standalone task needs input.clusterArn: the cluster the task runs in")
	}
	return r.cl.runTask(ctx, in.ClusterArn, td, types.LaunchType(in.LaunchType), net, r.HeadHash)
}

// canaryRollout creates the canary task set at scale percent
// (ECS_CANARY_ROLLOUT): on the canary target group (ELB), or without one
// (service discovery). It serves no traffic until ECS_TRAFFIC_ROUTING.
func (r *Runner) canaryRollout(ctx context.Context, st *execute.Stage, scale int) error {
	if scale <= 0 {
		return errors.New("ECS_CANARY_ROLLOUT needs with.scale, the canary's size in percent of the service's desired count")
	}
	td, svc, err := r.prepare(ctx, st, r.Head, r.HeadHash)
	if err != nil {
		return err
	}
	if prev := meta(st.Deployment.Record, metaCanaryTaskSet); prev != "" {
		// A resumed deployment: the canary of the interrupted attempt is
		// replaced.
		if err := r.cl.deleteTaskSet(ctx, svc, fullTaskSetARN(svc, prev)); err != nil {
			return err
		}
	}
	var canaryLB *types.LoadBalancer
	if r.Head.Input.IsAccessedViaELB() {
		canaryLB = lb(r.Head.Input.TargetGroups.Canary)
	}
	ts, err := r.cl.createTaskSet(ctx, svc, r.Head.Defs.Service, td, canaryLB, scale, variantCanary, r.HeadHash)
	if err != nil {
		return err
	}
	st.SetMeta(metaCanaryTaskSet, shortARN(deref(ts.TaskSetArn)))
	if err := st.Checkpoint(); err != nil {
		return err
	}
	if err := r.cl.waitTaskSet(ctx, svc, deref(ts.TaskSetArn)); err != nil {
		return err
	}
	st.Emitf("canary task set %s runs %d task(s) (%d%% of %d) and receives no traffic yet", shortARN(deref(ts.TaskSetArn)), scaleCount(svc.DesiredCount, scale), scale, svc.DesiredCount)
	r.recordVersions(st, "canary", r.Head)
	return st.Checkpoint()
}

// primaryRollout makes the head the primary task set at 100% on the
// primary target group (ECS_PRIMARY_ROLLOUT); the canary task set is kept
// until ECS_CANARY_CLEAN (PipeCD deletes it here, while the listeners may
// still send it traffic).
func (r *Runner) primaryRollout(ctx context.Context, st *execute.Stage) error {
	td, svc, err := r.prepare(ctx, st, r.Head, r.HeadHash)
	if err != nil {
		return err
	}
	keep := ""
	if c := meta(st.Deployment.Record, metaCanaryTaskSet); c != "" {
		keep = fullTaskSetARN(svc, c)
	}
	if err := r.replacePrimary(ctx, st, svc, td, r.Head, r.HeadHash, keep, nil); err != nil {
		return err
	}
	r.recordVersions(st, "primary", r.Head)
	return st.Checkpoint()
}

// routeTraffic sets the weights of the listener rules forwarding to the
// primary and canary target groups (ECS_TRAFFIC_ROUTING).
func (r *Runner) routeTraffic(ctx context.Context, st *execute.Stage, w weights) error {
	in := r.Head.Input
	if !in.IsAccessedViaELB() || in.TargetGroups.Primary == nil || in.TargetGroups.Canary == nil ||
		in.TargetGroups.Primary.TargetGroupArn == "" || in.TargetGroups.Canary.TargetGroupArn == "" {
		return errors.New("ECS_TRAFFIC_ROUTING needs accessType ELB and both input.targetGroups.primary and .canary with a targetGroupArn")
	}
	listeners, err := r.listeners(ctx, st, in)
	if err != nil {
		return err
	}
	changed, err := r.cl.route(ctx, listeners, in.TargetGroups.Primary.TargetGroupArn, in.TargetGroups.Canary.TargetGroupArn, w)
	if err != nil {
		return err
	}
	if len(changed) == 0 {
		return fmt.Errorf("no listener rule forwards to both target groups %s and %s: add a forward action with both to the listener (weights 100 and 0) so that pipe can shift traffic",
			shortARN(in.TargetGroups.Primary.TargetGroupArn), shortARN(in.TargetGroups.Canary.TargetGroupArn))
	}
	st.SetMeta(metaRouting, w.String())
	st.Emitf("traffic: primary %d%%, canary %d%% (%s)", w.Primary, w.Canary, strings.Join(changed, ", "))
	return st.Checkpoint()
}

// listeners are the listeners the deployment routes through: recorded by
// the first stage that looked them up, so that every stage and the
// rollback change the same ones.
func (r *Runner) listeners(ctx context.Context, st *execute.Stage, in config.ECSDeploymentInput) ([]string, error) {
	if v := meta(st.Deployment.Record, metaListeners); v != "" {
		return strings.Split(v, ","), nil
	}
	ls, err := r.cl.listeners(ctx, in.TargetGroups.Primary.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	st.SetMeta(metaListeners, strings.Join(ls, ","))
	return ls, nil
}

// canaryClean deletes the canary task set (ECS_CANARY_CLEAN).
func (r *Runner) canaryClean(ctx context.Context, st *execute.Stage) error {
	c := meta(st.Deployment.Record, metaCanaryTaskSet)
	if c == "" {
		st.Emitf("no canary task set was created: nothing to clean")
		return nil
	}
	var svc *types.Service
	if p := r.prepared; p != nil && p.hash == r.HeadHash {
		svc = p.svc
	} else {
		def := r.Head.Defs.Service
		s, err := r.cl.service(ctx, deref(def.ClusterArn), deref(def.ServiceName))
		if err != nil {
			return err
		}
		if s == nil {
			return fmt.Errorf("service %s does not exist", deref(def.ServiceName))
		}
		svc = s
	}
	if w, ok := r.routedToCanary(ctx, st); ok {
		st.Warnf("the listeners still send %d%% of the traffic to the canary target group; it goes nowhere once the canary is deleted: route it to the primary first (ECS_TRAFFIC_ROUTING primary: 100)", w.Canary)
	}
	return r.cl.deleteTaskSet(ctx, svc, fullTaskSetARN(svc, c))
}

// routedToCanary reports the deployment's last routing when it sends
// traffic to the canary.
func (r *Runner) routedToCanary(_ context.Context, st *execute.Stage) (weights, bool) {
	v := meta(st.Deployment.Record, metaRouting)
	var w weights
	if _, err := fmt.Sscanf(v, "primary=%d,canary=%d", &w.Primary, &w.Canary); err != nil {
		return w, false
	}
	return w, w.Canary > 0
}

// recordVersions notes the images a variant runs, for ANALYSIS templates
// ({{ .Variant.Version }}).
func (r *Runner) recordVersions(st *execute.Stage, variant string, t Target) {
	st.SetMeta(execute.MetaVariantVersion+variant, imageTags(t.Defs.Task))
}

// Rollback implements execute.Platform: the running commit's task
// definition and service definition again, a task set of it at 100% on
// the primary target group made primary, listener weights primary 100 /
// canary 0, every other task set deleted. Nothing is done when no ECS
// stage changed anything.
func (r *Runner) Rollback(ctx context.Context, st *execute.Stage) error {
	r.cl.say = st.Emitf
	rec := st.Deployment.Record
	if meta(rec, metaTaskDefinition) == "" {
		st.Emitf("no ECS stage had changed anything: nothing to roll back")
		return nil
	}
	if r.Head.Input.IsStandaloneTask() {
		st.Emitf("a standalone task that ran cannot be undone; the next deployment registers its task definition again")
		return nil
	}
	if r.Running == nil {
		st.Warnf("this was the first deployment of the service: there is no earlier version to go back to; its task sets are left as they are")
		return nil
	}
	prev, err := r.Running(ctx)
	if err == nil && prev.Defs.Missing != nil {
		err = prev.Defs.Missing
	}
	if err != nil {
		return fmt.Errorf("load the definitions of the running commit %s: %w", shortHash(r.RunningHash), err)
	}
	if prev.Defs.Service == nil {
		return fmt.Errorf("the running commit %s has no service definition", shortHash(r.RunningHash))
	}
	st.Emitf("rolling back to commit %s (%s)", shortHash(r.RunningHash), imageTags(prev.Defs.Task))
	td, svc, err := r.prepare(ctx, st, prev, r.RunningHash)
	if err != nil {
		return err
	}
	in := prev.Input
	canary := in.TargetGroups.Canary
	if canary == nil || canary.TargetGroupArn == "" {
		// The head may have added the canary target group.
		canary = r.Head.Input.TargetGroups.Canary
	}
	routeBack := func() error {
		if !in.IsAccessedViaELB() || in.TargetGroups.Primary == nil || in.TargetGroups.Primary.TargetGroupArn == "" || canary == nil || canary.TargetGroupArn == "" {
			return nil
		}
		listeners, err := r.listeners(ctx, st, in)
		if err != nil {
			return err
		}
		w := weights{Primary: 100, Canary: 0}
		changed, err := r.cl.route(ctx, listeners, in.TargetGroups.Primary.TargetGroupArn, canary.TargetGroupArn, w)
		if err != nil {
			return err
		}
		if len(changed) > 0 {
			st.SetMeta(metaRouting, w.String())
			st.Emitf("traffic: primary 100%%, canary 0%% (%s)", strings.Join(changed, ", "))
		}
		return nil
	}
	// The traffic goes back to the primary before the canary is deleted.
	if err := r.replacePrimary(ctx, st, svc, td, prev, r.RunningHash, "", routeBack); err != nil {
		return err
	}
	return st.Checkpoint()
}

// fullTaskSetARN turns a recorded task set ("task-set/cluster/service/ecs-svc/1")
// into its ARN in the service's account and region.
func fullTaskSetARN(svc *types.Service, short string) string {
	if strings.HasPrefix(short, "arn:") {
		return short
	}
	arn := deref(svc.ServiceArn)
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return short
	}
	return strings.Join(parts[:5], ":") + ":" + short
}

// imageTags names what a task definition runs: "web:1.2, envoy:1.29".
func imageTags(td types.TaskDefinition) string {
	var out []string
	for _, c := range td.ContainerDefinitions {
		img := deref(c.Image)
		out = append(out, img[strings.LastIndex(img, "/")+1:])
	}
	return strings.Join(out, ", ")
}

var _ = strconv.Itoa

// meta is the last value the deployment's stages noted under key
// (state.Record.StageMeta), "" when none did.
func meta(rec *state.Record, key string) string {
	v, _ := rec.StageMeta(key)
	return v
}
