package ecs

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/gitops-pipe/pipe/internal/awsconf"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/deploy/deploytest"
	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
)

// BenchmarkCanaryPipeline measures a canary pipeline's own overhead
// (everything but WAIT) against the same AWS calls made by a straight-line
// program, on one in-process emulator whose updates finish at once
// (UpdateDelay 0):
//
//   - pipe: plan, PreFlight, Runner and the engine's Run of
//     ECS_CANARY_ROLLOUT 30 → ECS_TRAFFIC_ROUTING canary 20 →
//     ECS_PRIMARY_ROLLOUT → ECS_TRAFFIC_ROUTING primary 100 →
//     ECS_CANARY_CLEAN, the record in memory (executetest.Store); each
//     iteration deploys the other of two images, so every one registers a
//     task definition and replaces the primary task set.
//   - sdk: the aws-sdk-go-v2 ECS and ELBv2 clients called directly, from
//     the same input (cluster, service, the two target groups):
//     RegisterTaskDefinition, DescribeServices (the primary task set),
//     CreateTaskSet and DescribeTaskSets until steady (the canary),
//     DescribeTargetGroups and DescribeListeners (the listeners of the
//     blue target group), DescribeRules, ModifyRule and ModifyListener
//     (80/20), CreateTaskSet and DescribeTaskSets (the new primary),
//     UpdateServicePrimaryTaskSet, DeleteTaskSet (the old primary),
//     ModifyRule and ModifyListener (100/0), DeleteTaskSet (the canary).
//
// The sdk lines also report pipe/sdk: the median ns/op of the pipe runs
// over the run's; -v logs the ratio of the medians and the difference.
// calls/op is the number of AWS requests an iteration made (the
// emulator's request log).
//
// pipe makes these calls the straight-line program does not, each for a
// reason (the benchmark fails on any other difference):
//
//	DescribeTaskDefinition  the family's latest revision and its digest tag:
//	                        the same definition (a resumed deployment) is
//	                        not registered again
//	UpdateService           the service definition applied (desiredCount,
//	                        propagateTags... may have changed in Git)
//	TagResource             the service's pipe.dev/commit tag
//	DescribeTaskSets        the service's task sets read again before the
//	                        new primary replaces them (the canary stage's
//	                        view is stale by then)
//	DescribeRules           read again for the primary 100 routing: the
//	                        rules may have changed during the pipeline
//
// Removed (they were made and are not needed): ECS_PRIMARY_ROLLOUT
// registered (DescribeTaskDefinition) and applied the service
// (DescribeServices, UpdateService, TagResource) again after
// ECS_CANARY_ROLLOUT had done it for the same commit in the same run, and
// ECS_CANARY_CLEAN read the service (DescribeServices) again; the Runner
// now keeps what its first stage prepared.
//
// pipe builds its AWS clients per deployment (awsconf.Load, as one CLI run
// does), the straight-line program once.
func BenchmarkCanaryPipeline(b *testing.B) {
	emu, getenv := deploytest.StartAWS(b, awsemu.Options{})
	const poll = time.Millisecond
	p := New(Options{Getenv: getenv, Poll: poll})
	emu.CreateCluster("main")
	alb := emu.SetupALB("web")

	appYAML := `apiVersion: pipecd.dev/v1beta1
kind: ECSApp
spec:
  name: web
  input:
    serviceDefinitionFile: servicedef.yaml
    taskDefinitionFile: taskdef.yaml
    targetGroups:
      primary: {targetGroupArn: ` + alb.BlueTG + `, containerName: web, containerPort: 80}
      canary: {targetGroupArn: ` + alb.GreenTG + `, containerName: web, containerPort: 80}
  pipeline:
    stages:
      - name: ECS_CANARY_ROLLOUT
        with: {scale: 30}
      - name: ECS_TRAFFIC_ROUTING
        with: {canary: 20}
      - name: ECS_PRIMARY_ROLLOUT
      - name: ECS_TRAFFIC_ROUTING
        with: {primary: 100}
      - name: ECS_CANARY_CLEAN
`
	// Two commits, one image each.
	revs := [2]*deploy.Revision{}
	var app *config.App
	for i, tag := range []string{"a", "b"} {
		revs[i], app = deploytest.Revision(b, strings.Repeat(fmt.Sprint(i+1), 40), "web", config.KindECSApp, map[string]string{
			"app.pipecd.yaml": appYAML, "servicedef.yaml": serviceDef, "taskdef.yaml": taskDef(tag, "      - {name: LOG_LEVEL, value: info}\n")})
	}
	// The first deployment (no running commit) is a quick sync; the
	// pipeline runs from then on.
	ctx := context.Background()
	if err := deploytest.Succeed(ctx, p, app, revs[0], nil); err != nil {
		b.Fatal(err)
	}
	n := 1 // deployments made: revs[n%2] is running

	ecsc, elbc := benchClients(b, getenv)
	s := &straight{ecs: ecsc, elb: elbc, cluster: cluster, service: "web", primaryTG: alb.BlueTG, canaryTG: alb.GreenTG, poll: poll,
		images: [2]string{"123456789012.dkr.ecr.us-east-1.amazonaws.com/web:a", "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:b"}}
	pipeCalls, sdkCalls := deploytest.CompareAWS(b, emu, func() error {
		head, running := revs[(n+1)%2], revs[n%2]
		n++
		return deploytest.Succeed(ctx, p, app, head, running)
	}, func() error { return s.canary(ctx) })

	// The calls pipe makes and the straight-line program does not, each
	// explained above.
	extra := []string{"DescribeRules×1", "DescribeTaskDefinition×1", "DescribeTaskSets×1", "TagResource×1", "UpdateService×1"}
	if p, s := pipeCalls, sdkCalls; p != nil && s != nil {
		if got := callDiff(p, s); !slices.Equal(got, extra) {
			b.Errorf("pipe's calls less the straight-line program's: %s, want %s\npipe %s\nsdk  %s",
				strings.Join(got, " "), strings.Join(extra, " "), strings.Join(p, " "), strings.Join(s, " "))
		}
	}
	// One PRIMARY task set on blue, all the traffic to it.
	var live []string
	for _, ts := range emu.TaskSets(cluster, "web") {
		if ts.Status != "DRAINING" {
			live = append(live, ts.Status)
		}
	}
	if len(live) != 1 || live[0] != "PRIMARY" {
		b.Errorf("task sets %v", live)
	}
	if w := emu.Weights(alb.ListenerARN)["default"]; w[alb.BlueTG] != 100 || w[alb.GreenTG] != 0 {
		b.Errorf("weights %v", w)
	}
}

