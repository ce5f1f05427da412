package ecs

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/plan"
)

const canaryApp = `apiVersion: pipecd.dev/v1beta1
kind: ECSApp
spec:
  name: web
  input:
    serviceDefinitionFile: servicedef.yaml
    taskDefinitionFile: taskdef.yaml
    targetGroups:
      primary: {targetGroupArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/1, containerName: web, containerPort: 80}
      canary: {targetGroupArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/2, containerName: web, containerPort: 80}
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

const serviceDef = `cluster: arn:aws:ecs:us-east-1:123456789012:cluster/main
serviceName: web
desiredCount: 2
deploymentController:
  type: EXTERNAL
launchType: FARGATE
networkConfiguration:
  awsvpcConfiguration:
    assignPublicIp: ENABLED
    securityGroups: [sg-1]
    subnets: [subnet-1, subnet-2]
tags:
  - key: team
    value: web
`

func taskDef(tag, env string) string {
	return `family: web
executionRoleArn: arn:aws:iam::123456789012:role/ecsTaskExecutionRole
networkMode: awsvpc
requiresCompatibilities: [FARGATE]
cpu: "256"
memory: "512"
containerDefinitions:
  - name: web
    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:` + tag + `
    essential: true
    portMappings:
      - containerPort: 80
    environment:
