package kubernetes

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/plan"
)

const (
	pipelineBody = `  pipeline:
    stages:
      - name: K8S_CANARY_ROLLOUT
        with: {replicas: 10%}
      - name: K8S_PRIMARY_ROLLOUT
      - name: K8S_CANARY_CLEAN
`
	configMapV1 = `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {level: info}
`
	configMapV2 = `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {level: debug}
`
	serviceV1 = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80}]
`
	serviceV2 = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 8080}]
`
)

func docs(ds ...string) string { return strings.Join(ds, "---\n") }

// TestPlanKubernetesRules has one case per planner rule, named after it,
// in PipeCD's order.
func TestPlanKubernetesRules(t *testing.T) {
	web1 := deployment("web", "gcr.io/pipecd/helloworld:v0.1.0", 2, "")
	web2 := deployment("web", "gcr.io/pipecd/helloworld:v0.2.0", 2, "")
	tests := []struct {
		name string
		spec string // spec body after name
		// running is the last deployed state; "-" means no deployment recorded.
		running, head string
		message       string
		forced        plan.Strategy
		commander     string
		wantStrategy  plan.Strategy
		wantRule      plan.Rule
		wantReason    string
	}{
		{
			name: "forced quick sync wins over everything", spec: pipelineBody + "  planner: {alwaysUsePipeline: true}\n",
			running: web1, head: web2, forced: plan.StrategyQuickSync,
			wantStrategy: plan.StrategyQuickSync, wantRule: plan.RuleForced,
			wantReason: "Quick sync because it was forced with --strategy quick",
		},
		{
			name: "forced pipeline", spec: pipelineBody,
			running: web1, head: web1, forced: plan.StrategyPipeline,
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RuleForced,
			wantReason: "Sync with the specified pipeline because it was forced with --strategy pipeline",
		},
		{
			name: "no pipeline configured", spec: "",
			running: web1, head: web2,
			wantStrategy: plan.StrategyQuickSync, wantRule: plan.RuleNoPipeline,
			wantReason: "Quick sync by applying all manifests (no pipeline was configured)",
		},
		{
			name: "no pipeline: empty stage list", spec: "  pipeline: {stages: []}\n",
			running: web1, head: web2,
			wantStrategy: plan.StrategyQuickSync, wantRule: plan.RuleNoPipeline,
			wantReason: "Quick sync by applying all manifests (no pipeline was configured)",
		},
		{
			name: "always use pipeline, even for the first deployment", spec: pipelineBody + "  planner: {alwaysUsePipeline: true}\n",
			running: "-", head: web1,
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RuleAlwaysUsePipeline,
			wantReason: "Sync with the specified pipeline (alwaysUsePipeline was set)",
		},
		{
			name: "commit matcher pipeline", spec: pipelineBody + "  commitMatcher: {pipeline: '^\\[canary\\]'}\n",
			running: "-", head: web1, message: "[canary] try the new parser",
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RuleCommitMatchPipeline,
			wantReason: `Sync progressively because the commit message was matching "^\\[canary\\]"`,
		},
		{
			name: "commit matcher quick sync", spec: pipelineBody + "  commitMatcher: {quickSync: '^hotfix:'}\n",
			running: web1, head: web2, message: "hotfix: roll forward",
			wantStrategy: plan.StrategyQuickSync, wantRule: plan.RuleCommitMatchQuickSync,
			wantReason: `Quick sync by applying all manifests because the commit message was matching "^hotfix:"`,
		},
		{
			name: "commit matcher pipeline is tried before quick sync", spec: pipelineBody + "  commitMatcher: {pipeline: 'deploy', quickSync: 'deploy'}\n",
			running: web1, head: web1, message: "deploy it",
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RuleCommitMatchPipeline,
			wantReason: `Sync progressively because the commit message was matching "deploy"`,
		},
		{
			name: "commit matcher is ignored when a command triggered the deployment", spec: pipelineBody + "  commitMatcher: {pipeline: 'deploy'}\n",
			running: "-", head: web1, message: "deploy it", commander: "alice",
			wantStrategy: plan.StrategyQuickSync, wantRule: plan.RuleFirstDeployment,
			wantReason: "Quick sync by applying all manifests because it seems this is the first deployment",
		},
		{
			name: "first deployment", spec: pipelineBody,
			running: "-", head: web1,
			wantStrategy: plan.StrategyQuickSync, wantRule: plan.RuleFirstDeployment,
			wantReason: "Quick sync by applying all manifests because it seems this is the first deployment",
		},
		{
			name: "no change", spec: pipelineBody,
			running: docs(web1, configMapV1), head: docs(configMapV1, web1),
			wantStrategy: plan.StrategyQuickSync, wantRule: plan.RuleNoChange,
			wantReason: "Quick sync by applying all manifests (nothing changed since the last successful deployment)",
		},
		{
			name: "no running workloads", spec: pipelineBody,
			running: serviceV1, head: docs(serviceV1, web1),
			wantStrategy: plan.StrategyQuickSync, wantRule: plan.RuleNoRunningWorkloads,
			wantReason: "Quick sync by applying all manifests because it was unable to find the currently running workloads",
		},
		{
			name: "no new workloads", spec: pipelineBody,
			running: docs(serviceV1, web1), head: serviceV1,
			wantStrategy: plan.StrategyQuickSync, wantRule: plan.RuleNoNewWorkloads,
			wantReason: "Quick sync by applying all manifests because it was unable to find workloads in the new manifests",
		},
		{
			name: "image change", spec: pipelineBody,
			running: web1, head: web2,
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RuleImageChange,
			wantReason: "Sync progressively because of updating image helloworld from v0.1.0 to v0.2.0",
		},
		{
			name: "image change: another image name", spec: pipelineBody,
			running: web1, head: deployment("web", "ghcr.io/acme/hello:v1", 2, ""),
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RuleImageChange,
			wantReason: "Sync progressively because of updating image helloworld:v0.1.0 to hello:v1",
		},
		{
			name: "image change: several images across workloads, init containers included", spec: pipelineBody,
			running: docs(web1, deployment("worker", "acme/worker:1.0", 1, `      initContainers:
        - name: migrate
          image: acme/migrate:1.0
`)),
			head: docs(web2, deployment("worker", "acme/worker:1.1", 1, `      initContainers:
        - name: migrate
          image: acme/migrate:1.1
`)),
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RuleImageChange,
			wantReason: "Sync progressively because of updating image helloworld from v0.1.0 to v0.2.0, image migrate from 1.0 to 1.1, image worker from 1.0 to 1.1",
		},
		{
			name: "image change: registry with a port", spec: pipelineBody,
			running: deployment("web", "localhost:5000/web:1", 1, ""), head: deployment("web", "localhost:5000/web:2", 1, ""),
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RuleImageChange,
			wantReason: "Sync progressively because of updating image web from 1 to 2",
		},
		{
			name: "pod template change", spec: pipelineBody,
			running: web1, head: deployment("web", "gcr.io/pipecd/helloworld:v0.1.0", 2, "          env: [{name: LEVEL, value: debug}]\n"),
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RulePodTemplateChange,
			wantReason: "Sync progressively because pod template of workload web was changed",
		},
		{
			name: "pod template change of several workloads", spec: pipelineBody,
			running: docs(web1, deployment("worker", "acme/worker:1.0", 1, "")),
			head: docs(deployment("web", "gcr.io/pipecd/helloworld:v0.1.0", 2, "          args: [--v]\n"),
				deployment("worker", "acme/worker:1.0", 1, "          args: [--v]\n")),
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RulePodTemplateChange,
			wantReason: "Sync progressively because pod templates of workloads web, worker were changed",
		},
		{
			name: "pod template change wins over scaling", spec: pipelineBody,
			running: web1, head: deployment("web", "gcr.io/pipecd/helloworld:v0.2.0", 5, ""),
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RuleImageChange,
			wantReason: "Sync progressively because of updating image helloworld from v0.1.0 to v0.2.0",
		},
		{
			name: "config change: ConfigMap updated", spec: pipelineBody,
			running: docs(web1, configMapV1), head: docs(web1, configMapV2),
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RuleConfigChange,
			wantReason: "Sync progressively because ConfigMap cfg was updated",
		},
		{
			name: "config change: Secret updated", spec: pipelineBody,
			running:      docs(web1, "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: a}\n"),
			head:         docs(web1, "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: b}\n"),
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RuleConfigChange,
			wantReason: "Sync progressively because Secret creds was updated",
		},
		{
			name: "config added", spec: pipelineBody,
			running: web1, head: docs(web1, configMapV1),
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RuleConfigAdded,
			wantReason: "Sync progressively because new 1 configmap/secret added",
		},
		{
			name: "config deleted", spec: pipelineBody,
			running: docs(web1, configMapV1), head: web1,
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RuleConfigDeleted,
			wantReason: "Sync progressively because 1 configmap/secret deleted",
		},
		{
			name: "config deleted: renamed", spec: pipelineBody,
			running: docs(web1, configMapV1), head: docs(web1, strings.Replace(configMapV1, "name: cfg", "name: cfg-2", 1)),
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RuleConfigDeleted,
			wantReason: "Sync progressively because ConfigMap cfg was deleted",
		},
		{
			name: "scale", spec: pipelineBody,
			running: web1, head: deployment("web", "gcr.io/pipecd/helloworld:v0.1.0", 3, ""),
			wantStrategy: plan.StrategyQuickSync, wantRule: plan.RuleScale,
			wantReason: "Quick sync to scale Deployment/web from 2 to 3",
		},
		{
			name: "scale several workloads, sorted, replicas added", spec: pipelineBody,
			running:      docs(deployment("web", "a:1", 2, ""), deployment("api", "b:1", -1, "")),
			head:         docs(deployment("web", "a:1", 4, ""), deployment("api", "b:1", 3, "")),
			wantStrategy: plan.StrategyQuickSync, wantRule: plan.RuleScale,
			wantReason: "Quick sync to scale Deployment/api from <nil> to 3, Deployment/web from 2 to 4",
		},
		{
			name: "other change", spec: pipelineBody,
			running: docs(web1, serviceV1), head: docs(web1, serviceV2),
			wantStrategy: plan.StrategyQuickSync, wantRule: plan.RuleOtherChange,
			wantReason: "Quick sync by applying all manifests",
		},
		{
			name: "other change: workload outside spec.workloads", spec: pipelineBody + "  workloads: [{name: worker}]\n",
			running:      docs(web1, deployment("worker", "acme/worker:1.0", 1, "")),
			head:         docs(web2, deployment("worker", "acme/worker:1.0", 1, "")),
			wantStrategy: plan.StrategyQuickSync, wantRule: plan.RuleOtherChange,
			wantReason: "Quick sync by applying all manifests",
		},
		{
			name: "image change of a StatefulSet listed in spec.workloads", spec: pipelineBody + "  workloads: [{kind: StatefulSet, name: db}]\n",
			running:      strings.Replace(deployment("db", "postgres:16.1", 1, ""), "kind: Deployment", "kind: StatefulSet", 1),
			head:         strings.Replace(deployment("db", "postgres:16.2", 1, ""), "kind: Deployment", "kind: StatefulSet", 1),
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RuleImageChange,
			wantReason: "Sync progressively because of updating image postgres from 16.1 to 16.2",
		},
		{
			name: "no running workloads: StatefulSets are not workloads by default", spec: pipelineBody,
			running:      strings.Replace(deployment("db", "postgres:16.1", 1, ""), "kind: Deployment", "kind: StatefulSet", 1),
			head:         strings.Replace(deployment("db", "postgres:16.2", 1, ""), "kind: Deployment", "kind: StatefulSet", 1),
			wantStrategy: plan.StrategyQuickSync, wantRule: plan.RuleNoRunningWorkloads,
			wantReason: "Quick sync by applying all manifests because it was unable to find the currently running workloads",
		},
		{
			name: "image change: a Deployment moved to another API group is the same workload", spec: pipelineBody,
			running: strings.Replace(web1, "apiVersion: apps/v1", "apiVersion: extensions/v1beta1", 1), head: web2,
			wantStrategy: plan.StrategyPipeline, wantRule: plan.RuleImageChange,
			wantReason: "Sync progressively because of updating image helloworld from v0.1.0 to v0.2.0",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := kubernetesInput{
				Input:   plan.Input{App: plan.App{Name: "web", Kind: "KubernetesApp", Dir: "apps/web"}, Head: plan.Commit{Hash: "2222222222222222222222222222222222222222"}, HeadMessage: tc.message, Strategy: tc.forced, Commander: tc.commander, Now: testTime},
				Spec:    k8sSpec(t, tc.spec),
				Desired: objects(t, tc.head),
			}
			if in.HeadMessage == "" {
				in.HeadMessage = "update"
			}
			if tc.running != "-" {
				in.RunningState = &planRevision{Commit: plan.Commit{Hash: "1111111111111111111111111111111111111111"}, Objects: objects(t, tc.running)}
			}
			p, err := planKubernetes(in)
			if err != nil {
				t.Fatal(err)
			}
			if p.Strategy != tc.wantStrategy || p.Rule != tc.wantRule || p.Reason != tc.wantReason {
				t.Errorf("got %s / %s / %q\nwant %s / %s / %q", p.Strategy, p.Rule, p.Reason, tc.wantStrategy, tc.wantRule, tc.wantReason)
			}
			wantFirst := "K8S_SYNC"
			if tc.wantStrategy == plan.StrategyPipeline {
				wantFirst = "K8S_CANARY_ROLLOUT"
			}
			if got := string(p.Stages[0].Name); got != wantFirst {
				t.Errorf("first stage %s, want %s", got, wantFirst)
			}
		})
	}
}

