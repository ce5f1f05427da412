package lambda

import (
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/plan"
)

const canaryApp = `apiVersion: pipecd.dev/v1beta1
kind: LambdaApp
spec:
  name: fn
  pipeline:
    stages:
      - name: LAMBDA_CANARY_ROLLOUT
      - name: LAMBDA_PROMOTE
        with: {percent: 10}
      - name: LAMBDA_PROMOTE
        with: {percent: 100}
`

const quickApp = `apiVersion: pipecd.dev/v1beta1
kind: LambdaApp
spec:
  name: fn
`

func appSpec(t *testing.T, src string) *config.LambdaApplicationSpec {
	t.Helper()
	f := config.ParseFile("app.pipecd.yaml", []byte(src))
	if !f.Valid() {
		t.Fatalf("app config: %v", f.Diags)
	}
	return f.Spec.(*config.LambdaApplicationSpec)
}

func target(t *testing.T, manifest string) Target {
	t.Helper()
	f := config.ParseLambdaFunction("function.yaml", []byte(manifest))
	if err := f.Err(); err != nil {
		t.Fatal(err)
	}
	return Target{Config: desiredConfig(f.Spec), Code: codeOf(f.Spec), Source: "function.yaml:3"}
}

func fnManifest(image string, memory int, env string) string {
	return `apiVersion: pipecd.dev/v1beta1
kind: LambdaFunction
spec:
  name: SimpleFunction
  role: arn:aws:iam::123456789012:role/lambda-role
  image: ` + image + `
  memory: ` + itoa(int32(memory)) + `
  timeout: 30
  environments:
` + env
}

func planOf(t *testing.T, app string, head Target, running *Target, m masker) *plan.Plan {
	t.Helper()
	in := planInput{
		Input: plan.Input{App: plan.App{Name: "fn", Kind: "LambdaApp"}, Head: plan.Commit{Hash: strings.Repeat("b", 40), Subject: "change"}, Now: time.Unix(0, 0)},
		Spec:  appSpec(t, app), Head: head, Running: running, Compared: running, Mask: m,
	}
	if running != nil {
		in.Input.Running = &plan.Commit{Hash: strings.Repeat("a", 40)}
	}
	p, err := planLambda(in)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlannerRules(t *testing.T) {
	v1 := target(t, fnManifest("ecr.example.com/fn:v0.0.1", 512, "    FOO: bar\n"))
	v2 := target(t, fnManifest("ecr.example.com/fn:v0.0.2", 512, "    FOO: bar\n"))
	mem := target(t, fnManifest("ecr.example.com/fn:v0.0.1", 1024, "    FOO: bar\n"))
	for _, tc := range []struct {
		name     string
		app      string
		head     Target
		running  *Target
		strategy plan.Strategy
		rule     plan.Rule
		reason   string
		changes  int
		diff     []string
	}{
		{"first deployment", canaryApp, v1, nil, plan.StrategyQuickSync, plan.RuleFirstDeployment,
			"Quick sync to deploy version v0.0.1 and configure all traffic to it (it seems this is the first deployment)", 1,
			[]string{"+image: ecr.example.com/fn:v0.0.1", "+memory: 512"}},
		{"no pipeline", quickApp, v2, &v1, plan.StrategyQuickSync, plan.RuleNoPipeline,
			"Quick sync to deploy version v0.0.2 and configure all traffic to it (pipeline was not configured)", 1,
			[]string{"-image: ecr.example.com/fn:v0.0.1", "+image: ecr.example.com/fn:v0.0.2"}},
		{"version change", canaryApp, v2, &v1, plan.StrategyPipeline, RuleVersionChange,
			"Sync with pipeline to update version from v0.0.1 to v0.0.2", 1, []string{"+image: ecr.example.com/fn:v0.0.2"}},
		{"configuration change", canaryApp, mem, &v1, plan.StrategyPipeline, plan.RuleOtherChange,
			"Sync with the specified pipeline", 1, []string{"-memory: 512", "+memory: 1024"}},
		{"no change", canaryApp, v1, &v1, plan.StrategyPipeline, plan.RuleOtherChange, "Sync with the specified pipeline", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planOf(t, tc.app, tc.head, tc.running, masker{})
			if p.Strategy != tc.strategy || p.Rule != tc.rule || p.Reason != tc.reason {
				t.Errorf("got %s %s %q", p.Strategy, p.Rule, p.Reason)
			}
			if len(p.Changes) != tc.changes {
				t.Fatalf("changes %+v", p.Changes)
			}
			for _, want := range tc.diff {
				if !strings.Contains(p.Changes[0].Diff, want+"\n") {
					t.Errorf("diff lacks %q:\n%s", want, p.Changes[0].Diff)
				}
			}
			if p.Version != tc.head.Code.Version() || p.App.Kind != "LambdaApp" || p.Source.Desired == "" {
				t.Errorf("version %q kind %q desired %q", p.Version, p.App.Kind, p.Source.Desired)
			}
			if tc.strategy == plan.StrategyQuickSync && (len(p.Stages) != 2 || p.Stages[0].Name != config.StageLambdaSync || !p.Stages[1].Rollback) {
				t.Errorf("stages %+v", p.Stages)
			}
		})
	}
}

