package awsemu_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
)

func ecsClient(url string) *ecs.Client {
	return ecs.New(ecs.Options{Region: awsemu.DefaultRegion, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider(awsemu.AccessKeyID, awsemu.SecretAccessKey, "")})
}

func elbClient(url string) *elb.Client {
	return elb.New(elb.Options{Region: awsemu.DefaultRegion, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider(awsemu.AccessKeyID, awsemu.SecretAccessKey, "")})
}

var awsvpc = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-1"}, SecurityGroups: []string{"sg-1"}}}

// registerWeb registers a Fargate task definition "web" running image.
func registerWeb(t *testing.T, c *ecs.Client, image string) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(image),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(80)}}}},
		Tags: []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("pipe")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func createTaskSet(t *testing.T, c *ecs.Client, td, tg string, scale float64) *ecstypes.TaskSet {
	t.Helper()
	out, err := c.CreateTaskSet(context.Background(), &ecs.CreateTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"),
		TaskDefinition: aws.String(td), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: awsvpc, ExternalId: aws.String("pipe-1"),
		Scale:         &ecstypes.Scale{Value: scale, Unit: ecstypes.ScaleUnitPercent},
		LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("web"), ContainerPort: aws.Int32(80)}}})
	if err != nil {
		t.Fatal(err)
	}
	return out.TaskSet
}