// callDiff is the "Operation×n" of p beyond s's.
func callDiff(p, s []string) []string {
	parse := func(l []string) map[string]int {
		m := map[string]int{}
		for _, c := range l {
			op, k, _ := strings.Cut(c, "×")
			var v int
			fmt.Sscan(k, &v)
			m[op] = v
		}
		return m
	}
	pm, sm := parse(p), parse(s)
	var out []string
	for _, op := range slices.Sorted(maps.Keys(pm)) {
		if d := pm[op] - sm[op]; d != 0 {
			out = append(out, fmt.Sprintf("%s×%d", op, d))
		}
	}
	for _, op := range slices.Sorted(maps.Keys(sm)) {
		if _, ok := pm[op]; !ok {
			out = append(out, fmt.Sprintf("%s×%d", op, -sm[op]))
		}
	}
	return out
}

// benchClients are ECS and ELBv2 clients of the emulator, configured as
// pipe configures its own.
func benchClients(b *testing.B, getenv func(string) string) (*ecs.Client, *elb.Client) {
	b.Helper()
	cfg, err := awsconf.Load(context.Background(), awsconf.Options{Getenv: getenv})
	if err != nil {
		b.Fatal(err)
	}
	return ecs.NewFromConfig(cfg), elb.NewFromConfig(cfg)
}

// straight is the canary pipeline as a straight-line program.
type straight struct {
	ecs                 *ecs.Client
	elb                 *elb.Client
	cluster, service    string
	primaryTG, canaryTG string
	images              [2]string
	poll                time.Duration
	n                   int
}

