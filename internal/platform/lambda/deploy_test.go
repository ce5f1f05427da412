package lambda

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
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
	"github.com/gitops-pipe/pipe/internal/render"
	"github.com/gitops-pipe/pipe/internal/state"
	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
)

// world is an emulated AWS and a Lambda platform pointed at it.
type world struct {
	t   *testing.T
	emu *awsemu.Emulator
	p   *Platform
}

func newWorld(t *testing.T) *world {
	t.Helper()
	emu, getenv := deploytest.StartAWS(t, awsemu.Options{UpdateDelay: 30 * time.Millisecond})
	w := &world{t: t, emu: emu}
	w.p = New(Options{Getenv: getenv, Poll: 10 * time.Millisecond,
		Git: &render.GoGitFetcher{TempDir: t.TempDir()}})
	return w
}

// revision is an application tree at one commit: app.pipecd.yaml and
// function.yaml in dir fn/.
func (w *world) revision(hash, appYAML, fnYAML string) (*deploy.Revision, *config.App) {
	w.t.Helper()
	root := w.t.TempDir()
	dir := filepath.Join(root, "fn")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		w.t.Fatal(err)
	}
	for name, data := range map[string]string{"app.pipecd.yaml": appYAML, "function.yaml": fnYAML} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
	f := config.ParseFile("fn/app.pipecd.yaml", []byte(appYAML))
	if !f.Valid() {
		w.t.Fatalf("app config: %v", f.Diags)
	}
	app := &config.App{Name: "fn", Kind: config.KindLambdaApp, Dir: "fn", File: "fn/app.pipecd.yaml", Spec: f.Spec.(config.AppSpec)}
	rev := deploy.NewRevision(plan.Commit{Hash: hash}, func(context.Context) (*deploy.Tree, error) {
		return &deploy.Tree{Root: root, App: app}, nil
	})
	return rev, app
}

// deployment plans head (with running as the last successful one) and
// runs it through the engine; it returns the record and the engine's
// error.
func (w *world) deploy(head, running *deploy.Revision, app *config.App) (*state.Record, *plan.Plan, error) {
	w.t.Helper()
	return w.deployCtx(context.Background(), head, running, app)
}

func (w *world) deployCtx(ctx context.Context, head, running *deploy.Revision, app *config.App) (*state.Record, *plan.Plan, error) {
	w.t.Helper()
	return deploytest.Deploy(ctx, w.t, w.p, app, head, running)
}

func (w *world) alias(fn string) string {
	a, ok := w.emu.Alias(fn, AliasName)
	if !ok {
		return "none"
	}
	s := a.FunctionVersion
	for v, wt := range a.AdditionalVersionWeights {
		s += "," + v + "=" + strings.TrimRight(strings.TrimRight(formatWeight(wt), "0"), ".")
	}
	return s
}

func formatWeight(w float64) string {
	return (&routing{Primary: "x", Secondary: "y", Weight: w}).String()[4:]
}

const pipelineApp = `apiVersion: pipecd.dev/v1beta1
kind: LambdaApp
spec:
  name: fn
  pipeline:
    stages:
      - name: LAMBDA_CANARY_ROLLOUT
      - name: LAMBDA_PROMOTE
        with: {percent: 10}
      - name: LAMBDA_PROMOTE
        with: {percent: 50}
      - name: LAMBDA_PROMOTE
        with: {percent: 100}
`

func imageFn(tag, env string) string {
	return fnManifest("ecr.example.com/fn:"+tag, 512, env)
}