func TestECSTaskSetLifecycle(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	emu, srv := awsemu.Start(awsemu.Options{UpdateDelay: time.Minute, Now: clk.Now})
	defer srv.Close()
	ctx := context.Background()
	c, lb := ecsClient(srv.URL), elbClient(srv.URL)
	emu.CreateCluster("prod")
	alb := emu.SetupALB("web")
	td1 := registerWeb(t, c, "nginx:1")
	if td1 != "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1" {
		t.Fatalf("task definition ARN %s", td1)
	}
	_, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), DesiredCount: aws.Int32(2),
		DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeExternal},
		LaunchType:           ecstypes.LaunchTypeFargate, NetworkConfiguration: awsvpc, PropagateTags: ecstypes.PropagateTagsService,
		Tags: []ecstypes.Tag{{Key: aws.String("app"), Value: aws.String("web")}}})
	if err != nil {
		t.Fatal(err)
	}
	blue := createTaskSet(t, c, td1, alb.BlueTG, 100)
	if aws.ToString(blue.Status) != "ACTIVE" || blue.ComputedDesiredCount != 2 || blue.RunningCount != 0 || blue.StabilityStatus != ecstypes.StabilityStatusStabilizing {
		t.Fatalf("created task set: %+v", blue)
	}
	if _, err := c.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), PrimaryTaskSet: blue.TaskSetArn}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	sets := emu.TaskSets("prod", "web")
	if len(sets) != 1 || sets[0].Status != "PRIMARY" || sets[0].RunningCount != 2 || sets[0].StabilityStatus != "STEADY_STATE" {
		t.Fatalf("after the delay: %+v", sets)
	}
	ds, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	svc := ds.Services[0]
	if svc.RunningCount != 2 || svc.DesiredCount != 2 || len(svc.TaskSets) != 1 || len(svc.Deployments) != 0 || aws.ToString(svc.TaskDefinition) != td1 ||
		len(svc.Tags) != 1 || svc.DeploymentController.Type != ecstypes.DeploymentControllerTypeExternal {
		t.Fatalf("describe-services: %+v", svc)
	}
	if !strings.Contains(aws.ToString(svc.Events[0].Message), "(service web) has reached a steady state.") {
		t.Fatalf("events: %s", aws.ToString(svc.Events[0].Message))
	}
	th, err := lb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(alb.BlueTG)})
	if err != nil {
		t.Fatal(err)
	}
	if len(th.TargetHealthDescriptions) != 2 || th.TargetHealthDescriptions[0].TargetHealth.State != elbtypes.TargetHealthStateEnumHealthy || aws.ToInt32(th.TargetHealthDescriptions[0].Target.Port) != 80 {
		t.Fatalf("target health: %+v", th.TargetHealthDescriptions)
	}

	// Canary: a second task set at 50% (1 task), then traffic 80/20.
	td2 := registerWeb(t, c, "nginx:2")
	green := createTaskSet(t, c, td2, alb.GreenTG, 50)
	if green.ComputedDesiredCount != 1 {
		t.Fatalf("canary: %+v", green)
	}
	fwd := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
		{TargetGroupArn: aws.String(alb.BlueTG), Weight: aws.Int32(80)}, {TargetGroupArn: aws.String(alb.GreenTG), Weight: aws.Int32(20)}}}}}
	if _, err := lb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(alb.ListenerARN), DefaultActions: fwd}); err != nil {
		t.Fatal(err)
	}
	mr, err := lb.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: aws.String(alb.RuleARNs[0]), Actions: fwd})
	if err != nil {
		t.Fatal(err)
	}
	if got := mr.Rules[0].Actions[0].ForwardConfig.TargetGroups; len(got) != 2 || aws.ToInt32(got[1].Weight) != 20 {
		t.Fatalf("modify-rule: %+v", got)
	}
	w := emu.Weights(alb.ListenerARN)
	if w["default"][alb.BlueTG] != 80 || w["default"][alb.GreenTG] != 20 || w[alb.RuleARNs[0]][alb.GreenTG] != 20 || w[alb.RuleARNs[1]][alb.OtherTG] != 1 {
		t.Fatalf("weights: %v", w)
	}
	rules, err := lb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(alb.ListenerARN)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rules.Rules) != 3 || aws.ToString(rules.Rules[2].Priority) != "default" || !aws.ToBool(rules.Rules[2].IsDefault) || aws.ToString(rules.Rules[0].Priority) != "10" {
		t.Fatalf("describe-rules: %+v", rules.Rules)
	}
	tgs, err := lb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{alb.GreenTG}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tgs.TargetGroups[0].LoadBalancerArns) != 1 || tgs.TargetGroups[0].LoadBalancerArns[0] != alb.LoadBalancerARN {
		t.Fatalf("target group: %+v", tgs.TargetGroups[0])
	}

	// Promote: green is primary at 100%, blue goes away.
	if _, err := c.UpdateTaskSet(ctx, &ecs.UpdateTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskSet: green.Id,
		Scale: &ecstypes.Scale{Value: 100, Unit: ecstypes.ScaleUnitPercent}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), PrimaryTaskSet: green.Id}); err != nil {
		t.Fatal(err)
	}
	sets = emu.TaskSets("prod", "web")
	if sets[0].ID != aws.ToString(green.Id) || sets[0].Status != "PRIMARY" || sets[1].Status != "ACTIVE" || sets[0].ComputedDesiredCount != 2 {
		t.Fatalf("after promotion: %+v", sets)
	}
	_, err = c.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskSet: blue.Id})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("delete without force: %v", err)
	}
	del, err := c.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskSet: blue.Id, Force: aws.Bool(true)})
	if err != nil || aws.ToString(del.TaskSet.Status) != "DRAINING" {
		t.Fatalf("delete: %v %+v", err, del)
	}
	clk.Advance(2 * time.Minute)
	s, _ := emu.Service("prod", "web")
	if len(s.TaskSets) != 1 || s.TaskSets[0].RunningCount != 2 || s.TaskSets[0].StabilityStatus != "STEADY_STATE" || s.TaskDefinition != td2 || s.RunningCount != 2 {
		t.Fatalf("after delete: %+v", s)
	}
	if ls, _ := emu.FormatTaskSets("prod", "web"); strings.Join(ls, "\n") != "PRIMARY scale=100% running=2/2 stability=STEADY_STATE taskdef=web:2 tg=green" {
		t.Fatalf("FormatTaskSets: %q", ls)
	}
	if l, _ := emu.FormatService("prod", "web"); l != "ACTIVE desired=2 running=2 pending=0 taskdef=web:2 controller=EXTERNAL" {
		t.Fatalf("FormatService: %q", l)
	}
	lt, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web")})
	if err != nil || len(lt.TaskArns) != 2 {
		t.Fatalf("list-tasks: %v %v", err, lt)
	}
	dt, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: lt.TaskArns, Include: []ecstypes.TaskField{ecstypes.TaskFieldTags}})
	if err != nil || aws.ToString(dt.Tasks[0].LastStatus) != "RUNNING" || aws.ToString(dt.Tasks[0].TaskDefinitionArn) != td2 || len(dt.Tasks[0].Tags) != 1 {
		t.Fatalf("describe-tasks: %v %+v", err, dt)
	}

	// An out-of-band scale-out.
	if !emu.SetDesiredCount("prod", "web", 3) {
		t.Fatal("SetDesiredCount")
	}
	if s := emu.TaskSets("prod", "web"); s[0].ComputedDesiredCount != 3 || s[0].StabilityStatus != "STABILIZING" {
		t.Fatalf("after SetDesiredCount: %+v", s)
	}

	// Errors.
	_, err = c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"web"}})
	var cnf *ecstypes.ClusterNotFoundException
	if !errorsAs(err, &cnf) || aws.ToString(cnf.Message) != "Cluster not found." {
		t.Fatalf("missing cluster: %v", err)
	}
	_, err = lb.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: aws.String(alb.RuleARNs[0]), Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward,
		ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(alb.BlueTG), Weight: aws.Int32(1000)}}}}}})
	if apiCode(err) != "ValidationError" || !strings.Contains(err.Error(), "Value '1000' at 'actions.1.member.forwardConfig.targetGroups.1.member.weight' failed to satisfy constraint: Member must have value less than or equal to 999") {
		t.Fatalf("weight 1000: %v", err)
	}
	_, err = lb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(alb.ListenerARN), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward,
		TargetGroupArn: aws.String(strings.Replace(alb.BlueTG, "web-blue", "nope", 1))}}})
	var tnf *elbtypes.TargetGroupNotFoundException
	if !errorsAs(err, &tnf) {
		t.Fatalf("missing target group: %v", err)
	}
}