// canary deploys the other of the two images with a canary at 30% and
// 20% of the traffic, then as the primary with all of it.
func (s *straight) canary(ctx context.Context) error {
	svcs, err := s.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(s.cluster), Services: []string{s.service}})
	if err != nil {
		return err
	}
	if len(svcs.Services) != 1 {
		return fmt.Errorf("services %v", svcs.Services)
	}
	svc := svcs.Services[0]
	var oldPrimary string
	for _, ts := range svc.TaskSets {
		if aws.ToString(ts.Status) == "PRIMARY" {
			oldPrimary = aws.ToString(ts.TaskSetArn)
		}
	}
	if oldPrimary == "" {
		return fmt.Errorf("no primary task set")
	}
	// a, b, a, ...
	td := benchTaskDefinition(s.images[s.n%2])
	s.n++
	reg, err := s.ecs.RegisterTaskDefinition(ctx, td)
	if err != nil {
		return err
	}
	tdARN := reg.TaskDefinition.TaskDefinitionArn
	canary, err := s.createTaskSet(ctx, svc, tdARN, s.canaryTG, 30)
	if err != nil {
		return err
	}
	tgs, err := s.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{s.primaryTG}})
	if err != nil {
		return err
	}
	var listeners []string
	for _, g := range tgs.TargetGroups {
		for _, lb := range g.LoadBalancerArns {
			ls, err := s.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(lb)})
			if err != nil {
				return err
			}
			for _, l := range ls.Listeners {
				listeners = append(listeners, aws.ToString(l.ListenerArn))
			}
		}
	}
	var rules []elbtypes.Rule
	ruleListener := map[string]string{}
	for _, l := range listeners {
		out, err := s.elb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(l)})
		if err != nil {
			return err
		}
		for _, r := range out.Rules {
			ruleListener[aws.ToString(r.RuleArn)] = l
		}
		rules = append(rules, out.Rules...)
	}
	if err := s.route(ctx, rules, ruleListener, 80, 20); err != nil {
		return err
	}
	primary, err := s.createTaskSet(ctx, svc, tdARN, s.primaryTG, 100)
	if err != nil {
		return err
	}
	if _, err := s.ecs.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{Cluster: svc.ClusterArn, Service: svc.ServiceArn, PrimaryTaskSet: primary}); err != nil {
		return err
	}
	if _, err := s.ecs.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: svc.ClusterArn, Service: svc.ServiceArn, TaskSet: aws.String(oldPrimary), Force: aws.Bool(true)}); err != nil {
		return err
	}
	if err := s.route(ctx, rules, ruleListener, 100, 0); err != nil {
		return err
	}
	_, err = s.ecs.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: svc.ClusterArn, Service: svc.ServiceArn, TaskSet: canary, Force: aws.Bool(true)})
	return err
}

// createTaskSet creates a task set and waits until it is steady.
func (s straight) createTaskSet(ctx context.Context, svc types.Service, td *string, tg string, scale float64) (*string, error) {
	out, err := s.ecs.CreateTaskSet(ctx, &ecs.CreateTaskSetInput{Cluster: svc.ClusterArn, Service: svc.ServiceArn, TaskDefinition: td,
		Scale: &types.Scale{Unit: types.ScaleUnitPercent, Value: scale}, LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: []string{"subnet-1", "subnet-2"}, SecurityGroups: []string{"sg-1"}, AssignPublicIp: types.AssignPublicIpEnabled}},
		LoadBalancers: []types.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("web"), ContainerPort: aws.Int32(80)}}})
	if err != nil {
		return nil, err
	}
	arn := out.TaskSet.TaskSetArn
	for {
		d, err := s.ecs.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: svc.ClusterArn, Service: svc.ServiceArn, TaskSets: []string{*arn}})
		if err != nil {
			return nil, err
		}
		if len(d.TaskSets) == 1 && d.TaskSets[0].StabilityStatus == types.StabilityStatusSteadyState && d.TaskSets[0].RunningCount >= d.TaskSets[0].ComputedDesiredCount {
			return arn, nil
		}
		time.Sleep(s.poll)
	}
}

// route sets the weights of the rules (and default actions) forwarding
// to the two target groups.
func (s straight) route(ctx context.Context, rules []elbtypes.Rule, ruleListener map[string]string, primary, canary int32) error {
	for _, r := range rules {
		actions, ok := reweigh(r.Actions, s.primaryTG, s.canaryTG, weights{Primary: primary, Canary: canary})
		if !ok {
			continue
		}
		if aws.ToBool(r.IsDefault) {
			if _, err := s.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(ruleListener[aws.ToString(r.RuleArn)]), DefaultActions: actions}); err != nil {
				return err
			}
			continue
		}
		if _, err := s.elb.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: r.RuleArn, Actions: actions}); err != nil {
			return err
		}
	}
	return nil
}

// benchTaskDefinition is taskDef's definition with image.
func benchTaskDefinition(image string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("web"),
		ExecutionRoleArn:        aws.String("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(image), Essential: aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80)}},
			Environment:  []types.KeyValuePair{{Name: aws.String("LOG_LEVEL"), Value: aws.String("info")}}}},
	}
}