func TestQuickSyncFirstDeployment(t *testing.T) {
	w := newWorld(t)
	head, app := w.revision(strings.Repeat("1", 40), quickApp, imageFn("v1", "    FOO: bar\n"))
	rec, pl, err := w.deploy(head, nil, app)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Rule != plan.RuleNoPipeline || rec.Status != state.StatusSucceeded {
		t.Fatalf("rule %s status %s", pl.Rule, rec.Status)
	}
	fn, ok := w.emu.Function("SimpleFunction")
	if !ok || fn.ImageURI != "ecr.example.com/fn:v1" || fn.Environment["FOO"] != "bar" || fn.MemorySize != 512 || fn.Timeout != 30 {
		t.Fatalf("function %+v", fn)
	}
	if got := w.alias("SimpleFunction"); got != "1" {
		t.Errorf("alias %s", got)
	}
	s := executetest.Stage(t, rec, "LambdaSync")
	if s.Metadata[metaRoutingBefore] != "none" || s.Metadata[metaVersion] != "1" || s.Metadata[metaRouting] != "1" {
		t.Errorf("metadata %v", s.Metadata)
	}
	// The same commit again changes nothing and publishes no new version.
	updates := w.emu.Calls("UpdateFunctionCode") + w.emu.Calls("UpdateFunctionConfiguration")
	if _, _, err := w.deploy(head, head, app); err != nil {
		t.Fatal(err)
	}
	if n := w.emu.Calls("UpdateFunctionCode") + w.emu.Calls("UpdateFunctionConfiguration"); n != updates {
		t.Errorf("%d updates for an unchanged function", n-updates)
	}
	if v := w.emu.Versions("SimpleFunction"); len(v) != 1 {
		t.Errorf("%d versions", len(v))
	}
}

// deployV1 deploys v1 with a quick sync: the running deployment.
func deployV1(t *testing.T, w *world, app string) *deploy.Revision {
	t.Helper()
	running, a := w.revision(strings.Repeat("1", 40), app, imageFn("v1", "    FOO: bar\n"))
	if _, _, err := w.deploy(running, nil, a); err != nil {
		t.Fatal(err)
	}
	return running
}

func TestCanaryPipeline(t *testing.T) {
	w := newWorld(t)
	running := deployV1(t, w, pipelineApp)
	head, app := w.revision(strings.Repeat("2", 40), pipelineApp, imageFn("v2", "    FOO: baz\n"))
	rec, pl, err := w.deploy(head, running, app)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Rule != RuleVersionChange || pl.Reason != "Sync with pipeline to update version from v1 to v2" {
		t.Errorf("rule %s %q", pl.Rule, pl.Reason)
	}
	var routings []string
	for _, s := range rec.Stages {
		if r := s.Metadata[metaRouting]; r != "" {
			routings = append(routings, r)
		}
	}
	if got := strings.Join(routings, " "); got != "1,2=0.1 1,2=0.5 2" {
		t.Errorf("routings %s", got)
	}
	if s := executetest.Stage(t, rec, "stage-0"); s.Metadata[metaRoutingBefore] != "1" || s.Metadata[metaVersion] != "2" {
		t.Errorf("rollout metadata %v", s.Metadata)
	}
	if got := w.alias("SimpleFunction"); got != "2" {
		t.Errorf("alias %s", got)
	}
	if fn, _ := w.emu.Function("SimpleFunction"); fn.ImageURI != "ecr.example.com/fn:v2" || fn.Environment["FOO"] != "baz" {
		t.Errorf("function %+v", fn)
	}
}

func TestFailedUpdateRollsBack(t *testing.T) {
	w := newWorld(t)
	running := deployV1(t, w, pipelineApp)
	head, app := w.revision(strings.Repeat("2", 40), pipelineApp, fnManifest("ecr.example.com/fn:v2", 1024, "    FOO: baz\n"))
	w.emu.FailNextUpdate("SimpleFunction", "the image cannot be pulled")
	rec, _, err := w.deploy(head, running, app)
	var f *execute.Failure
	if !errors.As(err, &f) || !f.RolledBack || rec.Status != state.StatusFailed {
		t.Fatalf("err %v, record %s", err, executetest.Statuses(rec))
	}
	if s := executetest.Stage(t, rec, "stage-0"); !strings.Contains(s.Reason, "the image cannot be pulled") {
		t.Errorf("reason %q", s.Reason)
	}
	fn, _ := w.emu.Function("SimpleFunction")
	if fn.ImageURI != "ecr.example.com/fn:v1" || fn.MemorySize != 512 || fn.Environment["FOO"] != "bar" {
		t.Errorf("not restored: %+v", fn)
	}
	if got := w.alias("SimpleFunction"); got != "1" {
		t.Errorf("alias %s", got)
	}
}

