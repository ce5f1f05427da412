package lambda

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/gitops-pipe/pipe/internal/ctxtime"
)

// AliasName is the alias through which a function's traffic is routed
// (PipeCD's).
const AliasName = "Service"

// functions makes calls about functions, waiting out updates in progress.
type functions struct {
	c *lambda.Client
	// poll is the first interval between reads of an update's status; it
	// doubles up to maxPoll (default 2s).
	poll, maxPoll time.Duration
	// say narrates a step.
	say func(format string, args ...any)
}

func (f *functions) narrate(format string, args ...any) {
	if f.say != nil {
		f.say(format, args...)
	}
}

// live is a function as AWS shows it; nil Config when it does not exist.
type live struct {
	Config *types.FunctionConfiguration
	Code   *types.FunctionCodeLocation
	Tags   map[string]string
}

// get reads the function's $LATEST; a function that does not exist is a
// live with a nil Config.
func (f *functions) get(ctx context.Context, name string) (*live, error) {
	out, err := f.c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if isCode(err, "ResourceNotFoundException") {
		return &live{}, nil
	}
	if err != nil {
		return nil, apiError("GetFunction", name, err)
	}
	return &live{Config: out.Configuration, Code: out.Code, Tags: out.Tags}, nil
}

// ensure makes the function's $LATEST what want and its code say:
// creating the function, or updating its code, its configuration and its
// tags where they differ, each update waited for. It reports whether it
// changed anything.
func (f *functions) ensure(ctx context.Context, want fnConfig, z *zipped) (bool, error) {
	cur, err := f.get(ctx, want.Name)
	if err != nil {
		return false, err
	}
	if cur.Config == nil {
		return true, f.create(ctx, want, z)
	}
	// An update in progress (another deployment's, a console's) is waited
	// for; one that failed before is what this one replaces. GetFunction
	// shows the status: it is read again only when not settled.
	if !settled(cur.Config) {
		if err := f.waitIdle(ctx, want.Name, false); err != nil {
			return false, err
		}
	}
	changed := false
	have := liveConfig(cur.Config, cur.Code, cur.Tags)
	if codeDiffers(cur, have, want, z) {
		f.narrate("updating the code of %s to %s", want.Name, z.code)
		in := &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(want.Name), Architectures: architectures(want)}
		switch z.Kind {
		case codeImage:
			in.ImageUri = aws.String(z.Image)
		case codeS3:
			in.S3Bucket, in.S3Key = aws.String(z.S3Bucket), aws.String(z.S3Key)
			if z.S3Version != "" {
				in.S3ObjectVersion = aws.String(z.S3Version)
			}
		case codeGit:
			in.ZipFile = z.Zip
		}
		if err := f.retryConflict(ctx, want.Name, "UpdateFunctionCode", func() error {
			_, err := f.c.UpdateFunctionCode(ctx, in)
			return err
		}); err != nil {
			return changed, codeError(err, z)
		}
		changed = true
		if err := f.wait(ctx, want.Name); err != nil {
			return changed, err
		}
	}
	if !configEqual(have, want) {
		f.narrate("updating the configuration of %s", want.Name)
		in := &lambda.UpdateFunctionConfigurationInput{
			FunctionName:     aws.String(want.Name),
			Role:             aws.String(want.Role),
			MemorySize:       aws.Int32(want.Memory),
			Timeout:          aws.Int32(want.Timeout),
			EphemeralStorage: &types.EphemeralStorage{Size: aws.Int32(want.Ephemeral)},
			Environment:      &types.Environment{Variables: nonNil(want.Environment)},
			VpcConfig:        &types.VpcConfig{SubnetIds: nonNilSlice(want.Subnets), SecurityGroupIds: nonNilSlice(want.SecGroups)},
		}
		if want.Image == "" {
			// Image functions have no handler, runtime or layers.
			in.Handler, in.Runtime, in.Layers = aws.String(want.Handler), types.Runtime(want.Runtime), nonNilSlice(want.Layers)
		}
		if err := f.retryConflict(ctx, want.Name, "UpdateFunctionConfiguration", func() error {
			_, err := f.c.UpdateFunctionConfiguration(ctx, in)
			return err
		}); err != nil {
			return changed, err
		}
		changed = true
		if err := f.wait(ctx, want.Name); err != nil {
			return changed, err
		}
	}
	tagsChanged, err := f.syncTags(ctx, cur.Config, have.Tags, want.Tags)
	return changed || tagsChanged, err
}

// codeDiffers reports whether the function's code is not z's: an image
// by its URI, a zip built from Git by its SHA-256; code in S3 is always
// updated (AWS does not show where the code came from; publishing an
// unchanged archive makes no new version).
func codeDiffers(cur *live, have, want fnConfig, z *zipped) bool {
	if !slices.Equal(have.Architectures, want.Architectures) {
		return true
	}
	switch z.Kind {
	case codeImage:
		return cur.Config.PackageType != types.PackageTypeImage || have.Image != z.Image
	case codeGit:
		return cur.Config.PackageType == types.PackageTypeImage || deref(cur.Config.CodeSha256) != z.SHA256
	}
	return true
}

