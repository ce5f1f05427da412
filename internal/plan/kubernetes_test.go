package plan

import (
	"strings"
	"testing"
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
		forced        Strategy
		commander     string
		wantStrategy  Strategy
		wantRule      Rule
		wantReason    string
	}{
		{
			name: "forced quick sync wins over everything", spec: pipelineBody + "  planner: {alwaysUsePipeline: true}\n",
			running: web1, head: web2, forced: StrategyQuickSync,
			wantStrategy: StrategyQuickSync, wantRule: RuleForced,
			wantReason: "Quick sync because it was forced with --strategy quick",
		},
		{
			name: "forced pipeline", spec: pipelineBody,
			running: web1, head: web1, forced: StrategyPipeline,
			wantStrategy: StrategyPipeline, wantRule: RuleForced,
			wantReason: "Sync with the specified pipeline because it was forced with --strategy pipeline",
		},
		{
			name: "no pipeline configured", spec: "",
			running: web1, head: web2,
			wantStrategy: StrategyQuickSync, wantRule: RuleNoPipeline,
			wantReason: "Quick sync by applying all manifests (no pipeline was configured)",
		},
		{
			name: "no pipeline: empty stage list", spec: "  pipeline: {stages: []}\n",
			running: web1, head: web2,
			wantStrategy: StrategyQuickSync, wantRule: RuleNoPipeline,
			wantReason: "Quick sync by applying all manifests (no pipeline was configured)",
		},
		{
			name: "always use pipeline, even for the first deployment", spec: pipelineBody + "  planner: {alwaysUsePipeline: true}\n",
			running: "-", head: web1,
			wantStrategy: StrategyPipeline, wantRule: RuleAlwaysUsePipeline,
			wantReason: "Sync with the specified pipeline (alwaysUsePipeline was set)",
		},
		{
			name: "commit matcher pipeline", spec: pipelineBody + "  commitMatcher: {pipeline: '^\\[canary\\]'}\n",
			running: "-", head: web1, message: "[canary] try the new parser",
			wantStrategy: StrategyPipeline, wantRule: RuleCommitMatchPipeline,
			wantReason: `Sync progressively because the commit message was matching "^\\[canary\\]"`,
		},
		{
			name: "commit matcher quick sync", spec: pipelineBody + "  commitMatcher: {quickSync: '^hotfix:'}\n",
			running: web1, head: web2, message: "hotfix: roll forward",
			wantStrategy: StrategyQuickSync, wantRule: RuleCommitMatchQuickSync,
			wantReason: `Quick sync by applying all manifests because the commit message was matching "^hotfix:"`,
		},
		{
			name: "commit matcher pipeline is tried before quick sync", spec: pipelineBody + "  commitMatcher: {pipeline: 'deploy', quickSync: 'deploy'}\n",
			running: web1, head: web1, message: "deploy it",
			wantStrategy: StrategyPipeline, wantRule: RuleCommitMatchPipeline,
			wantReason: `Sync progressively because the commit message was matching "deploy"`,
		},
		{
			name: "commit matcher is ignored when a command triggered the deployment", spec: pipelineBody + "  commitMatcher: {pipeline: 'deploy'}\n",
			running: "-", head: web1, message: "deploy it", commander: "alice",
			wantStrategy: StrategyQuickSync, wantRule: RuleFirstDeployment,
			wantReason: "Quick sync by applying all manifests because it seems this is the first deployment",
		},
		{
			name: "first deployment", spec: pipelineBody,
			running: "-", head: web1,
			wantStrategy: StrategyQuickSync, wantRule: RuleFirstDeployment,
			wantReason: "Quick sync by applying all manifests because it seems this is the first deployment",
		},
		{
			name: "no change", spec: pipelineBody,
			running: docs(web1, configMapV1), head: docs(configMapV1, web1),
			wantStrategy: StrategyQuickSync, wantRule: RuleNoChange,
			wantReason: "Quick sync by applying all manifests (nothing changed since the last successful deployment)",
		},
		{
			name: "no running workloads", spec: pipelineBody,
			running: serviceV1, head: docs(serviceV1, web1),
			wantStrategy: StrategyQuickSync, wantRule: RuleNoRunningWorkloads,
			wantReason: "Quick sync by applying all manifests because it was unable to find the currently running workloads",
		},
		{
			name: "no new workloads", spec: pipelineBody,
			running: docs(serviceV1, web1), head: serviceV1,
			wantStrategy: StrategyQuickSync, wantRule: RuleNoNewWorkloads,
			wantReason: "Quick sync by applying all manifests because it was unable to find workloads in the new manifests",
		},
		{
			name: "image change", spec: pipelineBody,
			running: web1, head: web2,
			wantStrategy: StrategyPipeline, wantRule: RuleImageChange,
			wantReason: "Sync progressively because of updating image helloworld from v0.1.0 to v0.2.0",
		},
		{
			name: "image change: another image name", spec: pipelineBody,
			running: web1, head: deployment("web", "ghcr.io/acme/hello:v1", 2, ""),
			wantStrategy: StrategyPipeline, wantRule: RuleImageChange,
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
			wantStrategy: StrategyPipeline, wantRule: RuleImageChange,
			wantReason: "Sync progressively because of updating image helloworld from v0.1.0 to v0.2.0, image migrate from 1.0 to 1.1, image worker from 1.0 to 1.1",
		},
		{
			name: "image change: registry with a port", spec: pipelineBody,
			running: deployment("web", "localhost:5000/web:1", 1, ""), head: deployment("web", "localhost:5000/web:2", 1, ""),
			wantStrategy: StrategyPipeline, wantRule: RuleImageChange,
			wantReason: "Sync progressively because of updating image web from 1 to 2",
		},
		{
			name: "pod template change", spec: pipelineBody,
			running: web1, head: deployment("web", "gcr.io/pipecd/helloworld:v0.1.0", 2, "          env: [{name: LEVEL, value: debug}]\n"),
			wantStrategy: StrategyPipeline, wantRule: RulePodTemplateChange,
			wantReason: "Sync progressively because pod template of workload web was changed",
		},
		{
			name: "pod template change of several workloads", spec: pipelineBody,
			running: docs(web1, deployment("worker", "acme/worker:1.0", 1, "")),
			head: docs(deployment("web", "gcr.io/pipecd/helloworld:v0.1.0", 2, "          args: [--v]\n"),
				deployment("worker", "acme/worker:1.0", 1, "          args: [--v]\n")),
			wantStrategy: StrategyPipeline, wantRule: RulePodTemplateChange,
			wantReason: "Sync progressively because pod templates of workloads web, worker were changed",
		},
		{
			name: "pod template change wins over scaling", spec: pipelineBody,
			running: web1, head: deployment("web", "gcr.io/pipecd/helloworld:v0.2.0", 5, ""),
			wantStrategy: StrategyPipeline, wantRule: RuleImageChange,
			wantReason: "Sync progressively because of updating image helloworld from v0.1.0 to v0.2.0",
		},
		{
			name: "config change: ConfigMap updated", spec: pipelineBody,
			running: docs(web1, configMapV1), head: docs(web1, configMapV2),
			wantStrategy: StrategyPipeline, wantRule: RuleConfigChange,
			wantReason: "Sync progressively because ConfigMap cfg was updated",
		},
		{
			name: "config change: Secret updated", spec: pipelineBody,
			running:      docs(web1, "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: a}\n"),
			head:         docs(web1, "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: b}\n"),
			wantStrategy: StrategyPipeline, wantRule: RuleConfigChange,
			wantReason: "Sync progressively because Secret creds was updated",
		},
		{
			name: "config added", spec: pipelineBody,
			running: web1, head: docs(web1, configMapV1),
			wantStrategy: StrategyPipeline, wantRule: RuleConfigAdded,
			wantReason: "Sync progressively because new 1 configmap/secret added",
		},
		{
			name: "config deleted", spec: pipelineBody,
			running: docs(web1, configMapV1), head: web1,
			wantStrategy: StrategyPipeline, wantRule: RuleConfigDeleted,
			wantReason: "Sync progressively because 1 configmap/secret deleted",
		},
		{
			name: "config deleted: renamed", spec: pipelineBody,
			running: docs(web1, configMapV1), head: docs(web1, strings.Replace(configMapV1, "name: cfg", "name: cfg-2", 1)),
			wantStrategy: StrategyPipeline, wantRule: RuleConfigDeleted,
			wantReason: "Sync progressively because ConfigMap cfg was deleted",
		},
		{
			name: "scale", spec: pipelineBody,
			running: web1, head: deployment("web", "gcr.io/pipecd/helloworld:v0.1.0", 3, ""),
			wantStrategy: StrategyQuickSync, wantRule: RuleScale,
			wantReason: "Quick sync to scale Deployment/web from 2 to 3",
		},
		{
			name: "scale several workloads, sorted, replicas added", spec: pipelineBody,
			running:      docs(deployment("web", "a:1", 2, ""), deployment("api", "b:1", -1, "")),
			head:         docs(deployment("web", "a:1", 4, ""), deployment("api", "b:1", 3, "")),
			wantStrategy: StrategyQuickSync, wantRule: RuleScale,
			wantReason: "Quick sync to scale Deployment/api from <nil> to 3, Deployment/web from 2 to 4",
		},
		{
			name: "other change", spec: pipelineBody,
			running: docs(web1, serviceV1), head: docs(web1, serviceV2),
			wantStrategy: StrategyQuickSync, wantRule: RuleOtherChange,
			wantReason: "Quick sync by applying all manifests",
		},
		{
			name: "other change: workload outside spec.workloads", spec: pipelineBody + "  workloads: [{name: worker}]\n",
			running:      docs(web1, deployment("worker", "acme/worker:1.0", 1, "")),
			head:         docs(web2, deployment("worker", "acme/worker:1.0", 1, "")),
			wantStrategy: StrategyQuickSync, wantRule: RuleOtherChange,
			wantReason: "Quick sync by applying all manifests",
		},
		{
			name: "image change of a StatefulSet listed in spec.workloads", spec: pipelineBody + "  workloads: [{kind: StatefulSet, name: db}]\n",
			running:      strings.Replace(deployment("db", "postgres:16.1", 1, ""), "kind: Deployment", "kind: StatefulSet", 1),
			head:         strings.Replace(deployment("db", "postgres:16.2", 1, ""), "kind: Deployment", "kind: StatefulSet", 1),
			wantStrategy: StrategyPipeline, wantRule: RuleImageChange,
			wantReason: "Sync progressively because of updating image postgres from 16.1 to 16.2",
		},
		{
			name: "no running workloads: StatefulSets are not workloads by default", spec: pipelineBody,
			running:      strings.Replace(deployment("db", "postgres:16.1", 1, ""), "kind: Deployment", "kind: StatefulSet", 1),
			head:         strings.Replace(deployment("db", "postgres:16.2", 1, ""), "kind: Deployment", "kind: StatefulSet", 1),
			wantStrategy: StrategyQuickSync, wantRule: RuleNoRunningWorkloads,
			wantReason: "Quick sync by applying all manifests because it was unable to find the currently running workloads",
		},
		{
			name: "image change: a Deployment moved to another API group is the same workload", spec: pipelineBody,
			running: strings.Replace(web1, "apiVersion: apps/v1", "apiVersion: extensions/v1beta1", 1), head: web2,
			wantStrategy: StrategyPipeline, wantRule: RuleImageChange,
			wantReason: "Sync progressively because of updating image helloworld from v0.1.0 to v0.2.0",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := KubernetesInput{
				App:         App{Name: "web", Kind: "KubernetesApp", Dir: "apps/web"},
				Spec:        k8sSpec(t, tc.spec),
				Head:        Commit{Hash: "2222222222222222222222222222222222222222"},
				HeadMessage: tc.message,
				Desired:     objects(t, tc.head),
				Strategy:    tc.forced,
				Commander:   tc.commander,
				Now:         testTime,
			}
			if in.HeadMessage == "" {
				in.HeadMessage = "update"
			}
			if tc.running != "-" {
				in.Running = &Revision{Commit: Commit{Hash: "1111111111111111111111111111111111111111"}, Objects: objects(t, tc.running)}
			}
			p, err := PlanKubernetes(in)
			if err != nil {
				t.Fatal(err)
			}
			if p.Strategy != tc.wantStrategy || p.Rule != tc.wantRule || p.Reason != tc.wantReason {
				t.Errorf("got %s / %s / %q\nwant %s / %s / %q", p.Strategy, p.Rule, p.Reason, tc.wantStrategy, tc.wantRule, tc.wantReason)
			}
			wantFirst := "K8S_SYNC"
			if tc.wantStrategy == StrategyPipeline {
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
		forced     Strategy
		want       string
	}{
		{"forced pipeline without a pipeline", "", StrategyPipeline, "unable to force sync with pipeline because no pipeline was specified"},
		{"unknown strategy", pipelineBody, Strategy("FAST"), `unknown strategy "FAST"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PlanKubernetes(KubernetesInput{Spec: k8sSpec(t, tc.spec), Strategy: tc.forced, Now: testTime})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := PlanKubernetes(KubernetesInput{}); err == nil {
		t.Fatal("no spec: want an error")
	}
}

func TestParseStrategy(t *testing.T) {
	for in, want := range map[string]Strategy{"": "", "auto": "", "quick": StrategyQuickSync, "QUICK_SYNC": StrategyQuickSync, "quick-sync": StrategyQuickSync, "pipeline": StrategyPipeline} {
		got, err := ParseStrategy(in)
		if err != nil || got != want {
			t.Errorf("ParseStrategy(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseStrategy("fast"); err == nil {
		t.Error("ParseStrategy(fast): want an error")
	}
}

func TestParseImage(t *testing.T) {
	tests := map[string]containerImage{
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
