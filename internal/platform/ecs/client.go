package ecs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/gitops-pipe/pipe/internal/ctxtime"
	"github.com/gitops-pipe/pipe/internal/redact"
)

// Tags pipe puts on what it creates.
const (
	tagManagedBy  = "pipe.dev/managed-by"
	tagDigest     = "pipe.dev/definition-digest"
	tagCommit     = "pipe.dev/commit"
	tagVariant    = "pipe.dev/variant"
	managedByPipe = "pipe"
)

// Variants of a service's task sets.
const (
	variantPrimary = "primary"
	variantCanary  = "canary"
)

// client makes the ECS and ELB calls of a deployment.
type client struct {
	ecs *ecs.Client
	elb *elb.Client
	// poll is the first interval between reads while waiting; it doubles
	// up to 5s.
	poll time.Duration
	say  func(format string, args ...any)
}

func (c *client) narrate(format string, args ...any) {
	if c.say != nil {
		c.say(format, args...)
	}
}

// registerTaskDefinition registers td unless the family's latest revision
// was registered by pipe from the same definition (its digest tag), and
// returns the revision's ARN.
//
// With older > 0 (a rollback), that many earlier ACTIVE revisions are
// looked at too: the running commit's revision is reused rather than
// registered again.
func (c *client) registerTaskDefinition(ctx context.Context, td types.TaskDefinition, commit string, older int) (string, error) {
	family := deref(td.Family)
	digest := taskDigest(td)
	if older > 0 {
		if arn, err := c.findRegistered(ctx, family, digest, older); err != nil {
			return "", err
		} else if arn != "" {
			c.narrate("task definition %s is already registered (%s)", family, shortARN(arn))
			return arn, nil
		}
	}
	out, err := c.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(family), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err == nil && out.TaskDefinition != nil && out.TaskDefinition.Status == types.TaskDefinitionStatusActive {
		for _, t := range out.Tags {
			if deref(t.Key) == tagDigest && deref(t.Value) == digest {
				arn := deref(out.TaskDefinition.TaskDefinitionArn)
				c.narrate("task definition %s is already registered (%s)", family, shortARN(arn))
				return arn, nil
			}
		}
	} else if err != nil && !isCode(err, "ClientException", "InvalidParameterException") {
		return "", apiError("DescribeTaskDefinition", "task definition "+family, err)
	}
	in := &ecs.RegisterTaskDefinitionInput{
		Family:                  td.Family,
		ContainerDefinitions:    td.ContainerDefinitions,
		RequiresCompatibilities: td.RequiresCompatibilities,
		ExecutionRoleArn:        td.ExecutionRoleArn,
		TaskRoleArn:             td.TaskRoleArn,
		NetworkMode:             td.NetworkMode,
		Volumes:                 td.Volumes,
		RuntimePlatform:         td.RuntimePlatform,
		EphemeralStorage:        td.EphemeralStorage,
		Cpu:                     td.Cpu,
		Memory:                  td.Memory,
		InferenceAccelerators:   td.InferenceAccelerators,
		IpcMode:                 td.IpcMode,
		PidMode:                 td.PidMode,
		PlacementConstraints:    td.PlacementConstraints,
		ProxyConfiguration:      td.ProxyConfiguration,
		Tags: []types.Tag{
			{Key: aws.String(tagManagedBy), Value: aws.String(managedByPipe)},
			{Key: aws.String(tagDigest), Value: aws.String(digest)},
			{Key: aws.String(tagCommit), Value: aws.String(commit)},
		},
	}
	reg, err := c.ecs.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return "", apiError("RegisterTaskDefinition", "task definition "+family, err)
	}
	arn := deref(reg.TaskDefinition.TaskDefinitionArn)
	c.narrate("registered task definition %s", shortARN(arn))
	return arn, nil
}

// findRegistered looks for a revision pipe registered from the same
// definition among the family's n latest ACTIVE ones.
func (c *client) findRegistered(ctx context.Context, family, digest string, n int) (string, error) {
	list, err := c.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family),
		Status: types.TaskDefinitionStatusActive, Sort: types.SortOrderDesc, MaxResults: aws.Int32(int32(n))})
	if err != nil {
		return "", apiError("ListTaskDefinitions", "task definition "+family, err)
	}
	for _, arn := range list.TaskDefinitionArns {
		if !strings.Contains(arn, ":task-definition/"+family+":") {
			continue
		}
		out, err := c.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
		if err != nil {
			return "", apiError("DescribeTaskDefinition", shortARN(arn), err)
		}
		for _, t := range out.Tags {
			if deref(t.Key) == tagDigest && deref(t.Value) == digest {
				return arn, nil
			}
		}
	}
	return "", nil
}