func (f *functions) create(ctx context.Context, want fnConfig, z *zipped) error {
	f.narrate("creating function %s with %s", want.Name, z.code)
	in := &lambda.CreateFunctionInput{
		FunctionName:     aws.String(want.Name),
		Role:             aws.String(want.Role),
		Code:             &types.FunctionCode{},
		MemorySize:       aws.Int32(want.Memory),
		Timeout:          aws.Int32(want.Timeout),
		EphemeralStorage: &types.EphemeralStorage{Size: aws.Int32(want.Ephemeral)},
		Architectures:    architectures(want),
		Tags:             want.Tags,
		Layers:           want.Layers,
	}
	if len(want.Environment) > 0 {
		in.Environment = &types.Environment{Variables: want.Environment}
	}
	if len(want.Subnets) > 0 || len(want.SecGroups) > 0 {
		in.VpcConfig = &types.VpcConfig{SubnetIds: want.Subnets, SecurityGroupIds: want.SecGroups}
	}
	switch z.Kind {
	case codeImage:
		in.PackageType = types.PackageTypeImage
		in.Code.ImageUri = aws.String(z.Image)
	case codeS3:
		in.PackageType = types.PackageTypeZip
		in.Code.S3Bucket, in.Code.S3Key = aws.String(z.S3Bucket), aws.String(z.S3Key)
		if z.S3Version != "" {
			in.Code.S3ObjectVersion = aws.String(z.S3Version)
		}
	case codeGit:
		in.PackageType = types.PackageTypeZip
		in.Code.ZipFile = z.Zip
	}
	if want.Image == "" {
		in.Handler, in.Runtime = aws.String(want.Handler), types.Runtime(want.Runtime)
	}
	if err := f.retryConflict(ctx, want.Name, "CreateFunction", func() error {
		_, err := f.c.CreateFunction(ctx, in)
		return err
	}); err != nil {
		return codeError(err, z)
	}
	return f.wait(ctx, want.Name)
}

// codeError names the S3 object of an error AWS returned reading it:
// AWS's message ("Error occurred while GetObject. S3 Error Code:
// NoSuchKey. ...") says neither the bucket nor the key.
func codeError(err error, z *zipped) error {
	if err == nil || z.Kind != codeS3 || !strings.Contains(err.Error(), "GetObject") {
		return err
	}
	return fmt.Errorf("the function's code %s (s3Bucket, s3Key and s3ObjectVersion of the function manifest) cannot be read: %w", z.code, err)
}

// syncTags makes the function's tags want (tags AWS sets, aws:*, kept).
func (f *functions) syncTags(ctx context.Context, fc *types.FunctionConfiguration, have, want map[string]string) (bool, error) {
	if maps.Equal(have, want) {
		return false, nil
	}
	arn, name := deref(fc.FunctionArn), deref(fc.FunctionName)
	var remove []string
	for k := range have {
		if _, ok := want[k]; !ok {
			remove = append(remove, k)
		}
	}
	sort.Strings(remove)
	if len(remove) > 0 {
		f.narrate("removing tags %s of %s", strings.Join(remove, ", "), name)
		if _, err := f.c.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: remove}); err != nil {
			return true, apiError("UntagResource", name, err)
		}
	}
	set := map[string]string{}
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			set[k] = v
		}
	}
	if len(set) > 0 {
		f.narrate("tagging %s", name)
		if _, err := f.c.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: set}); err != nil {
			return true, apiError("TagResource", name, err)
		}
	}
	return true, nil
}

// settled reports whether a function is neither being created nor
// updated and did not fail to be created (waitIdle has nothing to wait
// for).
func settled(fc *types.FunctionConfiguration) bool {
	return fc.State != types.StatePending && fc.State != types.StateFailed && fc.LastUpdateStatus != types.LastUpdateStatusInProgress
}

// wait waits until the function is neither being created nor updated;
// a creation or an update that failed is an error with AWS's reason.
func (f *functions) wait(ctx context.Context, name string) error {
	return f.waitIdle(ctx, name, true)
}

// waitIdle waits until the function is neither being created nor
// updated; with failed, an update that failed is an error.
func (f *functions) waitIdle(ctx context.Context, name string, failed bool) error {
	delay := f.poll
	if delay <= 0 {
		delay = 500 * time.Millisecond
	}
	maxDelay := f.maxPoll
	if maxDelay <= 0 {
		// Updates take from under a second (configuration) to tens of
		// seconds (an image): reads stay within 2s of the end.
		maxDelay = 2 * time.Second
	}
	announced := false
	for {
		fc, err := f.c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			return apiError("GetFunctionConfiguration", name, err)
		}
		switch {
		case fc.State == types.StateFailed:
			return fmt.Errorf("function %s failed to become active: %s (%s)", name, orUnknown(deref(fc.StateReason)), fc.StateReasonCode)
		case failed && fc.LastUpdateStatus == types.LastUpdateStatusFailed:
			return fmt.Errorf("the update of function %s failed: %s (%s)", name, orUnknown(deref(fc.LastUpdateStatusReason)), fc.LastUpdateStatusReasonCode)
		case fc.State != types.StatePending && fc.LastUpdateStatus != types.LastUpdateStatusInProgress:
			return nil
		}
		if !announced {
			f.narrate("waiting for the update of %s to finish", name)
			announced = true
		}
		if ctxtime.Sleep(ctx, delay) != nil {
			return fmt.Errorf("waiting for the update of function %s: %w", name, context.Cause(ctx))
		}
		delay = min(delay*2, maxDelay)
	}
}

