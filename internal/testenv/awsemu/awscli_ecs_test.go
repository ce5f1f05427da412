package awsemu_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
)

const taskDefJSON = `{
  "family": "web",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "256",
  "memory": "512",
  "containerDefinitions": [
    {"name": "web", "image": "nginx:1", "essential": true, "portMappings": [{"containerPort": 80}],
     "environment": [{"name": "MODE", "value": "blue"}]}
  ],
  "tags": [{"key": "team", "value": "pipe"}]
}`

// field walks a decoded JSON value: field(m, "services", 0, "taskSets").
func field(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := field(v, path...).(string)
	return s
}

func num(v any, path ...any) int {
	f, _ := field(v, path...).(float64)
	return int(f)
}

func TestAWSCLIECS(t *testing.T) {
	if _, err := os.Stat(awsCLI); err != nil {
		if os.Getenv("PIPE_REQUIRE_AWSCLI") == "1" {
			t.Fatalf("PIPE_REQUIRE_AWSCLI=1 but %s is missing (apt-get install awscli)", awsCLI)
		}
		t.Skipf("%s is missing (apt-get install awscli)", awsCLI)
	}
	clk := &clock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	emu, srv := awsemu.Start(awsemu.Options{UpdateDelay: time.Minute, Now: clk.Now})
	defer srv.Close()
	dir := t.TempDir()
	c := &cli{t: t, url: srv.URL, dir: dir, home: t.TempDir()}
	sdk, lbc := ecsClient(srv.URL), elbClient(srv.URL)
	ctx := context.Background()
	if err := os.WriteFile(filepath.Join(dir, "td.json"), []byte(taskDefJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// Cluster and task definition.
	cl := c.ok("ecs", "create-cluster", "--cluster-name", "prod")
	dc, err := sdk.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod"}})
	must(err)
	if str(cl, "cluster", "clusterArn") != aws.ToString(dc.Clusters[0].ClusterArn) || str(cl, "cluster", "status") != "ACTIVE" {
		t.Fatalf("create-cluster: %v", cl)
	}
	reg := c.ok("ecs", "register-task-definition", "--cli-input-json", "file://td.json")
	tdArn := str(reg, "taskDefinition", "taskDefinitionArn")
	td, ok := emu.TaskDefinition("web:1")
	sdkTD, err := sdk.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web"), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
	must(err)
	if !ok || tdArn != td.ARN || tdArn != aws.ToString(sdkTD.TaskDefinition.TaskDefinitionArn) || num(reg, "taskDefinition", "revision") != 1 ||
		str(reg, "taskDefinition", "containerDefinitions", 0, "image") != "nginx:1" || td.Images[0] != "nginx:1" || len(sdkTD.Tags) != 1 ||
		str(reg, "tags", 0, "value") != "pipe" || aws.ToInt32(sdkTD.TaskDefinition.ContainerDefinitions[0].PortMappings[0].HostPort) != 80 {
		t.Fatalf("register-task-definition: cli %v, emulator %+v, sdk %+v", reg, td, sdkTD.TaskDefinition)
	}
	got := c.ok("ecs", "describe-task-definition", "--task-definition", "web:1", "--include", "TAGS")
	if str(got, "taskDefinition", "status") != "ACTIVE" || str(got, "tags", 0, "key") != "team" || str(got, "taskDefinition", "containerDefinitions", 0, "environment", 0, "value") != "blue" {
		t.Fatalf("describe-task-definition: %v", got)
	}

	// The load balancer.
	lbOut := c.ok("elbv2", "create-load-balancer", "--name", "web", "--subnets", "subnet-a", "subnet-b", "--security-groups", "sg-1")
	lbArn := str(lbOut, "LoadBalancers", 0, "LoadBalancerArn")
	tg := func(name string) string {
		out := c.ok("elbv2", "create-target-group", "--name", name, "--protocol", "HTTP", "--port", "80", "--vpc-id", "vpc-1", "--target-type", "ip")
		return str(out, "TargetGroups", 0, "TargetGroupArn")
	}
	blueTG, greenTG := tg("web-blue"), tg("web-green")
	li := c.ok("elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTP", "--port", "80", "--default-actions",
		`[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"`+blueTG+`","Weight":100},{"TargetGroupArn":"`+greenTG+`","Weight":0}]}}]`)
	listener := str(li, "Listeners", 0, "ListenerArn")
	if w := emu.Weights(listener)["default"]; w[blueTG] != 100 || w[greenTG] != 0 || len(w) != 2 {
		t.Fatalf("create-listener: %v, weights %v", li, w)
	}
	sdkL, err := lbc.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(lbArn)})
	must(err)
	if aws.ToString(sdkL.Listeners[0].ListenerArn) != listener || num(li, "Listeners", 0, "DefaultActions", 0, "ForwardConfig", "TargetGroups", 0, "Weight") != 100 {
		t.Fatalf("describe-listeners: %+v", sdkL.Listeners)
	}
	rule := c.ok("elbv2", "create-rule", "--listener-arn", listener, "--priority", "10",
		"--conditions", `[{"Field":"path-pattern","PathPatternConfig":{"Values":["/api/*"]}}]`,
		"--actions", `[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"`+blueTG+`","Weight":100},{"TargetGroupArn":"`+greenTG+`","Weight":0}]}}]`)
	ruleArn := str(rule, "Rules", 0, "RuleArn")
	tgs := c.ok("elbv2", "describe-target-groups", "--target-group-arns", greenTG)
	if str(tgs, "TargetGroups", 0, "LoadBalancerArns", 0) != lbArn {
		t.Fatalf("describe-target-groups: %v", tgs)
	}

	// An EXTERNAL service and its first task set.
	svc := c.ok("ecs", "create-service", "--cluster", "prod", "--service-name", "web", "--desired-count", "2",
		"--deployment-controller", "type=EXTERNAL", "--launch-type", "FARGATE", "--propagate-tags", "SERVICE",
		"--network-configuration", "awsvpcConfiguration={subnets=[subnet-a],securityGroups=[sg-1],assignPublicIp=DISABLED}",
		"--tags", "key=app,value=web")
	if str(svc, "service", "deploymentController", "type") != "EXTERNAL" || len(field(svc, "service", "deployments").([]any)) != 0 {
		t.Fatalf("create-service: %v", svc)
	}
	ts := c.ok("ecs", "create-task-set", "--cluster", "prod", "--service", "web", "--task-definition", tdArn, "--external-id", "pipe-1",
		"--launch-type", "FARGATE", "--scale", "value=100,unit=PERCENT",
		"--network-configuration", "awsvpcConfiguration={subnets=[subnet-a],securityGroups=[sg-1]}",
		"--load-balancers", "targetGroupArn="+blueTG+",containerName=web,containerPort=80")
	blueID := str(ts, "taskSet", "id")
	if str(ts, "taskSet", "status") != "ACTIVE" || num(ts, "taskSet", "computedDesiredCount") != 2 || num(ts, "taskSet", "runningCount") != 0 ||
		str(ts, "taskSet", "stabilityStatus") != "STABILIZING" || !strings.HasPrefix(blueID, "ecs-svc/") {
		t.Fatalf("create-task-set: %v", ts)
	}
	c.ok("ecs", "update-service-primary-task-set", "--cluster", "prod", "--service", "web", "--primary-task-set", blueID)
	clk.Advance(2 * time.Minute)
	sets := c.ok("ecs", "describe-task-sets", "--cluster", "prod", "--service", "web", "--task-sets", blueID)
	sdkSets, err := sdk.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskSets: []string{blueID}})
	must(err)
	goSets := emu.TaskSets("prod", "web")
	if str(sets, "taskSets", 0, "stabilityStatus") != "STEADY_STATE" || num(sets, "taskSets", 0, "runningCount") != 2 || str(sets, "taskSets", 0, "status") != "PRIMARY" ||
		string(sdkSets.TaskSets[0].StabilityStatus) != "STEADY_STATE" || sdkSets.TaskSets[0].RunningCount != 2 ||
		goSets[0].StabilityStatus != "STEADY_STATE" || goSets[0].RunningCount != 2 || str(sets, "taskSets", 0, "loadBalancers", 0, "targetGroupArn") != blueTG {
		t.Fatalf("describe-task-sets: cli %v, sdk %+v, emulator %+v", sets, sdkSets.TaskSets, goSets)
	}
	ds := c.ok("ecs", "describe-services", "--cluster", "prod", "--services", "web", "--include", "TAGS")
	sdkSvc, err := sdk.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	must(err)
	goSvc, _ := emu.Service("prod", "web")
	if num(ds, "services", 0, "runningCount") != 2 || sdkSvc.Services[0].RunningCount != 2 || goSvc.RunningCount != 2 ||
		str(ds, "services", 0, "taskDefinition") != tdArn || str(ds, "services", 0, "tags", 0, "value") != "web" ||
		str(ds, "services", 0, "events", 0, "message") != "(service web) has reached a steady state." ||
		aws.ToString(sdkSvc.Services[0].Events[0].Message) != goSvc.Events[0] || str(ds, "services", 0, "taskSets", 0, "id") != goSvc.TaskSets[0].ID {
		t.Fatalf("describe-services: cli %v, sdk %+v, emulator %+v", ds, sdkSvc.Services[0], goSvc)
	}
	th := c.ok("elbv2", "describe-target-health", "--target-group-arn", blueTG)
	if len(field(th, "TargetHealthDescriptions").([]any)) != 2 || str(th, "TargetHealthDescriptions", 0, "TargetHealth", "State") != "healthy" ||
		str(th, "TargetHealthDescriptions", 0, "Target", "Id") != goSets[0].Tasks[0].IP {
		t.Fatalf("describe-target-health: %v, tasks %+v", th, goSets[0].Tasks)
	}

	// A canary, traffic shifted by modify-rule and modify-listener.
	c.ok("ecs", "register-task-definition", "--cli-input-json", "file://td.json")
	canary := c.ok("ecs", "create-task-set", "--cluster", "prod", "--service", "web", "--task-definition", "web:2",
		"--launch-type", "FARGATE", "--scale", "value=50,unit=PERCENT",
		"--network-configuration", "awsvpcConfiguration={subnets=[subnet-a]}",
		"--load-balancers", "targetGroupArn="+greenTG+",containerName=web,containerPort=80")
	greenID := str(canary, "taskSet", "id")
	weights := `[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"` + blueTG + `","Weight":80},{"TargetGroupArn":"` + greenTG + `","Weight":20}]}}]`
	mr := c.ok("elbv2", "modify-rule", "--rule-arn", ruleArn, "--actions", weights)
	c.ok("elbv2", "modify-listener", "--listener-arn", listener, "--default-actions", weights)
	rules := c.ok("elbv2", "describe-rules", "--listener-arn", listener)
	sdkRules, err := lbc.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(listener)})
	must(err)
	w := emu.Weights(listener)
	if num(mr, "Rules", 0, "Actions", 0, "ForwardConfig", "TargetGroups", 1, "Weight") != 20 || w[ruleArn][greenTG] != 20 || w["default"][blueTG] != 80 ||
		str(rules, "Rules", 1, "Priority") != "default" || field(rules, "Rules", 1, "IsDefault") != true ||
		num(rules, "Rules", 0, "Actions", 0, "ForwardConfig", "TargetGroups", 1, "Weight") != int(aws.ToInt32(sdkRules.Rules[0].Actions[0].ForwardConfig.TargetGroups[1].Weight)) ||
		str(rules, "Rules", 0, "Conditions", 0, "PathPatternConfig", "Values", 0) != "/api/*" {
		t.Fatalf("describe-rules: cli %v, weights %v", rules, w)
	}
	c.ok("ecs", "update-task-set", "--cluster", "prod", "--service", "web", "--task-set", greenID, "--scale", "value=100,unit=PERCENT")
	c.ok("ecs", "update-service-primary-task-set", "--cluster", "prod", "--service", "web", "--primary-task-set", greenID)
	del := c.ok("ecs", "delete-task-set", "--cluster", "prod", "--service", "web", "--task-set", blueID, "--force")
	if str(del, "taskSet", "status") != "DRAINING" {
		t.Fatalf("delete-task-set: %v", del)
	}
	clk.Advance(2 * time.Minute)
	all := c.ok("ecs", "describe-task-sets", "--cluster", "prod", "--service", "web")
	if l := field(all, "taskSets").([]any); len(l) != 1 || str(all, "taskSets", 0, "id") != greenID || num(all, "taskSets", 0, "runningCount") != 2 {
		t.Fatalf("after delete-task-set: %v", all)
	}

	// A standalone task.
	run := c.ok("ecs", "run-task", "--cluster", "prod", "--task-definition", "web:2", "--launch-type", "FARGATE", "--started-by", "pipe",
		"--network-configuration", "awsvpcConfiguration={subnets=[subnet-a]}")
	taskArn := str(run, "tasks", 0, "taskArn")
	if str(run, "tasks", 0, "lastStatus") != "PROVISIONING" || str(run, "tasks", 0, "desiredStatus") != "RUNNING" {
		t.Fatalf("run-task: %v", run)
	}
	clk.Advance(2 * time.Minute)
	c.ok("ecs", "wait", "tasks-stopped", "--cluster", "prod", "--tasks", taskArn)
	dt := c.ok("ecs", "describe-tasks", "--cluster", "prod", "--tasks", taskArn)
	sdkTasks, err := sdk.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: []string{taskArn}})
	must(err)
	if str(dt, "tasks", 0, "lastStatus") != "STOPPED" || num(dt, "tasks", 0, "containers", 0, "exitCode") != 0 || field(dt, "tasks", 0, "containers", 0, "exitCode") == nil ||
		aws.ToString(sdkTasks.Tasks[0].StoppedReason) != str(dt, "tasks", 0, "stoppedReason") || str(dt, "tasks", 0, "startedBy") != "pipe" {
		t.Fatalf("describe-tasks: %v", dt)
	}

	// Errors.
	c.fails("ClusterNotFoundException", "Cluster not found.", "ecs", "describe-services", "--cluster", "nope", "--services", "web")
	c.fails("ValidationError", "Member must have value less than or equal to 999", "elbv2", "modify-rule", "--rule-arn", ruleArn, "--actions",
		`[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"`+blueTG+`","Weight":1000}]}}]`)
	c.fails("InvalidParameterException", "Creation of service was not idempotent.", "ecs", "create-service", "--cluster", "prod",
		"--service-name", "web", "--deployment-controller", "type=EXTERNAL")
	c.fails("TargetGroupNotFound", "One or more target groups not found", "elbv2", "modify-listener", "--listener-arn", listener,
		"--default-actions", `[{"Type":"forward","TargetGroupArn":"`+strings.Replace(blueTG, "web-blue", "nope", 1)+`"}]`)
}
