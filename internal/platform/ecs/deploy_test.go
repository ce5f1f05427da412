package ecs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/deploy/deploytest"
	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/execute/executetest"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/state"
	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
)

// world is an emulated AWS with a cluster and a load balancer, and an
// ECS platform pointed at it.
type world struct {
	t   *testing.T
	emu *awsemu.Emulator
	alb awsemu.ALB
	p   *Platform
}

const cluster = "arn:aws:ecs:us-east-1:123456789012:cluster/main"

func newWorld(t *testing.T) *world {
	t.Helper()
	emu, getenv := deploytest.StartAWS(t, awsemu.Options{UpdateDelay: 30 * time.Millisecond})
	emu.CreateCluster("main")
	w := &world{t: t, emu: emu, alb: emu.SetupALB("web")}
	w.p = New(Options{Getenv: getenv, Poll: 10 * time.Millisecond})
	return w
}

// app is the canary app of the planner tests with the emulator's target
// groups.
func (w *world) appYAML(pipeline string) string {
	return `apiVersion: pipecd.dev/v1beta1
kind: ECSApp
spec:
  name: web
  input:
    serviceDefinitionFile: servicedef.yaml
    taskDefinitionFile: taskdef.yaml
    targetGroups:
      primary: {targetGroupArn: ` + w.alb.BlueTG + `, containerName: web, containerPort: 80}
      canary: {targetGroupArn: ` + w.alb.GreenTG + `, containerName: web, containerPort: 80}
` + pipeline
}

const canaryPipeline = `  pipeline:
    stages:
      - name: ECS_CANARY_ROLLOUT
        with: {scale: 50}
      - name: ECS_TRAFFIC_ROUTING
        with: {canary: 20}
      - name: ECS_PRIMARY_ROLLOUT
      - name: ECS_TRAFFIC_ROUTING
        with: {primary: 100}
      - name: ECS_CANARY_CLEAN
`

func (w *world) revision(hash, appYAML, task string) (*deploy.Revision, *config.App) {
	w.t.Helper()
	root, app := tree(w.t, map[string]string{"app.pipecd.yaml": appYAML, "servicedef.yaml": serviceDef, "taskdef.yaml": task})
	return deploy.NewRevision(plan.Commit{Hash: hash}, func(context.Context) (*deploy.Tree, error) {
		return &deploy.Tree{Root: root, App: app}, nil
	}), app
}

func (w *world) deploy(ctx context.Context, head, running *deploy.Revision, app *config.App) (*state.Record, *plan.Plan, error) {
	w.t.Helper()
	return deploytest.Deploy(ctx, w.t, w.p, app, head, running)
}

// weights is the listener's split between blue and green, for every
// rule forwarding to both: "default=100/0 rule=100/0".
func (w *world) weights() string {
	var parts []string
	for rule, tgs := range w.emu.Weights(w.alb.ListenerARN) {
		if _, ok := tgs[w.alb.BlueTG]; !ok {
			continue
		}
		name := "rule"
		if rule == "default" {
			name = "default"
		}
		parts = append(parts, name+"="+itoa(tgs[w.alb.BlueTG])+"/"+itoa(tgs[w.alb.GreenTG]))
	}
	sortStrings(parts)
	return strings.Join(parts, " ")
}

func (w *world) taskSets() string {
	var parts []string
	for _, ts := range w.emu.TaskSets(cluster, "web") {
		if ts.Status == "DRAINING" {
			continue
		}
		parts = append(parts, ts.Status+":"+ts.TaskDefinition[strings.LastIndex(ts.TaskDefinition, "/")+1:])
	}
	sortStrings(parts)
	return strings.Join(parts, " ")
}

func (w *world) deployV1(pipeline string) *deploy.Revision {
	w.t.Helper()
	rev, app := w.revision(strings.Repeat("1", 40), w.appYAML(pipeline), taskDef("v1", "      - {name: LOG_LEVEL, value: info}\n"))
	rec, pl, err := w.deploy(context.Background(), rev, nil, app)
	if err != nil {
		w.t.Fatal(err)
	}
	if pl.Strategy != plan.StrategyQuickSync || rec.Status != state.StatusSucceeded {
		w.t.Fatalf("%s %s", pl.Strategy, rec.Status)
	}
	return rev
}