// retryConflict runs call, and again while the function is busy with
// another update (ResourceConflictException), waiting for it in between.
func (f *functions) retryConflict(ctx context.Context, name, action string, call func() error) error {
	for attempt := 1; ; attempt++ {
		err := call()
		if err == nil {
			return nil
		}
		if !isCode(err, "ResourceConflictException") || attempt >= 10 || ctx.Err() != nil {
			return apiError(action, name, err)
		}
		f.narrate("function %s is busy with another update; retrying %s once it is done", name, action)
		if werr := f.wait(ctx, name); werr != nil {
			return werr
		}
	}
}

// publish publishes a version of the function's $LATEST and returns its
// number (AWS returns the last version when $LATEST did not change).
func (f *functions) publish(ctx context.Context, name string) (string, error) {
	var version string
	err := f.retryConflict(ctx, name, "PublishVersion", func() error {
		out, err := f.c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)})
		if err == nil {
			version = deref(out.Version)
		}
		return err
	})
	return version, err
}

// routing is how an alias splits traffic: Primary gets all of it but
// Weight (0..1) that goes to Secondary.
type routing struct {
	Primary   string
	Secondary string
	Weight    float64
}

// noAlias is the routing recorded when the alias did not exist.
const noAlias = "none"

// String is the routing as records keep it: "3", "3,4=0.1", or "none".
func (r *routing) String() string {
	if r == nil {
		return noAlias
	}
	if r.Secondary == "" || r.Weight == 0 {
		return r.Primary
	}
	return r.Primary + "," + r.Secondary + "=" + strconv.FormatFloat(r.Weight, 'f', -1, 64)
}

// Describe says it for people: "version 3: 100%", "version 3: 90%, version 4: 10%".
func (r *routing) Describe() string {
	if r == nil {
		return "no alias " + AliasName
	}
	if r.Secondary == "" || r.Weight == 0 {
		return "version " + r.Primary + ": 100%"
	}
	return fmt.Sprintf("version %s: %s, version %s: %s", r.Primary, pct(1-r.Weight), r.Secondary, pct(r.Weight))
}

func pct(w float64) string {
	return strconv.FormatFloat(math.Round(w*10000)/100, 'f', -1, 64) + "%"
}

// parseRouting reads a routing as String writes it; nil for "none".
func parseRouting(s string) (*routing, error) {
	if s == noAlias {
		return nil, nil
	}
	primary, rest, split := strings.Cut(s, ",")
	r := &routing{Primary: primary}
	if split {
		v, w, ok := strings.Cut(rest, "=")
		f, err := strconv.ParseFloat(w, 64)
		if !ok || err != nil || v == "" {
			return nil, fmt.Errorf("unreadable routing %q", s)
		}
		r.Secondary, r.Weight = v, f
	}
	if r.Primary == "" {
		return nil, fmt.Errorf("unreadable routing %q", s)
	}
	return r, nil
}

// alias reads the routing of the function's alias; nil when it does not
// exist.
func (f *functions) alias(ctx context.Context, name string) (*routing, error) {
	out, err := f.c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(name), Name: aws.String(AliasName)})
	if isCode(err, "ResourceNotFoundException") {
		return nil, nil
	}
	if err != nil {
		return nil, apiError("GetAlias", name, err)
	}
	r := &routing{Primary: deref(out.FunctionVersion)}
	if out.RoutingConfig != nil {
		for v, w := range out.RoutingConfig.AdditionalVersionWeights {
			r.Secondary, r.Weight = v, w
		}
	}
	return r, nil
}

// route points the alias as r says, creating it when missing.
func (f *functions) route(ctx context.Context, name string, r routing) error {
	var rc *types.AliasRoutingConfiguration
	if r.Secondary != "" && r.Weight > 0 && r.Secondary != r.Primary {
		rc = &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{r.Secondary: r.Weight}}
	} else {
		rc = &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{}}
	}
	_, err := f.c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(name), Name: aws.String(AliasName),
		FunctionVersion: aws.String(r.Primary), RoutingConfig: rc})
	if isCode(err, "ResourceNotFoundException") {
		f.narrate("creating alias %s of %s", AliasName, name)
		in := &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String(AliasName), FunctionVersion: aws.String(r.Primary)}
		if len(rc.AdditionalVersionWeights) > 0 {
			in.RoutingConfig = rc
		}
		_, err = f.c.CreateAlias(ctx, in)
		return apiError("CreateAlias", name, err)
	}
	return apiError("UpdateAlias", name, err)
}

func architectures(c fnConfig) []types.Architecture {
	out := make([]types.Architecture, len(c.Architectures))
	for i, a := range c.Architectures {
		out[i] = types.Architecture(a)
	}
	return out
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilSlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}