// taskDigest fingerprints what a task definition registers.
func taskDigest(td types.TaskDefinition) string {
	td.TaskDefinitionArn, td.Revision, td.Status, td.RegisteredAt, td.RegisteredBy = nil, 0, "", nil, nil
	b, _ := json.Marshal(td)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// service reads a service; nil when it does not exist (or is INACTIVE).
func (c *client) service(ctx context.Context, cluster, name string) (*types.Service, error) {
	out, err := c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}, Include: []types.ServiceField{types.ServiceFieldTags}})
	if err != nil {
		return nil, apiError("DescribeServices", "service "+name, err)
	}
	for i := range out.Services {
		if s := &out.Services[i]; deref(s.Status) != "INACTIVE" {
			return s, nil
		}
	}
	return nil, nil
}

// applyService creates the service, or updates what ECS lets an EXTERNAL
// service update (desiredCount only when the definition sets it: 0 or
// unset leaves it to autoscaling), and its tags.
func (c *client) applyService(ctx context.Context, def *ServiceDef, commit string) (*types.Service, error) {
	cluster, name := deref(def.ClusterArn), deref(def.ServiceName)
	cur, err := c.service(ctx, cluster, name)
	if err != nil {
		return nil, err
	}
	tags := withTags(def.Tags, map[string]string{tagManagedBy: managedByPipe, tagCommit: commit})
	if cur == nil {
		c.narrate("creating service %s in %s", name, shortARN(cluster))
		out, err := c.ecs.CreateService(ctx, &ecs.CreateServiceInput{
			Cluster:                       def.ClusterArn,
			ServiceName:                   def.ServiceName,
			DesiredCount:                  aws.Int32(def.DesiredCount),
			DeploymentController:          def.DeploymentController,
			DeploymentConfiguration:       def.DeploymentConfiguration,
			EnableECSManagedTags:          def.EnableECSManagedTags,
			EnableExecuteCommand:          def.EnableExecuteCommand,
			HealthCheckGracePeriodSeconds: def.HealthCheckGracePeriodSeconds,
			PlacementConstraints:          def.PlacementConstraints,
			PlacementStrategy:             def.PlacementStrategy,
			PlatformVersion:               def.PlatformVersion,
			PropagateTags:                 def.PropagateTags,
			Role:                          def.RoleArn,
			SchedulingStrategy:            def.SchedulingStrategy,
			Tags:                          tags,
		})
		if err != nil {
			return nil, apiError("CreateService", "service "+name, err)
		}
		return out.Service, nil
	}
	// For the EXTERNAL controller, ECS updates only these (the rest is
	// a task set's, or fixed at creation).
	in := &ecs.UpdateServiceInput{
		Cluster:                       def.ClusterArn,
		Service:                       def.ServiceName,
		PropagateTags:                 def.PropagateTags,
		EnableECSManagedTags:          aws.Bool(def.EnableECSManagedTags),
		PlacementStrategy:             def.PlacementStrategy,
		PlacementConstraints:          def.PlacementConstraints,
		HealthCheckGracePeriodSeconds: def.HealthCheckGracePeriodSeconds,
	}
	if def.DesiredCount != 0 {
		in.DesiredCount = aws.Int32(def.DesiredCount)
	}
	out, err := c.ecs.UpdateService(ctx, in)
	if err != nil {
		return nil, apiError("UpdateService", "service "+name, err)
	}
	svc := out.Service
	if err := c.syncTags(ctx, deref(svc.ServiceArn), name, cur.Tags, tags); err != nil {
		return nil, err
	}
	return svc, nil
}