func TestFirstDeployment(t *testing.T) {
	w := newWorld(t)
	w.deployV1(canaryPipeline)
	if got := w.taskSets(); got != "PRIMARY:web:1" {
		t.Errorf("task sets %s", got)
	}
	svc, ok := w.emu.Service(cluster, "web")
	if !ok || svc.DesiredCount != 2 || svc.RunningCount != 2 {
		t.Errorf("service %+v", svc)
	}
	if got := w.weights(); got != "default=100/0 rule=100/0" {
		t.Errorf("weights %s", got)
	}
}

func TestCanaryPipeline(t *testing.T) {
	w := newWorld(t)
	running := w.deployV1(canaryPipeline)
	head, app := w.revision(strings.Repeat("2", 40), w.appYAML(canaryPipeline), taskDef("v2", "      - {name: LOG_LEVEL, value: debug}\n"))
	rec, pl, err := w.deploy(context.Background(), head, running, app)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Reason != "Sync with pipeline to update image from v1 to v2" {
		t.Errorf("reason %q", pl.Reason)
	}
	var routings []string
	for _, s := range rec.Stages {
		if r := s.Metadata[metaRouting]; r != "" {
			routings = append(routings, r)
		}
	}
	if got := strings.Join(routings, " "); got != "primary=80,canary=20 primary=100,canary=0" {
		t.Errorf("routings %s", got)
	}
	if got := w.taskSets(); got != "PRIMARY:web:2" {
		t.Errorf("task sets %s", got)
	}
	if got := w.weights(); got != "default=100/0 rule=100/0" {
		t.Errorf("weights %s", got)
	}
	// The rule forwarding elsewhere was left alone.
	if other := w.emu.Weights(w.alb.ListenerARN); len(other) < 3 {
		t.Errorf("rules %v", other)
	}
}