func TestECSFailTasks(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	emu, srv := awsemu.Start(awsemu.Options{UpdateDelay: time.Minute, Now: clk.Now})
	defer srv.Close()
	ctx := context.Background()
	c := ecsClient(srv.URL)
	emu.CreateCluster("prod")
	alb := emu.SetupALB("web")
	td := registerWeb(t, c, "nginx:bad")
	_, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), DesiredCount: aws.Int32(1),
		DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeExternal}})
	if err != nil {
		t.Fatal(err)
	}
	emu.FailTasks("nginx:bad", "Essential container in task exited")
	ts := createTaskSet(t, c, td, alb.BlueTG, 100)
	for range 3 {
		clk.Advance(2 * time.Minute)
		s := emu.TaskSets("prod", "web")
		if s[0].RunningCount != 0 || s[0].StabilityStatus != "STABILIZING" {
			t.Fatalf("a failing task set: %+v", s[0])
		}
	}
	s, _ := emu.Service("prod", "web")
	if !slices.ContainsFunc(s.Events, func(e string) bool {
		return strings.Contains(e, "(service web, taskSet "+aws.ToString(ts.Id)+") (task ") && strings.HasSuffix(e, "task stopped: Essential container in task exited")
	}) || !slices.ContainsFunc(s.Events, func(e string) bool { return strings.Contains(e, "has started 1 tasks: (task ") }) {
		t.Fatalf("events: %q", s.Events)
	}
	stopped, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), DesiredStatus: ecstypes.DesiredStatusStopped})
	if err != nil || len(stopped.TaskArns) == 0 {
		t.Fatalf("stopped tasks: %v %v", err, stopped)
	}
	dt, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: stopped.TaskArns[:1]})
	if err != nil {
		t.Fatal(err)
	}
	task := dt.Tasks[0]
	if aws.ToString(task.LastStatus) != "STOPPED" || aws.ToString(task.StoppedReason) != "Essential container in task exited" ||
		aws.ToInt32(task.Containers[0].ExitCode) != 1 || task.StopCode != ecstypes.TaskStopCodeEssentialContainerExited {
		t.Fatalf("stopped task: %+v", task)
	}
	emu.FailTasks("", "")
	clk.Advance(2 * time.Minute)
	emu.TaskSets("prod", "web")
	clk.Advance(2 * time.Minute)
	if s := emu.TaskSets("prod", "web"); s[0].RunningCount != 1 || s[0].StabilityStatus != "STEADY_STATE" {
		t.Fatalf("after FailTasks cleared: %+v", s[0])
	}
}