// syncTags makes a resource's tags want (tags ECS and AWS set kept).
func (c *client) syncTags(ctx context.Context, arn, what string, have, want []types.Tag) error {
	wm := map[string]string{}
	for _, t := range want {
		wm[deref(t.Key)] = deref(t.Value)
	}
	var remove []string
	for _, t := range have {
		k := deref(t.Key)
		if _, ok := wm[k]; !ok && !strings.HasPrefix(k, "aws:") && !strings.HasPrefix(k, "ecs:") {
			remove = append(remove, k)
		}
	}
	if len(remove) > 0 {
		sort.Strings(remove)
		if _, err := c.ecs.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: remove}); err != nil {
			return apiError("UntagResource", what, err)
		}
	}
	if len(want) > 0 {
		if _, err := c.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: want}); err != nil {
			return apiError("TagResource", what, err)
		}
	}
	return nil
}

func withTags(tags []types.Tag, add map[string]string) []types.Tag {
	out := make([]types.Tag, 0, len(tags)+len(add))
	for _, t := range tags {
		if _, ok := add[deref(t.Key)]; !ok {
			out = append(out, t)
		}
	}
	keys := make([]string, 0, len(add))
	for k := range add {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(add[k])})
	}
	return out
}

// taskSets lists the service's task sets that are not draining.
func (c *client) taskSets(ctx context.Context, svc *types.Service) ([]types.TaskSet, error) {
	out, err := c.ecs.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: svc.ClusterArn, Service: svc.ServiceArn, Include: []types.TaskSetField{types.TaskSetFieldTags}})
	if err != nil {
		return nil, apiError("DescribeTaskSets", "service "+deref(svc.ServiceName), err)
	}
	var sets []types.TaskSet
	for _, ts := range out.TaskSets {
		if deref(ts.Status) != "DRAINING" {
			sets = append(sets, ts)
		}
	}
	return sets, nil
}

// createTaskSet creates a task set of td at scale percent of the
// service's desired count, attached to lb (nil: no target group); the
// caller records it, then waits for it (waitTaskSet).
func (c *client) createTaskSet(ctx context.Context, svc *types.Service, def *ServiceDef, tdARN string, lb *types.LoadBalancer, scale int, variant, commit string) (*types.TaskSet, error) {
	in := &ecs.CreateTaskSetInput{
		Cluster:                  svc.ClusterArn,
		Service:                  svc.ServiceArn,
		TaskDefinition:           aws.String(tdARN),
		Scale:                    &types.Scale{Unit: types.ScaleUnitPercent, Value: float64(scale)},
		NetworkConfiguration:     def.NetworkConfiguration,
		LaunchType:               def.LaunchType,
		PlatformVersion:          def.PlatformVersion,
		ServiceRegistries:        def.ServiceRegistries,
		CapacityProviderStrategy: def.CapacityProviderStrategy,
		ExternalId:               aws.String(variant + "-" + shortHash(commit)),
		Tags:                     withTags(nil, map[string]string{tagManagedBy: managedByPipe, tagVariant: variant, tagCommit: commit}),
	}
	if lb != nil {
		in.LoadBalancers = []types.LoadBalancer{*lb}
	}
	out, err := c.ecs.CreateTaskSet(ctx, in)
	if err != nil {
		return nil, apiError("CreateTaskSet", "service "+deref(svc.ServiceName), err)
	}
	ts := out.TaskSet
	where := "without a target group"
	if lb != nil {
		where = "on target group " + shortARN(deref(lb.TargetGroupArn))
	}
	c.narrate("created %s task set %s (%d%%, %s)", variant, shortARN(deref(ts.TaskSetArn)), scale, where)
	return ts, nil
}