const waitApp = `apiVersion: pipecd.dev/v1beta1
kind: LambdaApp
spec:
  name: fn
  pipeline:
    stages:
      - name: LAMBDA_CANARY_ROLLOUT
      - name: LAMBDA_PROMOTE
        with: {percent: 10}
      - name: WAIT
        with: {duration: 1h}
      - name: LAMBDA_PROMOTE
        with: {percent: 100}
`

func TestCancelDuringWaitRestoresRouting(t *testing.T) {
	w := newWorld(t)
	running := deployV1(t, w, waitApp)
	head, app := w.revision(strings.Repeat("2", 40), waitApp, imageFn("v2", "    FOO: baz\n"))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Interrupted (a CI job's SIGTERM) once 10% goes to version 2.
		for ctx.Err() == nil {
			if w.alias("SimpleFunction") == "1,2=0.1" {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	rec, _, err := w.deployCtx(ctx, head, running, app)
	cancel()
	var f *execute.Failure
	if !errors.As(err, &f) || rec.Status != state.StatusCancelled || !f.RolledBack {
		t.Fatalf("err %v record %s %s", err, rec.Status, executetest.Statuses(rec))
	}
	if got := w.alias("SimpleFunction"); got != "1" {
		t.Errorf("alias %s after the rollback", got)
	}
	if fn, _ := w.emu.Function("SimpleFunction"); fn.ImageURI != "ecr.example.com/fn:v1" || fn.Environment["FOO"] != "bar" {
		t.Errorf("not restored: %+v", fn)
	}
}

func TestAccessDeniedIsExplained(t *testing.T) {
	w := newWorld(t)
	head, app := w.revision(strings.Repeat("1", 40), quickApp, imageFn("v1", ""))
	w.emu.Deny("lambda:CreateFunction")
	rec, _, err := w.deploy(head, nil, app)
	if err == nil {
		t.Fatal("deployed with CreateFunction denied")
	}
	s := executetest.Stage(t, rec, "LambdaSync")
	for _, want := range []string{"lambda:CreateFunction of function SimpleFunction", "AccessDeniedException", "is not authorized to perform: lambda:CreateFunction", "grant lambda:CreateFunction"} {
		if !strings.Contains(s.Reason, want) {
			t.Errorf("reason lacks %q: %s", want, s.Reason)
		}
	}
}

func TestBusyFunctionAndThrottling(t *testing.T) {
	w := newWorld(t)
	running := deployV1(t, w, quickApp)
	w.emu.SetUpdateDelay(150 * time.Millisecond)
	w.emu.Throttle(2)
	head, app := w.revision(strings.Repeat("2", 40), quickApp, fnManifest("ecr.example.com/fn:v2", 1024, "    FOO: baz\n"))
	if _, _, err := w.deploy(head, running, app); err != nil {
		t.Fatal(err)
	}
	fn, _ := w.emu.Function("SimpleFunction")
	if fn.ImageURI != "ecr.example.com/fn:v2" || fn.MemorySize != 1024 || fn.LastUpdateStatus != "Successful" {
		t.Errorf("function %+v", fn)
	}
}

func TestGitSourceZipsDeterministically(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	w := newWorld(t)
	src := t.TempDir()
	gitRun := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	gitRun("init", "-q", "-b", "main")
	if err := os.MkdirAll(filepath.Join(src, "hello"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "hello", "app.js"), []byte("exports.handler = async () => 'v1'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun("add", ".")
	gitRun("commit", "-q", "-m", "v1")
	ref := gitRun("rev-parse", "HEAD")
	manifest := `apiVersion: pipecd.dev/v1beta1
kind: LambdaFunction
spec:
  name: ZipFunction
  role: arn:aws:iam::123456789012:role/lambda-role
  source:
    git: ` + src + `
    ref: ` + ref + `
    path: hello
  handler: app.handler
  runtime: nodejs20.x
  memory: 256
  timeout: 10
`
	head, app := w.revision(strings.Repeat("1", 40), quickApp, manifest)
	if _, _, err := w.deploy(head, nil, app); err != nil {
		t.Fatal(err)
	}
	fn, _ := w.emu.Function("ZipFunction")
	if fn.PackageType != "Zip" || fn.Handler != "app.handler" || fn.CodeSize == 0 {
		t.Fatalf("function %+v", fn)
	}
	// A second deployment of the same source (another commit of the
	// GitOps repository) zips the same bytes: no code update.
	again, app2 := w.revision(strings.Repeat("2", 40), quickApp, manifest)
	before := w.emu.Calls("UpdateFunctionCode")
	if _, _, err := w.deploy(again, head, app2); err != nil {
		t.Fatal(err)
	}
	if w.emu.Calls("UpdateFunctionCode") != before {
		t.Errorf("the unchanged source was uploaded again")
	}
	if v := w.emu.Versions("ZipFunction"); len(v) != 1 {
		t.Errorf("%d versions", len(v))
	}
}

func TestDrift(t *testing.T) {
	w := newWorld(t)
	manifest := imageFn("v1", "    FOO: bar\n    API_TOKEN: s3cr3t-value\n")
	running, app := w.revision(strings.Repeat("1", 40), quickApp, manifest)
	if _, _, err := w.deploy(running, nil, app); err != nil {
		t.Fatal(err)
	}
	tree, _ := running.Open(context.Background())
	w.p.opts.Root = tree.Root
	check := func() drift.AppResult {
		t.Helper()
		var r drift.AppResult
		if err := w.p.drift(context.Background(), w.p.opts.Root, app, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := check(); r.Status != drift.InSync {
		t.Fatalf("%+v", r)
	}
	w.emu.SetEnvironment("SimpleFunction", "FOO", "changed-by-hand")
	w.emu.SetEnvironment("SimpleFunction", "API_TOKEN", "another-secret")
	r := check()
	if r.Status != drift.OutOfSync || len(r.Drift) != 1 {
		t.Fatalf("%+v", r)
	}
	var paths []string
	for _, f := range r.Drift[0].Fields {
		paths = append(paths, f.Path)
		if f.Path == "environments.API_TOKEN" && (f.Git != drift.Mask || f.Live != drift.Mask) {
			t.Errorf("secret shown: %+v", f)
		}
		if f.Path == "environments.FOO" && (f.Git != "bar" || f.Live != "changed-by-hand") {
			t.Errorf("FOO: %+v", f)
		}
	}
	if got := strings.Join(paths, " "); got != "environments.API_TOKEN environments.FOO" {
		t.Errorf("fields %s", got)
	}
}

func TestDriftSkipsAppWithoutManifest(t *testing.T) {
	w := newWorld(t)
	rev, app := w.revision(strings.Repeat("1", 40), quickApp, imageFn("v1", ""))
	tree, _ := rev.Open(context.Background())
	if err := os.Remove(filepath.Join(tree.Root, "fn", "function.yaml")); err != nil {
		t.Fatal(err)
	}
	w.p.opts.Root = tree.Root
	var r drift.AppResult
	if err := w.p.drift(context.Background(), w.p.opts.Root, app, &r); err != nil {
		t.Fatal(err)
	}
	if r.Status != drift.Skipped || !strings.Contains(r.Reason, "fn/function.yaml does not exist") {
		t.Errorf("%+v", r)
	}
	if n := len(w.emu.Requests()); n != 0 {
		t.Errorf("%d AWS calls", n)
	}
}
