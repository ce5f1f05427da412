package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
)

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
func pipelinePlan(t *testing.T) *Plan {
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
	p, err := PlanKubernetes(KubernetesInput{
		App:          App{Name: "web", Kind: "KubernetesApp", Dir: "apps/web", File: "apps/web/app.pipecd.yaml", Labels: map[string]string{"env": "prod"}},
		Spec:         k8sSpec(t, fullPipeline),
		Head:         Commit{Hash: "2222222222222222222222222222222222222222", Subject: "chore: bump helloworld"},
		HeadMessage:  "chore: bump helloworld\n\nto v0.2.0",
		Running:      &Revision{Commit: Commit{Hash: "1111111111111111111111111111111111111111", Subject: "deploy v0.1.0"}, Objects: running},
		Desired:      head,
		ConfigDigest: "sha256:c0nf16",
		Now:          testTime,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPipelineStages(t *testing.T) {
	p := pipelinePlan(t)
	type row struct {
		id, name string
		index    int
		rollback bool
		requires string
		skip     bool
	}
	var got []row
	for _, s := range p.Stages {
		got = append(got, row{s.ID, string(s.Name), s.Index, s.Rollback, strings.Join(s.Requires, ","), s.Skip != ""})
	}
	want := []row{
		{"stage-0", "K8S_CANARY_ROLLOUT", 0, false, "", false},
		{"stage-1", "WAIT", 1, false, "stage-0", false},
		{"analysis", "ANALYSIS", 2, false, "stage-1", false},
		{"stage-3", "WAIT_APPROVAL", 3, false, "analysis", false},
		{"stage-4", "SCRIPT_RUN", 4, false, "stage-3", false},
		{"stage-5", "WAIT", 5, false, "stage-4", true},
		{"stage-6", "K8S_PRIMARY_ROLLOUT", 6, false, "stage-5", false},
		{"stage-7", "K8S_TRAFFIC_ROUTING", 7, false, "stage-6", false},
		{"stage-8", "K8S_CANARY_CLEAN", 8, false, "stage-7", false},
		{"Rollback", "ROLLBACK", -1, true, "", false},
		{"ScriptRunRollback-stage-4", "SCRIPT_RUN_ROLLBACK", -1, true, "", false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stages\n got %+v\nwant %+v", got, want)
	}
	if p.MinDuration != config.Duration(10*time.Minute+30*time.Second) || !p.WaitsForApproval {
		t.Errorf("min duration %s, approval %v; want 10m30s and an approval", p.MinDuration, p.WaitsForApproval)
	}
	a := p.Stages[2].Analysis
	if a == nil || a.Duration != config.Duration(10*time.Minute) || len(a.Checks) != 3 {
		t.Fatalf("analysis %+v", a)
	}
	if got := a.Checks[0].String(); got != `metrics prom THRESHOLD "sum(rate(http_errors_total[1m]))" expects x <= 0.01 every 1m tolerates 1 failure(s)` {
		t.Errorf("metric check: %s", got)
	}
	if got := a.Checks[2].String(); got != `http "GET https://web.example.com/healthz" expects status 200 every 30s` {
		t.Errorf("http check: %s", got)
	}
	if p.Stages[5].Skip != `the commit message starts with "chore:"` {
		t.Errorf("skip reason %q", p.Stages[5].Skip)
	}
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
			p, err := PlanKubernetes(KubernetesInput{Spec: k8sSpec(t, tc.spec), Now: testTime})
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

func TestSkipOnPaths(t *testing.T) {
	spec := k8sSpec(t, `  pipeline:
    stages:
      - name: WAIT
        with: {duration: 1m, skipOn: {paths: ["docs/**", "*.md"]}}
`)
	for _, tc := range []struct {
		name  string
		files []string
		skip  bool
	}{
		{"unknown changed files", nil, false},
		{"only matching files", []string{"docs/a.md", "README.md"}, true},
		{"one other file", []string{"docs/a.md", "apps/web/deployment.yaml"}, false},
		{"no file changed (PipeCD skips)", []string{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlanKubernetes(KubernetesInput{Spec: spec, Strategy: StrategyPipeline, ChangedFiles: tc.files, Now: testTime})
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Stages[0].Skip != ""; got != tc.skip {
				t.Errorf("skipped %v (%q), want %v", got, p.Stages[0].Skip, tc.skip)
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
	if p.Summary != (Summary{Added: 1, Changed: 1, Deleted: 1}) || !p.HasChanges() {
		t.Errorf("summary %+v", p.Summary)
	}
	// The pipeline prunes (K8S_PRIMARY_ROLLOUT prune: true): no note.
	if p.Changes[2].Note != "" {
		t.Errorf("note on a pruned deletion: %q", p.Changes[2].Note)
	}
	if p.Base == nil || p.Base.Hash != p.Running.Hash || p.Mode != ModeOffline {
		t.Errorf("base %+v, mode %s", p.Base, p.Mode)
	}

	quick, err := PlanKubernetes(KubernetesInput{
		Spec: k8sSpec(t, ""), Head: Commit{Hash: "2"}, Now: testTime,
		Running: &Revision{Commit: Commit{Hash: "1"}, Objects: objects(t, serviceV1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(quick.Changes) != 1 || quick.Changes[0].Action != ActionDelete || !strings.Contains(quick.Changes[0].Note, "pruning is off") {
		t.Errorf("deletion without prune: %+v", quick.Changes)
	}
}

func TestPlanBaseRevision(t *testing.T) {
	p, err := PlanKubernetes(KubernetesInput{
		Spec: k8sSpec(t, pipelineBody), Head: Commit{Hash: "2"}, Now: testTime,
		Desired: objects(t, deployment("web", "a:2", 1, "")),
		Base:    &Revision{Commit: Commit{Hash: "0"}, Objects: objects(t, deployment("web", "a:1", 1, ""))},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The base is what the changes compare with; the strategy still sees
	// a first deployment.
	if p.Rule != RuleFirstDeployment || p.Base == nil || p.Base.Hash != "0" || p.Running != nil {
		t.Errorf("rule %s, base %+v, running %+v", p.Rule, p.Base, p.Running)
	}
	if len(p.Changes) != 1 || p.Changes[0].Action != ActionChange {
		t.Errorf("changes %+v", p.Changes)
	}
}

// TestLivePlan compares the live objects with the dry-run results: what the
// server maintains is not a change, what people changed is.
func TestLivePlan(t *testing.T) {
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
	in := KubernetesInput{
		Spec: k8sSpec(t, "  quickSync: {prune: true}\n"), Head: Commit{Hash: "2222222"}, Desired: desired, Now: testTime,
		Live: &Live{Objects: live, DryRun: dry[:1]}, ConfigDigest: "sha256:c",
	}
	p, err := PlanKubernetes(in)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "live_changes.golden", renderChanges(p.Changes))
	if p.Mode != ModeLive || p.Base != nil || p.Source.Live == nil || len(p.Source.Live.Objects) != 2 {
		t.Errorf("mode %s, base %v, live fingerprint %+v", p.Mode, p.Base, p.Source.Live)
	}

	// The same observation verifies; a change to a live object does not.
	if err := p.Verify(Fingerprint{HeadCommit: "2222222", Config: "sha256:c", Desired: DesiredDigest(desired), Live: LiveDigest(live)}); err != nil {
		t.Errorf("same state: %v", err)
	}
	// Status updates and bookkeeping do not make the plan stale.
	churned := objects(t, strings.NewReplacer(`readyReplicas: 2`, `readyReplicas: 1`, `resourceVersion: "100"`, `resourceVersion: "101"`).Replace(liveYAML(t, live)))
	if err := p.Verify(Fingerprint{HeadCommit: "2222222", Config: "sha256:c", Live: LiveDigest(churned)}); err != nil {
		t.Errorf("status churn: %v", err)
	}
	changed := objects(t, strings.Replace(liveYAML(t, live), "replicas: 2", "replicas: 5", 1))
	err = p.Verify(Fingerprint{HeadCommit: "2222222", Config: "sha256:c", Live: LiveDigest(changed[:1])})
	want := "the plan is stale: the live objects changed since the plan was made: 1 changed (apps:Deployment:default:web), 1 deleted (:ConfigMap:default:stale)"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

// liveYAML renders objects back to YAML documents for editing in tests.
func liveYAML(t *testing.T, objs []Object) string {
	t.Helper()
	var parts []string
	for _, o := range objs {
		parts = append(parts, yamlDoc(t, jsonValue(o.Object.Object).(map[string]any)))
	}
	return strings.Join(parts, "---\n")
}

func TestVerify(t *testing.T) {
	saved := Fingerprint{HeadCommit: "2222222222", Config: "sha256:a", Desired: "sha256:d"}
	tests := []struct {
		name    string
		current Fingerprint
		want    []string
	}{
		{"unchanged", saved, nil},
		{"head moved", Fingerprint{HeadCommit: "3333333333", Config: "sha256:a", Desired: "sha256:d"},
			[]string{"the plan was made at commit 2222222, the head is now 3333333"}},
		{"config changed", Fingerprint{HeadCommit: "2222222222", Config: "sha256:b", Desired: "sha256:d"},
			[]string{"the application config changed since the plan was made"}},
		{"rendered manifests changed", Fingerprint{HeadCommit: "2222222222", Config: "sha256:a", Desired: "sha256:e"},
			[]string{"the rendered manifests changed since the plan was made (a chart or values file from outside the repository may have changed)"}},
		{"desired not computed now", Fingerprint{HeadCommit: "2222222222", Config: "sha256:a"}, nil},
		{"everything", Fingerprint{HeadCommit: "3", Config: "sha256:b", Desired: "sha256:e"}, []string{
			"the plan was made at commit 2222222, the head is now 3",
			"the application config changed since the plan was made",
			"the rendered manifests changed since the plan was made (a chart or values file from outside the repository may have changed)",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := saved.Verify(tc.current)
			var se *StaleError
			switch {
			case tc.want == nil && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.want != nil && !errors.As(err, &se):
				t.Errorf("error %v, want a *StaleError", err)
			case tc.want != nil && !reflect.DeepEqual(se.Reasons, tc.want):
				t.Errorf("reasons %q\nwant %q", se.Reasons, tc.want)
			}
		})
	}
	live := Fingerprint{HeadCommit: "2", Config: "c", Live: LiveDigest(nil)}
	if err := live.Verify(Fingerprint{HeadCommit: "2", Config: "c"}); err == nil || !strings.Contains(err.Error(), "the live objects were not given") {
		t.Errorf("live plan verified without live state: %v", err)
	}
}

func TestDigestsHideSecrets(t *testing.T) {
	a := objects(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s, uid: u1, resourceVersion: '1'}\nstringData: {password: a}\n")
	b := objects(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s, uid: u1, resourceVersion: '1'}\nstringData: {password: b}\n")
	if DesiredDigest(a) != DesiredDigest(b) {
		t.Error("the desired digest depends on Secret values")
	}
	if LiveDigest(a).Digest != LiveDigest(b).Digest {
		t.Error("the live digest depends on Secret values")
	}
	c := objects(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s, uid: u1, resourceVersion: '2'}\nstringData: {password: b}\n")
	if LiveDigest(a).Digest == LiveDigest(c).Digest {
		t.Error("the live digest ignores a Secret's new resourceVersion")
	}
}

func TestConfigDigest(t *testing.T) {
	app := &config.App{Name: "web", Kind: config.KindKubernetesApp, Dir: "apps/web", Spec: k8sSpec(t, pipelineBody)}
	d1, err := ConfigDigest(app)
	if err != nil {
		t.Fatal(err)
	}
	same := &config.App{Name: "web", Kind: config.KindKubernetesApp, Dir: "apps/web", Spec: k8sSpec(t, "  # a comment\n"+pipelineBody)}
	if d2, _ := ConfigDigest(same); d2 != d1 {
		t.Error("a comment changed the config digest")
	}
	other := &config.App{Name: "web", Kind: config.KindKubernetesApp, Dir: "apps/web", Spec: k8sSpec(t, pipelineBody+"  planner: {alwaysUsePipeline: true}\n")}
	if d3, _ := ConfigDigest(other); d3 == d1 {
		t.Error("a planner change kept the config digest")
	}
	if d4, _ := ConfigDigest(app, []byte("template")); d4 == d1 {
		t.Error("a shared file did not change the config digest")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	p := pipelinePlan(t)
	var buf bytes.Buffer
	if err := p.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan_pipeline.json", buf.Bytes())
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range [][]byte{data, buf.Bytes()} {
		back, err := Decode(form)
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

func TestDecodeRefusesOtherVersions(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{`{"schemaVersion": 3}`, "the plan has schema version 3, this pipe reads version 2: use a newer pipe"},
		{`{"schemaVersion": 1}`, "the plan has schema version 1, this pipe reads version 2: make the plan again"},
		{`{"app": {}}`, "not a plan: no schemaVersion"},
		{`[1]`, "not a plan: "},
	} {
		_, err := Decode([]byte(tc.data))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Decode(%s) = %v, want %q", tc.data, err, tc.want)
		}
	}
}

func TestWriteText(t *testing.T) {
	p := pipelinePlan(t)
	var b bytes.Buffer
	if err := p.WriteText(&b, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan_pipeline.txt", b.Bytes())

	var c bytes.Buffer
	_ = p.WriteText(&c, TextOptions{Color: true, MaxDiffLines: 4})
	if !strings.Contains(c.String(), ansiGreen+"+") || !strings.Contains(c.String(), "more line(s)") {
		t.Errorf("colour or cut missing:\n%s", c.String())
	}
	var n bytes.Buffer
	_ = p.WriteText(&n, TextOptions{NoDiff: true})
	if strings.Contains(n.String(), "@@") {
		t.Error("NoDiff shows diffs")
	}

	first, err := PlanKubernetes(KubernetesInput{
		App: App{Name: "web", Kind: "KubernetesApp", Dir: "apps/web"}, Spec: k8sSpec(t, ""),
		Head: Commit{Hash: "2222222222", Subject: "first"}, Desired: objects(t, serviceV1), Now: testTime,
	})
	if err != nil {
		t.Fatal(err)
	}
	var f bytes.Buffer
	_ = first.WriteText(&f, TextOptions{})
	golden(t, "plan_first.txt", f.Bytes())
}