func TestPlanMasksSecretEnvironment(t *testing.T) {
	old := target(t, fnManifest("ecr.example.com/fn:v1", 512, "    FOO: bar\n    DB_PASSWORD: hunter2-old\n    TOKENISH: AKIAIOSFODNN7EXAMPLE\n"))
	head := target(t, fnManifest("ecr.example.com/fn:v1", 512, "    FOO: baz\n    DB_PASSWORD: hunter2-new\n    TOKENISH: AKIAIOSFODNN7EXAMPLE\n"))
	p := planOf(t, canaryApp, head, &old, masker{})
	diff := p.Changes[0].Diff
	for _, secret := range []string{"hunter2", "AKIAIOSFODNN7EXAMPLE"} {
		if strings.Contains(diff, secret) || strings.Contains(string(p.Details), secret) {
			t.Errorf("%s shown:\n%s\n%s", secret, diff, p.Details)
		}
	}
	for _, want := range []string{"-  DB_PASSWORD: '***'", "+  DB_PASSWORD: '*** (changed)'", "-  FOO: bar", "+  FOO: baz"} {
		if !strings.Contains(diff, want+"\n") {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	p = planOf(t, canaryApp, head, &old, masker{All: true})
	if strings.Contains(p.Changes[0].Diff, "baz") {
		t.Errorf("--mask-all-env shows a value:\n%s", p.Changes[0].Diff)
	}
}

func TestCodeVersions(t *testing.T) {
	for c, want := range map[code]string{
		{Kind: codeImage, Image: "ecr.ap-northeast-1.amazonaws.com/lambda-test:v0.0.1"}:          "v0.0.1",
		{Kind: codeImage, Image: "registry:5000/fn"}:                                             "latest",
		{Kind: codeImage, Image: "fn@sha256:0123456789abcdef0123456789abcdef"}:                   "sha256:0123456789ab",
		{Kind: codeS3, S3Bucket: "b", S3Key: "src/fn.zip", S3Version: "1pTK9_v0Kd7I8Sk4n6abzCL"}: "1pTK9_v0Kd7I8Sk4n6abzCL",
		{Kind: codeS3, S3Bucket: "b", S3Key: "src/fn-1.2.zip"}:                                   "fn-1.2.zip",
		{Kind: codeGit, Git: "g", Ref: "dede7cdea5bbd3fdbcc4674bfcd2b2f9e0579603"}:               "dede7cd",
		{Kind: codeGit, Git: "g", Ref: "v1.2.0"}:                                                 "v1.2.0",
	} {
		if got := c.Version(); got != want {
			t.Errorf("%s: version %q, want %q", c, got, want)
		}
	}
}

func TestRoutingRoundTrip(t *testing.T) {
	for _, r := range []*routing{nil, {Primary: "3"}, {Primary: "3", Secondary: "4", Weight: 0.1}} {
		got, err := parseRouting(r.String())
		if err != nil || got.String() != r.String() {
			t.Errorf("%s: %v %v", r, got, err)
		}
	}
	if d := (&routing{Primary: "3", Secondary: "4", Weight: 0.1}).Describe(); d != "version 3: 90%, version 4: 10%" {
		t.Errorf("describe %q", d)
	}
	for _, bad := range []string{"", "3,", "3,4", "3,=0.1", "3,4=x"} {
		if _, err := parseRouting(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// An app without a function manifest (a CUSTOM_SYNC one, or PipeCD's
// wait-approval example) plans as PipeCD plans it, version "unknown",
// with no change; the Lambda stages refuse it before anything changes.
func TestPlanWithoutManifest(t *testing.T) {
	missing := Target{Source: "apps/fn/function.yaml", Missing: errNoFunction}
	custom := `apiVersion: pipecd.dev/v1beta1
kind: LambdaApp
spec:
  name: fn
  planner:
    alwaysUsePipeline: true
  pipeline:
    stages:
      - name: CUSTOM_SYNC
        with:
          run: sam deploy
`
	p := planOf(t, custom, missing, nil, masker{})
	if p.Strategy != plan.StrategyPipeline || p.Version != versionUnknown || len(p.Changes) != 0 {
		t.Errorf("CUSTOM_SYNC app: %s %q %d changes", p.Strategy, p.Version, len(p.Changes))
	}
	if !strings.Contains(p.Compared, errNoFunction.Error()) {
		t.Errorf("compared: %q", p.Compared)
	}
	p = planOf(t, canaryApp, missing, nil, masker{})
	if p.Strategy != plan.StrategyQuickSync || !strings.Contains(p.Reason, "version unknown") {
		t.Errorf("first deployment: %s %q", p.Strategy, p.Reason)
	}
	d := &prepared{head: missing}
	if err := d.PreFlight(t.Context(), p); err != errNoFunction {
		t.Errorf("PreFlight: %v", err)
	}
}