` + env
}

// tree writes an app's files and loads its definitions.
func tree(t *testing.T, files map[string]string) (string, *config.App) {
	t.Helper()
	root := t.TempDir()
	for name, data := range files {
		p := filepath.Join(root, "web", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := config.ParseFile("web/app.pipecd.yaml", []byte(files["app.pipecd.yaml"]))
	if !f.Valid() {
		t.Fatalf("app: %v", f.Diags)
	}
	return root, &config.App{Name: "web", Kind: config.KindECSApp, Dir: "web", File: "web/app.pipecd.yaml", Spec: f.Spec.(config.AppSpec)}
}

func defsOf(t *testing.T, files map[string]string) (*Definitions, *config.ECSApplicationSpec) {
	t.Helper()
	root, app := tree(t, files)
	d, err := loadDefinitions(root, app)
	if err != nil {
		t.Fatal(err)
	}
	return d, app.Spec.(*config.ECSApplicationSpec)
}

func TestPlannerRules(t *testing.T) {
	files := func(tag, env string) map[string]string {
		return map[string]string{"app.pipecd.yaml": canaryApp, "servicedef.yaml": serviceDef, "taskdef.yaml": taskDef(tag, env)}
	}
	v1, spec := defsOf(t, files("v1", "      - {name: LOG_LEVEL, value: info}\n      - {name: DB_PASSWORD, value: hunter2-old}\n"))
	v2, _ := defsOf(t, files("v2", "      - {name: LOG_LEVEL, value: debug}\n      - {name: DB_PASSWORD, value: hunter2-new}\n"))
	v1b, _ := defsOf(t, files("v1", "      - {name: LOG_LEVEL, value: debug}\n      - {name: DB_PASSWORD, value: hunter2-old}\n"))
	in := func(head, running *Definitions) planInput {
		i := planInput{Input: plan.Input{App: plan.App{Name: "web", Kind: "ECSApp"}, Head: plan.Commit{Hash: strings.Repeat("b", 40)}, Now: time.Unix(0, 0)},
			Spec: spec, Head: head, Running: running, Compared: running}
		if running != nil {
			i.Input.Running = &plan.Commit{Hash: strings.Repeat("a", 40)}
			i.CompareCommit = i.Input.Running
		}
		return i
	}
	p, err := planECS(in(v1, nil))
	if err != nil {
		t.Fatal(err)
	}
	if p.Strategy != plan.StrategyQuickSync || p.Reason != "Quick sync to deploy image v1 and configure all traffic to it (it seems this is the first deployment)" || len(p.Changes) != 2 {
		t.Errorf("first: %s %q %d", p.Strategy, p.Reason, len(p.Changes))
	}
	p, _ = planECS(in(v2, v1))
	if p.Strategy != plan.StrategyPipeline || p.Rule != plan.RuleImageChange || p.Reason != "Sync with pipeline to update image from v1 to v2" {
		t.Errorf("image: %s %s %q", p.Strategy, p.Rule, p.Reason)
	}
	if len(p.Changes) != 1 || p.Changes[0].Key != "ecs:TaskDefinition:web" || p.Base == nil {
		t.Fatalf("changes %+v", p.Changes)
	}
	diff := p.Changes[0].Diff
	for _, want := range []string{"-    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1", "+    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v2",
		"-        value: info", "+        value: debug", "+        value: '*** (changed)'"} {
		if !strings.Contains(diff, want+"\n") {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	if strings.Contains(diff, "hunter2") {
		t.Errorf("secret shown:\n%s", diff)
	}
	p, _ = planECS(in(v1b, v1))
	if p.Rule != plan.RuleOtherChange || p.Reason != "Sync with the specified pipeline" {
		t.Errorf("config: %s %q", p.Rule, p.Reason)
	}
	p, _ = planECS(in(v1, v1))
	if len(p.Changes) != 0 {
		t.Errorf("no change: %+v", p.Changes)
	}
}

func TestDefinitionErrors(t *testing.T) {
	for _, tc := range []struct {
		name, svc, task, want string
	}{
		{"unknown field", serviceDef, taskDef("v1", "") + "memorySize: 5\n", "web/taskdef.yaml:14:1: unknown field `memorySize`"},
		{"wrong type", serviceDef + "healthCheckGracePeriodSeconds: soon\n", taskDef("v1", ""), "web/servicedef.yaml:15:1: field `healthCheckGracePeriodSeconds` is a string here, expected int32"},
		{"duplicate key", serviceDef + "desiredCount: 3\n", taskDef("v1", ""), `web/servicedef.yaml:15: mapping key "desiredCount" already defined at line 3`},
		{"not external", strings.Replace(serviceDef, "EXTERNAL", "ECS", 1), taskDef("v1", ""), "deploymentController: {type: EXTERNAL}` is required"},
		{"no image", serviceDef, strings.Replace(taskDef("v1", ""), "    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1\n", "", 1), "containerDefinitions[0].image is required"},
		{"alias bomb", serviceDef, "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n", "web/taskdef.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, app := tree(t, map[string]string{"app.pipecd.yaml": canaryApp, "servicedef.yaml": tc.svc, "taskdef.yaml": tc.task})
			_, err := loadDefinitions(root, app)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func sortStrings(s []string) { sort.Strings(s) }

// An application without its task definition file plans with version
// "unknown", as the reason says.
func TestPlanMissingTaskDefinitionVersionUnknown(t *testing.T) {
	d, spec := defsOf(t, map[string]string{"app.pipecd.yaml": canaryApp, "servicedef.yaml": serviceDef})
	if d.Missing == nil {
		t.Fatal("the task definition is not missing")
	}
	p, err := planECS(planInput{Input: plan.Input{App: plan.App{Name: "web", Kind: "ECSApp"}, Head: plan.Commit{Hash: strings.Repeat("b", 40)}, Now: time.Unix(0, 0)}, Spec: spec, Head: d})
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != "unknown" || !strings.Contains(p.Reason, "image unknown") {
		t.Errorf("version %q, reason %q", p.Version, p.Reason)
	}
}

func TestPreFlightRefusesTemplates(t *testing.T) {
	d, _ := defsOf(t, map[string]string{"app.pipecd.yaml": canaryApp, "servicedef.yaml": serviceDef,
		"taskdef.yaml": taskDef("v1", "      - {name: DB_PASSWORD, value: \"{{ .encryptedSecrets.db }}\"}\n")})
	err := (&prepared{head: Target{Defs: d}}).PreFlight(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "web/taskdef.yaml: containerDefinitions[0].environment[0].value is a template of PipeCD's secret management or attachments ({{ .encryptedSecrets.db }})") {
		t.Errorf("err = %v", err)
	}
	d, _ = defsOf(t, map[string]string{"app.pipecd.yaml": canaryApp, "servicedef.yaml": serviceDef, "taskdef.yaml": taskDef("v1", "      - {name: A, value: b}\n")})
	if err := (&prepared{head: Target{Defs: d}}).PreFlight(context.Background(), nil); err != nil {
		t.Error(err)
	}
}
