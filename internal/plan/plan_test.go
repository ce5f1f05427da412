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

// pipelineBody is a short pipeline.
const pipelineBody = `  pipeline:
    stages:
      - name: K8S_CANARY_ROLLOUT
        with: {replicas: 10%}
      - name: K8S_PRIMARY_ROLLOUT
      - name: K8S_CANARY_CLEAN
`

// testKind is the kind the fixtures' plans are of, as a platform gives it
// to New: its quick sync stage, its wordings and its own rule (decide; nil
// means the pipeline).
func testKind(decide func() (Decision, error)) Kind {
	return Kind{
		QuickSync:         Stage{ID: "K8sSync", Name: config.StageK8sSync, Desc: "Sync by applying all manifests"},
		AutoRollback:      true,
		NoPipelineReason:  "Quick sync by applying all manifests (no pipeline was configured)",
		CommitMatchReason: "Quick sync by applying all manifests",
		Decide:            decide,
	}
}

// pipelinePlan is a pipeline plan of an image update with every kind of
// change and stage: what the Kubernetes platform plans for it
// (internal/platform/kubernetes checks its planner against the same
// golden files), made here by New and the changes given by hand.
func pipelinePlan(t *testing.T) *Plan {
	t.Helper()
	running := Commit{Hash: "1111111111111111111111111111111111111111", Subject: "deploy v0.1.0"}
	p, err := New(Input{
		App:          App{Name: "web", Kind: "KubernetesApp", Dir: "apps/web", File: "apps/web/app.pipecd.yaml", Labels: map[string]string{"env": "prod"}},
		Spec:         k8sSpec(t, fullPipeline).Generic(),
		Head:         Commit{Hash: "2222222222222222222222222222222222222222", Subject: "chore: bump helloworld"},
		HeadMessage:  "chore: bump helloworld\n\nto v0.2.0",
		Running:      &running,
		ConfigDigest: "sha256:c0nf16",
		Now:          testTime,
	}, testKind(func() (Decision, error) {
		return Decision{Strategy: StrategyPipeline, Rule: RuleImageChange, Reason: "Sync progressively because of updating image helloworld from v0.1.0 to v0.2.0"}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	p.Version = "v0.2.0"
	base := running
	p.Base = &base
	p.Changes = []Change{
		{Key: "apps:Deployment:default:web", Action: ActionChange, Language: LanguageDiff, Source: "apps/web/deployment.yaml:1",
			Diff: "--- apps:Deployment:default:web (last deployed 1111111)\n+++ apps:Deployment:default:web (head 2222222)\n@@ -13,5 +13,5 @@\n         app: web\n     spec:\n       containers:\n-        - image: gcr.io/pipecd/helloworld:v0.1.0\n+        - image: gcr.io/pipecd/helloworld:v0.2.0\n           name: app\n"},
		{Key: ":Secret:default:creds", Action: ActionAdd, Language: LanguageDiff, Source: "apps/web/secret.yaml:1",
			Diff: "--- :Secret:default:creds (last deployed 1111111)\n+++ :Secret:default:creds (head 2222222)\n@@ -0,0 +1,6 @@\n+apiVersion: v1\n+data:\n+  password: '***'\n+kind: Secret\n+metadata:\n+  name: creds\n"},
		{Key: ":ServiceAccount:default:legacy", Action: ActionDelete, Language: LanguageDiff,
			Diff: "--- :ServiceAccount:default:legacy (last deployed 1111111)\n+++ :ServiceAccount:default:legacy (head 2222222)\n@@ -1,4 +0,0 @@\n-apiVersion: v1\n-kind: ServiceAccount\n-metadata:\n-  name: legacy\n"},
	}
	p.Summary = Summarize(p.Changes)
	p.Source.Desired = "sha256:84b0f40808e465d09746ae220607ce19b4ebb4e07ac62ac5f09b31c8df1e7049"
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
			p, err := New(Input{Spec: spec.Generic(), Strategy: StrategyPipeline, ChangedFiles: tc.files, Now: testTime}, testKind(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Stages[0].Skip != ""; got != tc.skip {
				t.Errorf("skipped %v (%q), want %v", got, p.Stages[0].Skip, tc.skip)
			}
		})
	}
}

// TestNewKindRules checks what New leaves to the kind: its rule decides
// once the shared ones decided nothing; without one, the pipeline.
func TestNewKindRules(t *testing.T) {
	pipeline, none := k8sSpec(t, pipelineBody).Generic(), k8sSpec(t, "").Generic()
	scale := func() (Decision, error) {
		return Decision{Strategy: StrategyQuickSync, Rule: RuleScale, Reason: "Quick sync to scale"}, nil
	}
	for _, tc := range []struct {
		name   string
		spec   *config.GenericApplicationSpec
		decide func() (Decision, error)
		want   Decision
	}{
		{"the kind's rule", pipeline, scale, Decision{StrategyQuickSync, RuleScale, "Quick sync to scale"}},
		{"no rule of the kind", pipeline, nil, Decision{StrategyPipeline, RuleOtherChange, "Sync with the specified pipeline"}},
		{"a shared rule first", none, scale, Decision{StrategyQuickSync, RuleNoPipeline, "Quick sync by applying all manifests (no pipeline was configured)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(Input{Spec: tc.spec, Head: Commit{Hash: "2"}, Now: testTime}, testKind(tc.decide))
			if err != nil {
				t.Fatal(err)
			}
			if got := (Decision{p.Strategy, p.Rule, p.Reason}); got != tc.want {
				t.Errorf("decision %+v, want %+v", got, tc.want)
			}
			if len(p.Changes) != 0 || p.Changes == nil || p.Mode != ModeOffline || p.Head.Subject != "" {
				t.Errorf("changes %v, mode %s, head %+v", p.Changes, p.Mode, p.Head)
			}
		})
	}
	if _, err := New(Input{Spec: pipeline, Now: testTime}, testKind(func() (Decision, error) { return Decision{}, errors.New("boom") })); err == nil || err.Error() != "boom" {
		t.Errorf("the kind's error: %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		forced     Strategy
		want       string
	}{
		{"forced pipeline without a pipeline", "", StrategyPipeline, "unable to force sync with pipeline because no pipeline was specified"},
		{"unknown strategy", pipelineBody, Strategy("FAST"), `unknown strategy "FAST"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Input{Spec: k8sSpec(t, tc.spec).Generic(), Strategy: tc.forced, Now: testTime}, testKind(nil))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := New(Input{}, testKind(nil)); err == nil {
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
	live := Fingerprint{HeadCommit: "2", Config: "c", Live: NewLiveFingerprint(nil)}
	if err := live.Verify(Fingerprint{HeadCommit: "2", Config: "c"}); err == nil || !strings.Contains(err.Error(), "the live objects were not given") {
		t.Errorf("live plan verified without live state: %v", err)
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

	// A first deployment without a pipeline: quick sync, everything added.
	first, err := New(Input{
		App: App{Name: "web", Kind: "KubernetesApp", Dir: "apps/web"}, Spec: k8sSpec(t, "").Generic(),
		Head: Commit{Hash: "2222222222", Subject: "first"}, Now: testTime,
	}, testKind(nil))
	if err != nil {
		t.Fatal(err)
	}
	first.Changes = []Change{{Key: ":Service:default:web", Action: ActionAdd, Language: LanguageDiff,
		Diff: "--- :Service:default:web (none)\n+++ :Service:default:web (head 2222222)\n@@ -0,0 +1,7 @@\n+apiVersion: v1\n+kind: Service\n+metadata:\n+  name: web\n+spec:\n+  ports:\n+    - port: 80\n"}}
	first.Summary = Summarize(first.Changes)
	var f bytes.Buffer
	_ = first.WriteText(&f, TextOptions{})
	golden(t, "plan_first.txt", f.Bytes())
}