// waitTaskSet waits until a task set is steady; while it is not, it says
// how many tasks run and why stopped ones stopped.
func (c *client) waitTaskSet(ctx context.Context, svc *types.Service, arn string) error {
	delay := c.poll
	if delay <= 0 {
		delay = time.Second
	}
	announced := false
	var last string
	for {
		out, err := c.ecs.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: svc.ClusterArn, Service: svc.ServiceArn, TaskSets: []string{arn}})
		if err != nil {
			return apiError("DescribeTaskSets", "service "+deref(svc.ServiceName), err)
		}
		if len(out.TaskSets) == 0 {
			return fmt.Errorf("task set %s of service %s is gone", shortARN(arn), deref(svc.ServiceName))
		}
		ts := out.TaskSets[0]
		if ts.StabilityStatus == types.StabilityStatusSteadyState && ts.RunningCount >= ts.ComputedDesiredCount {
			return nil
		}
		last = fmt.Sprintf("%d of %d tasks running", ts.RunningCount, ts.ComputedDesiredCount)
		if !announced {
			c.narrate("waiting for task set %s to be steady (%s)", shortARN(arn), last)
			announced = true
		}
		if ctxtime.Sleep(ctx, delay) != nil {
			why := c.stoppedReasons(context.WithoutCancel(ctx), svc, deref(ts.Id))
			return fmt.Errorf("task set %s of service %s did not become steady (%s)%s: %w", shortARN(arn), deref(svc.ServiceName), last, why, context.Cause(ctx))
		}
		delay = min(delay*2, 5*time.Second)
		if reasons, n := c.stopped(ctx, svc, deref(ts.Id)); n >= int(max(1, ts.ComputedDesiredCount)) && ts.RunningCount < ts.ComputedDesiredCount {
			// As many tasks stopped as the set should run: they stop as
			// they start, and the set will not become steady.
			return fmt.Errorf("task set %s of service %s is not steady (%s)%s", shortARN(arn), deref(svc.ServiceName), last, reasons)
		}
	}
}

// stoppedReasons says why tasks of a task set (ECS starts them with the
// task set's ID as startedBy) stopped: ", tasks stopped: Essential
// container in task exited (container web exit code 1)"; "" when none
// did.
func (c *client) stoppedReasons(ctx context.Context, svc *types.Service, taskSetID string) string {
	s, _ := c.stopped(ctx, svc, taskSetID)
	return s
}

// stopped is stoppedReasons and how many tasks stopped.
func (c *client) stopped(ctx context.Context, svc *types.Service, taskSetID string) (string, int) {
	if taskSetID == "" {
		return "", 0
	}
	list, err := c.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: svc.ClusterArn, DesiredStatus: types.DesiredStatusStopped, StartedBy: aws.String(taskSetID)})
	if err != nil || len(list.TaskArns) == 0 {
		return "", 0
	}
	arns := list.TaskArns
	if len(arns) > 100 {
		arns = arns[:100]
	}
	tasks, err := c.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: svc.ClusterArn, Tasks: arns})
	if err != nil {
		return "", len(list.TaskArns)
	}
	seen := map[string]bool{}
	var reasons []string
	for _, t := range tasks.Tasks {
		if r := taskStopReason(t); r != "" && !seen[r] {
			seen[r] = true
			reasons = append(reasons, r)
		}
	}
	if len(reasons) == 0 {
		return "", len(list.TaskArns)
	}
	return ", tasks stopped: " + strings.Join(reasons, "; "), len(list.TaskArns)
}

func taskStopReason(t types.Task) string {
	r := deref(t.StoppedReason)
	for _, ct := range t.Containers {
		if ct.ExitCode != nil && *ct.ExitCode != 0 {
			r += fmt.Sprintf(" (container %s exit code %d", deref(ct.Name), *ct.ExitCode)
			if ct.Reason != nil {
				r += ": " + deref(ct.Reason)
			}
			r += ")"
			break
		}
	}
	return strings.TrimSpace(r)
}

func (c *client) setPrimary(ctx context.Context, svc *types.Service, arn string) error {
	_, err := c.ecs.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{Cluster: svc.ClusterArn, Service: svc.ServiceArn, PrimaryTaskSet: aws.String(arn)})
	if err != nil {
		return apiError("UpdateServicePrimaryTaskSet", "service "+deref(svc.ServiceName), err)
	}
	c.narrate("task set %s is the primary of service %s", shortARN(arn), deref(svc.ServiceName))
	return nil
}

func (c *client) deleteTaskSet(ctx context.Context, svc *types.Service, arn string) error {
	_, err := c.ecs.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: svc.ClusterArn, Service: svc.ServiceArn, TaskSet: aws.String(arn), Force: aws.Bool(true)})
	if isCode(err, "TaskSetNotFoundException") {
		return nil
	}
	if err != nil {
		return apiError("DeleteTaskSet", "service "+deref(svc.ServiceName), err)
	}
	c.narrate("deleted task set %s", shortARN(arn))
	return nil
}

func (c *client) setDesiredCount(ctx context.Context, svc *types.Service, n int32) error {
	_, err := c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: svc.ClusterArn, Service: svc.ServiceName, DesiredCount: aws.Int32(n)})
	return apiError("UpdateService", "service "+deref(svc.ServiceName), err)
}

