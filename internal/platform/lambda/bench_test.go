package lambda

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/gitops-pipe/pipe/internal/awsconf"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/execute/executetest"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/state"
	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
)

// BenchmarkCanaryPipeline measures a canary pipeline's own overhead
// (everything but WAIT) against the same AWS calls made by a straight-line
// program, on one in-process emulator whose updates finish at once:
//
//   - pipe: plan, PreFlight, Runner and the engine's Run of
//     LAMBDA_CANARY_ROLLOUT → LAMBDA_PROMOTE 10 → 50 → 100, the record in
//     memory (executetest.Store); each iteration deploys the other of two
//     images, so every one updates the code and publishes a version.
//   - sdk: the aws-sdk-go-v2 Lambda client called directly: GetFunction,
//     UpdateFunctionCode, GetFunctionConfiguration until Successful,
//     PublishVersion, GetAlias, UpdateAlias ×3.
//
// The sdk lines also report pipe/sdk: the median ns/op of the pipe runs
// over the run's; -v logs the ratio of the medians and the difference.
//
// calls/op is the number of AWS requests an iteration made (the
// emulator's request log); the benchmark fails when pipe makes other calls
// than the straight-line program. Both make the same 8:
//
//	GetAlias                  the routing before the deployment, recorded
//	                          before anything changes (ROLLBACK restores it)
//	GetFunction               the live code and configuration, to update
//	                          only what differs (it also shows whether an
//	                          update is in progress, so no separate read)
//	UpdateFunctionCode        the new image
//	GetFunctionConfiguration  the update's status until Successful
//	PublishVersion            the canary version
//	UpdateAlias ×3            10%, 50%, 100%
//
// pipe builds its AWS client per deployment (awsconf.Load, as one CLI run
// does), the straight-line program once.
func BenchmarkCanaryPipeline(b *testing.B) {
	emu, srv := awsemu.Start(awsemu.Options{UpdateDelay: 0})
	defer srv.Close()
	b.Setenv("AWS_ACCESS_KEY_ID", awsemu.AccessKeyID)
	b.Setenv("AWS_SECRET_ACCESS_KEY", awsemu.SecretAccessKey)
	b.Setenv("AWS_SESSION_TOKEN", "")
	b.Setenv("AWS_PROFILE", "")
	b.Setenv("AWS_CONFIG_FILE", filepath.Join(b.TempDir(), "none"))
	b.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(b.TempDir(), "none"))
	b.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	// A CA bundle (AWS_CA_BUNDLE) is parsed by every awsconf.Load, ~3.5ms
	// once per CLI run; the emulator is plain HTTP.
	b.Setenv("AWS_CA_BUNDLE", "")
	env := map[string]string{"AWS_ENDPOINT_URL": srv.URL, "AWS_REGION": awsemu.DefaultRegion}
	p := New(Options{Getenv: func(k string) string { return env[k] }})

	// Two commits of a LambdaApp with the canary pipeline, one image each.
	revs := [2]*deploy.Revision{}
	var app *config.App
	for i, tag := range []string{"a", "b"} {
		revs[i], app = benchRevision(b, strings.Repeat(fmt.Sprint(i+1), 40), pipelineApp, imageFn(tag, "    FOO: bar\n"))
	}
	// The first deployment (no running commit) promotes to 100% at once
	// and creates the alias; the pipeline splits traffic from then on.
	ctx := context.Background()
	if err := benchDeploy(ctx, p, app, revs[0], nil); err != nil {
		b.Fatal(err)
	}
	n := 1 // deployments made: revs[n%2] is running

	calls := map[string][]string{}
	nsop := map[string][]float64{} // per run of a sub-benchmark (-count)
	b.Run("pipe", func(b *testing.B) {
		start := len(emu.Requests())
		b.ResetTimer()
		for range b.N {
			head, running := revs[(n+1)%2], revs[n%2]
			if err := benchDeploy(ctx, p, app, head, running); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.StopTimer()
		calls["pipe"] = reportCalls(b, emu, start)
		if b.N > 1 {
			nsop["pipe"] = append(nsop["pipe"], float64(b.Elapsed().Nanoseconds())/float64(b.N))
		}
	})

	c := benchClient(b, env)
	b.Run("sdk", func(b *testing.B) {
		start := len(emu.Requests())
		b.ResetTimer()
		for range b.N {
			if err := straightCanary(ctx, c, "SimpleFunction", "ecr.example.com/fn:a", "ecr.example.com/fn:b"); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		calls["sdk"] = reportCalls(b, emu, start)
		if b.N > 1 {
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			nsop["sdk"] = append(nsop["sdk"], ns)
			// The ratio, on the sdk line: pipe's median ns/op over this run's.
			if p := median(nsop["pipe"]); p > 0 {
				b.ReportMetric(p/ns, "pipe/sdk")
			}
		}
	})

	if p, s := calls["pipe"], calls["sdk"]; p != nil && s != nil && !slices.Equal(p, s) {
		b.Errorf("pipe made other AWS calls than the straight-line program:\npipe %s\nsdk  %s", strings.Join(p, " "), strings.Join(s, " "))
	}
	if p, s := median(nsop["pipe"]), median(nsop["sdk"]); p > 0 && s > 0 {
		b.Logf("pipe/sdk %.2f: pipe %.0f ns/op, sdk %.0f ns/op (medians of %d runs), pipe's own overhead %.0f ns per deployment",
			p/s, p, s, len(nsop["pipe"]), p-s)
	}
	if fn, _ := emu.Function("SimpleFunction"); fn.LastUpdateStatus != "Successful" {
		b.Errorf("function %+v", fn)
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Sorted(slices.Values(v))
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// reportCalls reports the AWS requests per iteration made since start and
// returns them as "Operation×n" sorted; it fails on any error response.
func reportCalls(b *testing.B, emu *awsemu.Emulator, start int) []string {
	b.Helper()
	reqs := emu.Requests()[start:]
	per := map[string]int{}
	for _, r := range reqs {
		if r.Status >= 300 {
			b.Fatalf("%s %s: HTTP %d", r.Operation, r.Function, r.Status)
		}
		per[r.Operation]++
	}
	b.ReportMetric(float64(len(reqs))/float64(b.N), "calls/op")
	var out []string
	for _, op := range slices.Sorted(maps.Keys(per)) {
		if per[op]%b.N != 0 {
			b.Fatalf("%d %s calls in %d iterations", per[op], op, b.N)
		}
		out = append(out, fmt.Sprintf("%s×%d", op, per[op]/b.N))
	}
	return out
}

// benchDeploy plans head (running the last successful deployment) and
// runs it through the engine, as deploy_test's world does.
func benchDeploy(ctx context.Context, p *Platform, app *config.App, head, running *deploy.Revision) error {
	req := deploy.PlanRequest{App: app, Head: head, Running: running,
		Input:    plan.Input{App: plan.AppOf(app), Head: head.Commit, Now: time.Now()},
		Revision: func(string) (*deploy.Revision, error) { return running, nil }}
	if running != nil {
		c := running.Commit
		req.Input.Running = &c
	}
	pl, prep, err := p.Plan(ctx, req)
	if err != nil {
		return err
	}
	defer prep.Close()
	if err := prep.PreFlight(ctx, pl); err != nil {
		return err
	}
	runner, err := prep.Runner(ctx, pl, deploy.RunOptions{})
	if err != nil {
		return err
	}
	store := &executetest.Store{}
	e, events := executetest.NewEngine(store, runner)
	if err := e.Run(ctx, executetest.NewDeployment(app, pl)); err != nil {
		return fmt.Errorf("%w\n%s", err, events.Text())
	}
	if rec := store.Current(); rec.Status != state.StatusSucceeded {
		return fmt.Errorf("status %s\n%s", rec.Status, events.Text())
	}
	return nil
}

// benchRevision is an application tree at one commit (fn/app.pipecd.yaml
// and fn/function.yaml).
func benchRevision(b *testing.B, hash, appYAML, fnYAML string) (*deploy.Revision, *config.App) {
	b.Helper()
	root := b.TempDir()
	dir := filepath.Join(root, "fn")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for name, data := range map[string]string{"app.pipecd.yaml": appYAML, "function.yaml": fnYAML} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	f := config.ParseFile("fn/app.pipecd.yaml", []byte(appYAML))
	if !f.Valid() {
		b.Fatalf("app config: %v", f.Diags)
	}
	app := &config.App{Name: "fn", Kind: config.KindLambdaApp, Dir: "fn", File: "fn/app.pipecd.yaml", Spec: f.Spec.(config.AppSpec)}
	rev := deploy.NewRevision(plan.Commit{Hash: hash}, func(context.Context) (*deploy.Tree, error) {
		return &deploy.Tree{Root: root, App: app}, nil
	})
	return rev, app
}

// benchClient is a Lambda client of the emulator, configured as pipe
// configures its own.
func benchClient(b *testing.B, env map[string]string) *lambda.Client {
	b.Helper()
	cfg, err := awsconf.Load(context.Background(), awsconf.Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		b.Fatal(err)
	}
	return lambda.NewFromConfig(cfg)
}

// straightCanary is the canary rollout as a straight-line program: the
// function's image becomes the other of a and b, a version of it is
// published and the alias routes 10%, 50%, then 100% to it.
func straightCanary(ctx context.Context, c *lambda.Client, name, a, b string) error {
	fn, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		return err
	}
	image := a
	if fn.Code != nil && aws.ToString(fn.Code.ImageUri) == a {
		image = b
	}
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ImageUri: aws.String(image)}); err != nil {
		return err
	}
	for {
		fc, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			return err
		}
		if fc.LastUpdateStatus == types.LastUpdateStatusFailed {
			return fmt.Errorf("update failed: %s", aws.ToString(fc.LastUpdateStatusReason))
		}
		if fc.LastUpdateStatus == types.LastUpdateStatusSuccessful {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	v, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)})
	if err != nil {
		return err
	}
	alias, err := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(name), Name: aws.String(AliasName)})
	if err != nil {
		return err
	}
	primary := aws.ToString(alias.FunctionVersion)
	for _, w := range []float64{0.1, 0.5} {
		if _, err := c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(name), Name: aws.String(AliasName),
			FunctionVersion: aws.String(primary),
			RoutingConfig:   &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{aws.ToString(v.Version): w}}}); err != nil {
			return err
		}
	}
	_, err = c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(name), Name: aws.String(AliasName),
		FunctionVersion: v.Version, RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{}}})
	return err
}