func TestECSRunTaskWaiter(t *testing.T) {
	emu, srv := awsemu.Start(awsemu.Options{UpdateDelay: 50 * time.Millisecond})
	defer srv.Close()
	ctx := context.Background()
	c := ecsClient(srv.URL)
	emu.CreateCluster("jobs")
	td := registerWeb(t, c, "migrate:1")
	out, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("jobs"), TaskDefinition: aws.String(td), Count: aws.Int32(2),
		LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: awsvpc, StartedBy: aws.String("pipe")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 2 || aws.ToString(out.Tasks[0].LastStatus) != "PROVISIONING" {
		t.Fatalf("run-task: %+v", out.Tasks)
	}
	var arns []string
	for _, task := range out.Tasks {
		arns = append(arns, aws.ToString(task.TaskArn))
	}
	w := ecs.NewTasksStoppedWaiter(c, func(o *ecs.TasksStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 50*time.Millisecond
	})
	got, err := w.WaitForOutput(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("jobs"), Tasks: arns}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(got.Tasks[0].Containers[0].ExitCode) != 0 || aws.ToString(got.Tasks[0].StartedBy) != "pipe" {
		t.Fatalf("stopped: %+v", got.Tasks[0])
	}
	lt, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("jobs"), StartedBy: aws.String("pipe"), DesiredStatus: ecstypes.DesiredStatusStopped})
	if err != nil || len(lt.TaskArns) != 2 {
		t.Fatalf("list-tasks: %v %v", err, lt)
	}
}

func errorsAs[T any](err error, target *T) bool {
	return err != nil && errors.As(err, target)
}

func TestECSRollingServiceStable(t *testing.T) {
	emu, srv := awsemu.Start(awsemu.Options{UpdateDelay: 30 * time.Millisecond})
	defer srv.Close()
	ctx := context.Background()
	c := ecsClient(srv.URL)
	emu.CreateCluster("prod")
	td1 := registerWeb(t, c, "nginx:1")
	out, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("api"), DesiredCount: aws.Int32(2),
		TaskDefinition: aws.String(td1), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: awsvpc})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Service.Deployments) != 1 || out.Service.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateInProgress || out.Service.TaskSets != nil {
		t.Fatalf("create-service: %+v", out.Service)
	}
	wait := func() {
		t.Helper()
		w := ecs.NewServicesStableWaiter(c, func(o *ecs.ServicesStableWaiterOptions) {
			o.MinDelay, o.MaxDelay = 10*time.Millisecond, 40*time.Millisecond
		})
		if err := w.Wait(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"api"}}, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	wait()
	td2 := registerWeb(t, c, "nginx:2")
	up, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("api"), TaskDefinition: aws.String(td2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Service.Deployments) != 2 || aws.ToString(up.Service.Deployments[0].Status) != "PRIMARY" || aws.ToString(up.Service.Deployments[0].TaskDefinition) != td2 {
		t.Fatalf("update-service: %+v", up.Service.Deployments)
	}
	wait()
	s, _ := emu.Service("prod", "api")
	if len(s.TaskSets) != 1 || s.TaskSets[0].TaskDefinition != td2 || s.RunningCount != 2 || !strings.Contains(strings.Join(s.Events, "\n"), "deployment completed.") {
		t.Fatalf("after the rollout: %+v", s)
	}
	_, err = c.CreateTaskSet(ctx, &ecs.CreateTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("api"), TaskDefinition: aws.String(td2)})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("a task set of an ECS-controller service: %v", err)
	}
	_, err = c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("api")})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("delete a scaled service: %v", err)
	}
	del, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("api"), Force: aws.Bool(true)})
	if err != nil || aws.ToString(del.Service.Status) != "DRAINING" {
		t.Fatalf("delete-service: %v %+v", err, del)
	}
	time.Sleep(80 * time.Millisecond)
	emu.Service("prod", "api")
	if s, _ := emu.Service("prod", "api"); s.Status != "INACTIVE" {
		t.Fatalf("after delete: %+v", s)
	}
}