// runTask runs a standalone task and waits until it stops: a task that
// stops with a non-zero exit code is an error with its reason.
func (c *client) runTask(ctx context.Context, cluster, tdARN string, launch types.LaunchType, net *types.NetworkConfiguration, commit string) error {
	out, err := c.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String(tdARN), LaunchType: launch,
		NetworkConfiguration: net, StartedBy: aws.String("pipe-" + shortHash(commit)),
		Tags: withTags(nil, map[string]string{tagManagedBy: managedByPipe, tagCommit: commit})})
	if err != nil {
		return apiError("RunTask", "task "+shortARN(tdARN), err)
	}
	if len(out.Failures) > 0 {
		f := out.Failures[0]
		return fmt.Errorf("ecs:RunTask of %s failed: %s (%s)", shortARN(tdARN), deref(f.Reason), deref(f.Detail))
	}
	var arns []string
	for _, t := range out.Tasks {
		arns = append(arns, deref(t.TaskArn))
	}
	c.narrate("running task %s", strings.Join(mapStrings(arns, shortARN), ", "))
	delay := c.poll
	if delay <= 0 {
		delay = time.Second
	}
	for {
		d, err := c.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns})
		if err != nil {
			return apiError("DescribeTasks", "task "+shortARN(tdARN), err)
		}
		done := true
		for _, t := range d.Tasks {
			if deref(t.LastStatus) != "STOPPED" {
				done = false
				continue
			}
			for _, ct := range t.Containers {
				if ct.ExitCode != nil && *ct.ExitCode != 0 {
					return fmt.Errorf("task %s stopped: %s", shortARN(deref(t.TaskArn)), taskStopReason(t))
				}
			}
		}
		if done {
			c.narrate("task finished")
			return nil
		}
		if ctxtime.Sleep(ctx, delay) != nil {
			return fmt.Errorf("waiting for task %s: %w", strings.Join(mapStrings(arns, shortARN), ", "), context.Cause(ctx))
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// listeners are the listeners of the load balancers the target group is
// attached to.
func (c *client) listeners(ctx context.Context, tg string) ([]string, error) {
	out, err := c.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{tg}})
	if err != nil {
		return nil, elbError("DescribeTargetGroups", tg, err)
	}
	var arns []string
	for _, g := range out.TargetGroups {
		for _, lb := range g.LoadBalancerArns {
			ls, err := c.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(lb)})
			if err != nil {
				return nil, elbError("DescribeListeners", lb, err)
			}
			for _, l := range ls.Listeners {
				arns = append(arns, deref(l.ListenerArn))
			}
		}
	}
	if len(arns) == 0 {
		return nil, fmt.Errorf("target group %s is attached to no load balancer listener: nothing routes traffic to it", shortARN(tg))
	}
	return arns, nil
}

// weights are a split of the traffic between the two target groups.
type weights struct{ Primary, Canary int32 }

func (w weights) String() string { return fmt.Sprintf("primary=%d,canary=%d", w.Primary, w.Canary) }

// route sets the weights of every listener rule (and default action)
// that forwards to exactly the primary and the canary target groups;
// rules forwarding elsewhere are left alone. It returns the rules changed.
func (c *client) route(ctx context.Context, listeners []string, primaryTG, canaryTG string, w weights) ([]string, error) {
	var changed []string
	for _, l := range listeners {
		rules, err := c.elb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(l)})
		if err != nil {
			return changed, elbError("DescribeRules", l, err)
		}
		for _, r := range rules.Rules {
			actions, ok := reweigh(r.Actions, primaryTG, canaryTG, w)
			if !ok {
				continue
			}
			if aws.ToBool(r.IsDefault) {
				if _, err := c.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(l), DefaultActions: actions}); err != nil {
					return changed, elbError("ModifyListener", l, err)
				}
				changed = append(changed, "default action of "+shortARN(l))
				continue
			}
			if _, err := c.elb.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: r.RuleArn, Actions: actions}); err != nil {
				return changed, elbError("ModifyRule", deref(r.RuleArn), err)
			}
			changed = append(changed, "rule "+shortARN(deref(r.RuleArn)))
		}
	}
	return changed, nil
}