func TestCanaryTasksStopRollsBack(t *testing.T) {
	w := newWorld(t)
	running := w.deployV1(canaryPipeline)
	w.emu.FailTasks("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v2", "Essential container in task exited")
	head, app := w.revision(strings.Repeat("2", 40), w.appYAML(canaryPipeline), taskDef("v2", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec, _, err := w.deploy(ctx, head, running, app)
	var f *execute.Failure
	if !errors.As(err, &f) || !f.RolledBack {
		t.Fatalf("err %v (%s)", err, executetest.Statuses(rec))
	}
	if s := executetest.Stage(t, rec, "stage-0"); !strings.Contains(s.Reason, "Essential container in task exited") {
		t.Errorf("reason %q", s.Reason)
	}
	if got := w.taskSets(); !strings.HasPrefix(got, "PRIMARY:web:") || strings.Contains(got, " ") {
		t.Errorf("task sets after the rollback %s", got)
	}
	for _, ts := range w.emu.TaskSets(cluster, "web") {
		if ts.Status != "PRIMARY" {
			continue
		}
		if td, _ := w.emu.TaskDefinition(ts.TaskDefinition); len(td.Images) == 0 || !strings.HasSuffix(td.Images[0], ":v1") || td.Revision != 1 {
			t.Errorf("primary runs %+v: the running commit's revision is reused", td)
		}
	}
	if got := w.weights(); got != "default=100/0 rule=100/0" {
		t.Errorf("weights %s", got)
	}
}

func TestCancelAfterTrafficShiftRollsBack(t *testing.T) {
	w := newWorld(t)
	pipeline := `  pipeline:
    stages:
      - name: ECS_CANARY_ROLLOUT
        with: {scale: 50}
      - name: ECS_TRAFFIC_ROUTING
        with: {canary: 20}
      - name: WAIT
        with: {duration: 1h}
      - name: ECS_PRIMARY_ROLLOUT
`
	running := w.deployV1(pipeline)
	head, app := w.revision(strings.Repeat("2", 40), w.appYAML(pipeline), taskDef("v2", ""))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ctx.Err() == nil {
			if strings.Contains(w.weights(), "80/20") {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	rec, _, err := w.deploy(ctx, head, running, app)
	cancel()
	var f *execute.Failure
	if !errors.As(err, &f) || rec.Status != state.StatusCancelled || !f.RolledBack {
		t.Fatalf("err %v %s", err, executetest.Statuses(rec))
	}
	if got := w.weights(); got != "default=100/0 rule=100/0" {
		t.Errorf("weights %s", got)
	}
	if got := w.taskSets(); strings.Contains(got, " ") {
		t.Errorf("task sets %s", got)
	}
}

func TestDrift(t *testing.T) {
	w := newWorld(t)
	rev := w.deployV1(canaryPipeline)
	tree, _ := rev.Open(context.Background())
	w.p.opts.Root = tree.Root
	check := func() drift.AppResult {
		t.Helper()
		var r drift.AppResult
		if err := w.p.drift(context.Background(), w.p.opts.Root, tree.App, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := check(); r.Status != drift.InSync {
		t.Fatalf("%+v", r)
	}
	w.emu.SetDesiredCount(cluster, "web", 5)
	r := check()
	if r.Status != drift.OutOfSync || len(r.Drift) != 1 || len(r.Drift[0].Fields) != 1 || r.Drift[0].Fields[0].Path != "desiredCount" {
		t.Fatalf("%+v", r)
	}
}

func TestLivePlan(t *testing.T) {
	w := newWorld(t)
	rev := w.deployV1(canaryPipeline)
	_, app := w.revision(strings.Repeat("1", 40), w.appYAML(canaryPipeline), taskDef("v1", "      - {name: LOG_LEVEL, value: info}\n"))
	plan1 := func(head *deploy.Revision) *plan.Plan {
		t.Helper()
		pl, prep, err := w.p.Plan(context.Background(), deploy.PlanRequest{App: app, Head: head, Running: rev, Live: true,
			Input: plan.Input{App: plan.AppOf(app), Head: head.Commit, Running: &plan.Commit{Hash: rev.Commit.Hash}, Now: time.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		prep.Close()
		return pl
	}
	pl := plan1(rev)
	if pl.Mode != plan.ModeLive || len(pl.Changes) != 0 || !strings.Contains(pl.Compared, "primary task set runs task-definition/web:1, 2/2 tasks") {
		t.Fatalf("live plan of what runs: %s %q %+v", pl.Mode, pl.Compared, pl.Changes)
	}
	head, _ := w.revision(strings.Repeat("2", 40), w.appYAML(canaryPipeline), taskDef("v2", "      - {name: LOG_LEVEL, value: info}\n"))
	pl = plan1(head)
	if len(pl.Changes) != 1 || !strings.Contains(pl.Changes[0].Diff, "+    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v2") {
		t.Fatalf("changes %+v", pl.Changes)
	}
}

func TestServiceDiscoveryCanary(t *testing.T) {
	w := newWorld(t)
	app := `apiVersion: pipecd.dev/v1beta1
kind: ECSApp
spec:
  name: web
  input:
    serviceDefinitionFile: servicedef.yaml
    taskDefinitionFile: taskdef.yaml
    accessType: SERVICE_DISCOVERY
  pipeline:
    stages:
      - name: ECS_CANARY_ROLLOUT
        with: {scale: 50}
      - name: ECS_PRIMARY_ROLLOUT
      - name: ECS_CANARY_CLEAN
`
	running, a := w.revision(strings.Repeat("1", 40), app, taskDef("v1", ""))
	if _, _, err := w.deploy(context.Background(), running, nil, a); err != nil {
		t.Fatal(err)
	}
	head, a := w.revision(strings.Repeat("2", 40), app, taskDef("v2", ""))
	var canaryTGs []string
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, ts := range w.emu.TaskSets(cluster, "web") {
				if ts.Status == "ACTIVE" && len(canaryTGs) == 0 {
					canaryTGs = append(canaryTGs, strings.Join(ts.TargetGroups, ",")+"|")
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	rec, _, err := w.deploy(context.Background(), head, running, a)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if executetest.Stage(t, rec, "stage-0").Metadata[metaCanaryTaskSet] == "" {
		t.Error("the canary task set is not recorded")
	}
	if len(canaryTGs) != 1 || canaryTGs[0] != "|" {
		t.Errorf("the canary task set of a service-discovery app is on no target group: %v", canaryTGs)
	}
	if got := w.taskSets(); got != "PRIMARY:web:2" {
		t.Errorf("task sets %s", got)
	}
	// The listener was never touched.
	if got := w.weights(); got != "default=100/0 rule=100/0" {
		t.Errorf("weights %s", got)
	}
}
