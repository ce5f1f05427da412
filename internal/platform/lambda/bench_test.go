package lambda

import (
	"context"
	"fmt"
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
	"github.com/gitops-pipe/pipe/internal/deploy/deploytest"
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
	emu, getenv := deploytest.StartAWS(b, awsemu.Options{})
	p := New(Options{Getenv: getenv})

	// Two commits of a LambdaApp with the canary pipeline, one image each.
	revs := [2]*deploy.Revision{}
	var app *config.App
	for i, tag := range []string{"a", "b"} {
		revs[i], app = deploytest.Revision(b, strings.Repeat(fmt.Sprint(i+1), 40), "fn", config.KindLambdaApp,
			map[string]string{"app.pipecd.yaml": pipelineApp, "function.yaml": imageFn(tag, "    FOO: bar\n")})
	}
	// The first deployment (no running commit) promotes to 100% at once
	// and creates the alias; the pipeline splits traffic from then on.
	ctx := context.Background()
	if err := deploytest.Succeed(ctx, p, app, revs[0], nil); err != nil {
		b.Fatal(err)
	}
	n := 1 // deployments made: revs[n%2] is running

	c := benchClient(b, getenv)
	pipeCalls, sdkCalls := deploytest.CompareAWS(b, emu, func() error {
		head, running := revs[(n+1)%2], revs[n%2]
		n++
		return deploytest.Succeed(ctx, p, app, head, running)
	}, func() error {
		return straightCanary(ctx, c, "SimpleFunction", "ecr.example.com/fn:a", "ecr.example.com/fn:b")
	})

	if p, s := pipeCalls, sdkCalls; p != nil && s != nil && !slices.Equal(p, s) {
		b.Errorf("pipe made other AWS calls than the straight-line program:\npipe %s\nsdk  %s", strings.Join(p, " "), strings.Join(s, " "))
	}
	if fn, _ := emu.Function("SimpleFunction"); fn.LastUpdateStatus != "Successful" {
		b.Errorf("function %+v", fn)
	}
}

// benchClient is a Lambda client of the emulator, configured as pipe
// configures its own.
func benchClient(b *testing.B, getenv func(string) string) *lambda.Client {
	b.Helper()
	cfg, err := awsconf.Load(context.Background(), awsconf.Options{Getenv: getenv})
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