// reweigh rewrites the forward actions to the two target groups with w;
// ok is false when no action forwards to exactly them.
func reweigh(actions []elbtypes.Action, primaryTG, canaryTG string, w weights) ([]elbtypes.Action, bool) {
	out := make([]elbtypes.Action, len(actions))
	found := false
	for i, a := range actions {
		out[i] = a
		if a.Type != elbtypes.ActionTypeEnumForward || a.ForwardConfig == nil || len(a.ForwardConfig.TargetGroups) != 2 {
			continue
		}
		has := map[string]bool{}
		for _, t := range a.ForwardConfig.TargetGroups {
			has[deref(t.TargetGroupArn)] = true
		}
		if !has[primaryTG] || !has[canaryTG] {
			continue
		}
		fc := *a.ForwardConfig
		fc.TargetGroups = []elbtypes.TargetGroupTuple{
			{TargetGroupArn: aws.String(primaryTG), Weight: aws.Int32(w.Primary)},
			{TargetGroupArn: aws.String(canaryTG), Weight: aws.Int32(w.Canary)},
		}
		out[i] = elbtypes.Action{Type: a.Type, Order: a.Order, ForwardConfig: &fc}
		found = true
	}
	return out, found
}

// currentWeights reads the weights of the first rule forwarding to the
// two target groups; ok is false when none does.
func (c *client) currentWeights(ctx context.Context, listeners []string, primaryTG, canaryTG string) (weights, bool, error) {
	for _, l := range listeners {
		rules, err := c.elb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(l)})
		if err != nil {
			return weights{}, false, elbError("DescribeRules", l, err)
		}
		for _, r := range rules.Rules {
			for _, a := range r.Actions {
				if a.Type != elbtypes.ActionTypeEnumForward || a.ForwardConfig == nil || len(a.ForwardConfig.TargetGroups) != 2 {
					continue
				}
				var w weights
				n := 0
				for _, t := range a.ForwardConfig.TargetGroups {
					switch deref(t.TargetGroupArn) {
					case primaryTG:
						w.Primary = aws.ToInt32(t.Weight)
						n++
					case canaryTG:
						w.Canary = aws.ToInt32(t.Weight)
						n++
					}
				}
				if n == 2 {
					return w, true, nil
				}
			}
		}
	}
	return weights{}, false, nil
}

// scaleCount is the tasks a task set at percent of desired runs.
func scaleCount(desired int32, percent int) int32 {
	return int32(math.Ceil(float64(desired) * float64(percent) / 100))
}

func apiError(action, what string, err error) error { return awsError("ecs", action, what, err) }
func elbError(action, what string, err error) error {
	return awsError("elasticloadbalancing", action, shortARN(what), err)
}

func awsError(service, action, what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("%s:%s of %s: %w", service, action, what, redact.Error(err))
	}
	s := fmt.Sprintf("%s:%s of %s: %s: %s", service, action, what, ae.ErrorCode(), strings.TrimSpace(ae.ErrorMessage()))
	switch ae.ErrorCode() {
	case "AccessDeniedException", "AccessDenied":
		s += fmt.Sprintf(" (grant %s:%s to the identity pipe runs as)", service, action)
		if strings.Contains(ae.ErrorMessage(), "iam:PassRole") {
			s += "; the task's execution and task roles need iam:PassRole"
		}
	case "ClusterNotFoundException":
		s += " (check `cluster` of the service definition and the region)"
	case "ServiceNotFoundException", "ServiceNotActiveException":
		s += " (check `serviceName` of the service definition)"
	case "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException":
		s += " (the AWS credentials are invalid or expired: check the platform provider's credentials and the job's AWS_* variables)"
	case "InvalidParameterException", "ClientException", "ValidationError":
		s += " (fix the definition file)"
	}
	return &wrapped{msg: s, err: err}
}

type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }

func isCode(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}

// shortARN is the resource part of an ARN ("service/web", "task-definition/web:3").
func shortARN(arn string) string {
	if i := strings.LastIndex(arn, ":"); strings.HasPrefix(arn, "arn:") && i >= 0 {
		rest := arn[strings.Index(arn[4:], ":")+5:]
		parts := strings.SplitN(rest, ":", 4)
		if len(parts) == 4 {
			return parts[3]
		}
	}
	return arn
}

func shortHash(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}

func mapStrings(s []string, f func(string) string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}