func TestPlanKubernetesErrors(t *testing.T) {
	tests := []struct {
		name, spec string
		forced     plan.Strategy
		want       string
	}{
		{"forced pipeline without a pipeline", "", plan.StrategyPipeline, "unable to force sync with pipeline because no pipeline was specified"},
		{"unknown strategy", pipelineBody, plan.Strategy("FAST"), `unknown strategy "FAST"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := planKubernetes(kubernetesInput{Input: plan.Input{Strategy: tc.forced, Now: testTime}, Spec: k8sSpec(t, tc.spec)})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := planKubernetes(kubernetesInput{}); err == nil {
		t.Fatal("no spec: want an error")
	}
}

func TestParseImage(t *testing.T) {
	tests := map[string]imageRef{
		"gcr.io/pipecd/helloworld:v1.0.0": {"helloworld", "v1.0.0"},
		"nginx":                           {"nginx", "latest"},
		"nginx:1.25":                      {"nginx", "1.25"},
		"localhost:5000/team/web":         {"web", "latest"},
		"localhost:5000/web:2":            {"web", "2"},
		"web@sha256:0123456789abcdef0123": {"web", "sha256:0123456789ab"},
		"web:1@sha256:0123456789abcdef01": {"web", "1@sha256:0123456789ab"},
	}
	for ref, want := range tests {
		if got := parseImage(ref); got != want {
			t.Errorf("parseImage(%q) = %+v, want %+v", ref, got, want)
		}
	}
}

func TestImageVersion(t *testing.T) {
	one := objects(t, deployment("web", "gcr.io/pipecd/helloworld:v1.0.0", 1, ""))
	if got := imageVersion(one, nil); got != "v1.0.0" {
		t.Errorf("one image: %q", got)
	}
	two := objects(t, docs(deployment("web", "gcr.io/pipecd/helloworld:v1.0.0", 1, ""), deployment("api", "acme/api:v0.5.0", 1, "")))
	if got := imageVersion(two, nil); got != "v1.0.0 (helloworld), v0.5.0 (api)" {
		t.Errorf("two images: %q", got)
	}
	if got := imageVersion(objects(t, serviceV1), nil); got != "" {
		t.Errorf("no workload: %q", got)
	}
}

const fullPipeline = `  pipeline:
    stages:
      - name: K8S_CANARY_ROLLOUT
        desc: Rollout canary
        with: {replicas: 10%}
      - name: WAIT
        with: {duration: 30s}
      - id: analysis
        name: ANALYSIS
        timeout: 15m
        with:
          duration: 10m
          metrics:
            - provider: prom
              query: sum(rate(http_errors_total[1m]))
              expected: {max: 0.01}
              interval: 1m
              failureLimit: 1
            - template: {name: latency}
          https:
            - url: https://web.example.com/healthz
              expectedCode: 200
              interval: 30s
      - name: WAIT_APPROVAL
        with: {approvers: [alice, bob]}
      - name: SCRIPT_RUN
        with: {run: ./smoke.sh, onRollback: ./undo.sh}
      - name: WAIT
        with:
          duration: 5m
          skipOn: {commitMessagePrefixes: ["chore:"]}
      - name: K8S_PRIMARY_ROLLOUT
        with: {prune: true}
      - name: K8S_TRAFFIC_ROUTING
        with: {all: primary}
      - name: K8S_CANARY_CLEAN
`

// pipelinePlan is a pipeline plan of an image update with every kind of
// change and stage.
func pipelinePlan(t *testing.T) *plan.Plan {
	t.Helper()
	running := objects(t, docs(
		deployment("web", "gcr.io/pipecd/helloworld:v0.1.0", 2, ""),
		serviceV1,
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: legacy}\n",
	))
	head := objects(t, docs(
		deployment("web", "gcr.io/pipecd/helloworld:v0.2.0", 2, ""),
		serviceV1,
		"apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: hunter2}\n",
	))
	head[0].Source = "apps/web/deployment.yaml:1"
	head[2].Source = "apps/web/secret.yaml:1"
	p, err := planKubernetes(kubernetesInput{
		Input:        plan.Input{App: plan.App{Name: "web", Kind: "KubernetesApp", Dir: "apps/web", File: "apps/web/app.pipecd.yaml", Labels: map[string]string{"env": "prod"}}, Head: plan.Commit{Hash: "2222222222222222222222222222222222222222", Subject: "chore: bump helloworld"}, HeadMessage: "chore: bump helloworld\n\nto v0.2.0", ConfigDigest: "sha256:c0nf16", Now: testTime},
		Spec:         k8sSpec(t, fullPipeline),
		RunningState: &planRevision{Commit: plan.Commit{Hash: "1111111111111111111111111111111111111111", Subject: "deploy v0.1.0"}, Objects: running},
		Desired:      head,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestQuickSyncStages(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		want       []string
	}{
		{"auto rollback", "", []string{"K8sSync K8S_SYNC", "Rollback ROLLBACK"}},
		{"no auto rollback", "  planner: {autoRollback: false}\n", []string{"K8sSync K8S_SYNC"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := planKubernetes(kubernetesInput{Input: plan.Input{Now: testTime}, Spec: k8sSpec(t, tc.spec)})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range p.Stages {
				got = append(got, s.ID+" "+string(s.Name))
			}
			if !reflect.DeepEqual(got, tc.want) || p.Stages[0].Desc != "Sync by applying all manifests" || !p.Stages[0].Predefined {
				t.Errorf("stages %q (%+v), want %q", got, p.Stages[0], tc.want)
			}
		})
	}
}

func TestPlanChanges(t *testing.T) {
	p := pipelinePlan(t)
	var got []string
	for _, c := range p.Changes {
		got = append(got, string(c.Action)+" "+c.Key)
	}
	want := []string{"change apps:Deployment:default:web", "add :Secret:default:creds", "delete :ServiceAccount:default:legacy"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes %q, want %q", got, want)
	}
	if p.Summary != (plan.Summary{Added: 1, Changed: 1, Deleted: 1}) || !p.HasChanges() {
		t.Errorf("summary %+v", p.Summary)
	}
	// The pipeline prunes (K8S_PRIMARY_ROLLOUT prune: true): no note.
	if p.Changes[2].Note != "" {
		t.Errorf("note on a pruned deletion: %q", p.Changes[2].Note)
	}
	if p.Base == nil || p.Base.Hash != p.Running.Hash || p.Mode != plan.ModeOffline {
		t.Errorf("base %+v, mode %s", p.Base, p.Mode)
	}

	quick, err := planKubernetes(kubernetesInput{
		Input:        plan.Input{Head: plan.Commit{Hash: "2"}, Now: testTime},
		Spec:         k8sSpec(t, ""),
		RunningState: &planRevision{Commit: plan.Commit{Hash: "1"}, Objects: objects(t, serviceV1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(quick.Changes) != 1 || quick.Changes[0].Action != plan.ActionDelete || !strings.Contains(quick.Changes[0].Note, "pruning is off") {
		t.Errorf("deletion without prune: %+v", quick.Changes)
	}
}

func TestPlanBaseRevision(t *testing.T) {
	p, err := planKubernetes(kubernetesInput{
		Input:   plan.Input{Head: plan.Commit{Hash: "2"}, Now: testTime},
		Spec:    k8sSpec(t, pipelineBody),
		Desired: objects(t, deployment("web", "a:2", 1, "")),
		Base:    &planRevision{Commit: plan.Commit{Hash: "0"}, Objects: objects(t, deployment("web", "a:1", 1, ""))},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The base is what the changes compare with; the strategy still sees
	// a first deployment.
	if p.Rule != plan.RuleFirstDeployment || p.Base == nil || p.Base.Hash != "0" || p.Running != nil {
		t.Errorf("rule %s, base %+v, running %+v", p.Rule, p.Base, p.Running)
	}
	if len(p.Changes) != 1 || p.Changes[0].Action != plan.ActionChange {
		t.Errorf("changes %+v", p.Changes)
	}
}

// TestPlanLive compares the live objects with the dry-run results: what the
// server maintains is not a change, what people changed is.
func TestPlanLive(t *testing.T) {
	live := objects(t, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  uid: 1b7e
  resourceVersion: "100"
  generation: 4
  annotations:
    pipecd.dev/commit-hash: "1111111"
    deployment.kubernetes.io/revision: "4"
  managedFields: [{manager: pipe}]
spec:
  replicas: 2
  template:
    spec:
      containers: [{name: app, image: "web:1", terminationMessagePath: /dev/termination-log}]
status: {readyReplicas: 2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: stale, namespace: default, resourceVersion: "7"}
`)
	dry := objects(t, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  uid: 1b7e
  resourceVersion: "100"
  generation: 5
  annotations:
    pipecd.dev/commit-hash: "2222222"
    deployment.kubernetes.io/revision: "4"
  managedFields: [{manager: pipe}, {manager: kubectl}]
spec:
  replicas: 2
  template:
    spec:
      containers: [{name: app, image: "web:2", terminationMessagePath: /dev/termination-log}]
status: {readyReplicas: 2}
`)
	desired := objects(t, docs(
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers: [{name: app, image: \"web:2\"}]\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n",
	))
	in := kubernetesInput{
		Input:   plan.Input{Head: plan.Commit{Hash: "2222222"}, Now: testTime, ConfigDigest: "sha256:c"},
		Spec:    k8sSpec(t, "  quickSync: {prune: true}\n"),
		Desired: desired,
		Live:    &liveState{Objects: live, DryRun: dry[:1]},
	}
	p, err := planKubernetes(in)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "live_changes.golden", renderChanges(p.Changes))
	if p.Mode != plan.ModeLive || p.Base != nil || p.Source.Live == nil || len(p.Source.Live.Objects) != 2 {
		t.Errorf("mode %s, base %v, live fingerprint %+v", p.Mode, p.Base, p.Source.Live)
	}

	// The same observation verifies; a change to a live object does not.
	if err := p.Verify(plan.Fingerprint{HeadCommit: "2222222", Config: "sha256:c", Desired: desiredDigest(desired), Live: liveDigest(live)}); err != nil {
		t.Errorf("same state: %v", err)
	}
	// Status updates and bookkeeping do not make the plan stale.
	churned := objects(t, strings.NewReplacer(`readyReplicas: 2`, `readyReplicas: 1`, `resourceVersion: "100"`, `resourceVersion: "101"`).Replace(liveYAML(t, live)))
	if err := p.Verify(plan.Fingerprint{HeadCommit: "2222222", Config: "sha256:c", Live: liveDigest(churned)}); err != nil {
		t.Errorf("status churn: %v", err)
	}
	changed := objects(t, strings.Replace(liveYAML(t, live), "replicas: 2", "replicas: 5", 1))
	err = p.Verify(plan.Fingerprint{HeadCommit: "2222222", Config: "sha256:c", Live: liveDigest(changed[:1])})
	want := "the plan is stale: the live objects changed since the plan was made: 1 changed (apps:Deployment:default:web), 1 deleted (:ConfigMap:default:stale)"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

// liveYAML renders objects back to YAML documents for editing in tests.
func liveYAML(t *testing.T, objs []planObject) string {
	t.Helper()
	var parts []string
	for _, o := range objs {
		parts = append(parts, yamlDoc(t, jsonValue(o.Object.Object).(map[string]any)))
	}
	return strings.Join(parts, "---\n")
}

// TestDigests pins the digests' format: saved plans carry them, and a
// digest computed otherwise would make every saved plan stale.
func TestDigests(t *testing.T) {
	objs := objects(t, docs(deployment("web", "web:1", 2, ""), serviceV1,
		"apiVersion: v1\nkind: Secret\nmetadata: {name: s, uid: u1, resourceVersion: '1'}\nstringData: {password: a}\n"))
	if got := desiredDigest(objs); got != "sha256:f6d6f1258c9819c9a60b2368f14e683369212859b09fdee57f4d023a630f35af" {
		t.Errorf("desired digest %s", got)
	}
	want := &plan.LiveFingerprint{Digest: "sha256:37b90190124e66378aab0141bbb8927934da880c8d241471f4f46a20075bbcb9", Objects: map[string]string{
		":Secret:default:s":           "sha256:84d29406c10f58556582605e76d36b715b6e366f79b7525b4bc64f2361486895",
		":Service:default:web":        "sha256:8e2866e1bb63cb4794f78b518df4a6373e0a315814fee7056fe73c51129532be",
		"apps:Deployment:default:web": "sha256:c25542535c6841f46347efad182e96dd40030d46da963a4ec49cfe476c60350a",
	}}
	if got := liveDigest(objs); !reflect.DeepEqual(got, want) {
		t.Errorf("live digest %+v\nwant %+v", got, want)
	}
	none := &plan.LiveFingerprint{Digest: "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Objects: map[string]string{}}
	if got := liveDigest(nil); !reflect.DeepEqual(got, none) {
		t.Errorf("live digest of nothing %+v", got)
	}
	if got := desiredDigest(nil); got != "" {
		t.Errorf("desired digest of nothing %q", got)
	}
}

func TestDigestsHideSecrets(t *testing.T) {
	a := objects(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s, uid: u1, resourceVersion: '1'}\nstringData: {password: a}\n")
	b := objects(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s, uid: u1, resourceVersion: '1'}\nstringData: {password: b}\n")
	if desiredDigest(a) != desiredDigest(b) {
		t.Error("the desired digest depends on Secret values")
	}
	if liveDigest(a).Digest != liveDigest(b).Digest {
		t.Error("the live digest depends on Secret values")
	}
	c := objects(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s, uid: u1, resourceVersion: '2'}\nstringData: {password: b}\n")
	if liveDigest(a).Digest == liveDigest(c).Digest {
		t.Error("the live digest ignores a Secret's new resourceVersion")
	}
}

// TestPlanJSONGolden checks the planner's plan of pipelinePlan, JSON form,
// against internal/plan's testdata/plan_pipeline.json (its TestJSONRoundTrip
// checks the same file, built by hand: what the planner makes is what
// reports and saved plans are tested with). The desired digest in it must
// not change: saved plans are verified against it.
func TestPlanJSONGolden(t *testing.T) {
	p := pipelinePlan(t)
	var buf bytes.Buffer
	if err := p.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	planGolden(t, "plan_pipeline.json", buf.Bytes())
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range [][]byte{data, buf.Bytes()} {
		back, err := plan.Decode(form)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, p) {
			again, _ := json.MarshalIndent(back, "", "  ")
			t.Errorf("round trip differs:\n%s", again)
		}
	}
	if bytes.Contains(data, []byte("hunter2")) || bytes.Contains(data, []byte("aHVudGVyMg")) {
		t.Error("the plan JSON contains a Secret value")
	}
}

// TestPlanTextGolden checks the planner's plans printed, against
// internal/plan's testdata/plan_pipeline.txt and plan_first.txt (its
// TestWriteText checks the same files with hand-made plans).
func TestPlanTextGolden(t *testing.T) {
	p := pipelinePlan(t)
	var b bytes.Buffer
	if err := p.WriteText(&b, plan.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	planGolden(t, "plan_pipeline.txt", b.Bytes())

	first, err := planKubernetes(kubernetesInput{
		Input:   plan.Input{App: plan.App{Name: "web", Kind: "KubernetesApp", Dir: "apps/web"}, Head: plan.Commit{Hash: "2222222222", Subject: "first"}, Now: testTime},
		Spec:    k8sSpec(t, ""),
		Desired: objects(t, serviceV1),
	})
	if err != nil {
		t.Fatal(err)
	}
	var f bytes.Buffer
	_ = first.WriteText(&f, plan.TextOptions{})
	planGolden(t, "plan_first.txt", f.Bytes())
}
