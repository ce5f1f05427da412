package awsemu_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
)

const role = "arn:aws:iam::123456789012:role/lambda-exec"

func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func lambdaClient(url string, optFns ...func(*lambda.Options)) *lambda.Client {
	return lambda.New(lambda.Options{
		Region:       awsemu.DefaultRegion,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(awsemu.AccessKeyID, awsemu.SecretAccessKey, ""),
	}, optFns...)
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestLambdaLifecycleWithSDK(t *testing.T) {
	emu, srv := awsemu.Start(awsemu.Options{UpdateDelay: 30 * time.Millisecond})
	defer srv.Close()
	ctx := context.Background()
	c := lambdaClient(srv.URL)
	code := zipOf(t, map[string]string{"index.js": "exports.handler = async () => 1"})
	out, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("app"), Role: aws.String(role), Runtime: types.RuntimeNodejs20x,
		Handler: aws.String("index.handler"), Code: &types.FunctionCode{ZipFile: code},
		Environment: &types.Environment{Variables: map[string]string{"A": "1"}},
		Tags:        map[string]string{"team": "pipe"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.State != types.StatePending || out.LastUpdateStatus != "" || aws.ToString(out.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:app" {
		t.Fatalf("create: state %q, last update %q, arn %s", out.State, out.LastUpdateStatus, aws.ToString(out.FunctionArn))
	}
	// Pending: updates conflict.
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("app"), MemorySize: aws.Int32(256)})
	if apiCode(err) != "ResourceConflictException" || !strings.Contains(err.Error(), "An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:app") {
		t.Fatalf("update while pending: %v", err)
	}
	var rce *types.ResourceConflictException
	if !errors.As(err, &rce) {
		t.Fatalf("not a typed ResourceConflictException: %T", err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(c, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay = 10 * time.Millisecond
		o.MaxDelay = 20 * time.Millisecond
	}).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("app")}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Configuration.State != types.StateActive || got.Configuration.LastUpdateStatus != types.LastUpdateStatusSuccessful || got.Tags["team"] != "pipe" ||
		aws.ToString(got.Code.RepositoryType) != "S3" || got.Configuration.Environment.Variables["A"] != "1" {
		t.Fatalf("get: %+v", got.Configuration)
	}
	v1, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("app")})
	if err != nil || aws.ToString(v1.Version) != "1" {
		t.Fatalf("publish: %v %v", err, v1)
	}
	again, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("app")})
	if err != nil || aws.ToString(again.Version) != "1" {
		t.Fatalf("publish unchanged: %v", err)
	}
	// An update: InProgress, then Successful.
	code2 := zipOf(t, map[string]string{"index.js": "exports.handler = async () => 2"})
	up, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("app"), ZipFile: code2})
	if err != nil || up.LastUpdateStatus != types.LastUpdateStatusInProgress {
		t.Fatalf("update code: %v %v", err, up)
	}
	if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("app")}); apiCode(err) != "ResourceConflictException" {
		t.Fatalf("publish while in progress: %v", err)
	}
	if err := lambda.NewFunctionUpdatedV2Waiter(c, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay = 10 * time.Millisecond
		o.MaxDelay = 20 * time.Millisecond
	}).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("app")}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	v2, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("app")})
	if err != nil || aws.ToString(v2.Version) != "2" || aws.ToString(v2.CodeSha256) != aws.ToString(up.CodeSha256) {
		t.Fatalf("publish 2: %v %v", err, v2)
	}
	// An alias routing 10% to version 1.
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("app"), Name: aws.String("live"), FunctionVersion: aws.String("2"),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"1": 0.1}}}); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for range 100 {
		inv, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("app"), Qualifier: aws.String("live")})
		if err != nil {
			t.Fatal(err)
		}
		counts[aws.ToString(inv.ExecutedVersion)]++
	}
	if counts["1"] != 10 || counts["2"] != 90 {
		t.Fatalf("traffic split: %v", counts)
	}
	for _, bad := range []map[string]float64{{"2": 0.5}, {"1": 1.5}, {"7": 0.1}, {"1": 0.1, "3": 0.1}} {
		if _, err := c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("app"), Name: aws.String("live"),
			RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: bad}}); err == nil {
			t.Errorf("weights %v accepted", bad)
		}
	}
	a, _ := emu.Alias("app", "live")
	if a.FunctionVersion != "2" || a.AdditionalVersionWeights["1"] != 0.1 {
		t.Fatalf("alias: %+v", a)
	}
	if vs := emu.Versions("app"); len(vs) != 2 || vs[1].CodeSha256 != aws.ToString(up.CodeSha256) {
		t.Fatalf("versions: %+v", vs)
	}
}

func TestLambdaErrorsWithSDK(t *testing.T) {
	emu, srv := awsemu.Start(awsemu.Options{UpdateDelay: 20 * time.Millisecond})
	defer srv.Close()
	ctx := context.Background()
	c := lambdaClient(srv.URL)
	_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("missing")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.Message) != "Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing" || aws.ToString(nf.Type) != "User" {
		t.Fatalf("missing: %v", err)
	}
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("app"), Role: aws.String(role), Runtime: types.RuntimePython312,
		Handler: aws.String("h"), MemorySize: aws.Int32(64), Code: &types.FunctionCode{ZipFile: zipOf(t, map[string]string{"a": "b"})}})
	if apiCode(err) != "ValidationException" || !strings.Contains(err.Error(), "Value '64' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128") {
		t.Fatalf("memory: %v", err)
	}
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("app"), Role: aws.String(role), Runtime: types.RuntimePython312,
		Handler: aws.String("h"), Code: &types.FunctionCode{S3Bucket: aws.String("b"), S3Key: aws.String("k.zip")}})
	if apiCode(err) != "InvalidParameterValueException" {
		t.Fatalf("s3 missing bucket: %v", err)
	}
	emu.PutObject("b", "other.zip", zipOf(t, map[string]string{"a": "b"}))
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("app"), Role: aws.String(role), Runtime: types.RuntimePython312,
		Handler: aws.String("h"), Code: &types.FunctionCode{S3Bucket: aws.String("b"), S3Key: aws.String("k.zip")}})
	if !strings.Contains(err.Error(), "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.") {
		t.Fatalf("s3 missing key: %v", err)
	}
	ver := emu.PutObject("b", "k.zip", zipOf(t, map[string]string{"a": "c"}))
	emu.FailNextUpdate("app", "boom")
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("app"), Role: aws.String(role), Runtime: types.RuntimePython312,
		Handler: aws.String("h"), Code: &types.FunctionCode{S3Bucket: aws.String("b"), S3Key: aws.String("k.zip"), S3ObjectVersion: aws.String(ver)}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	f, _ := emu.Function("app")
	if f.State != "Failed" || f.LastUpdateStatus != "Failed" || f.LastUpdateStatusReason != "boom" || f.LastUpdateStatusReasonCode != string(types.LastUpdateStatusReasonCodeInternalError) || f.S3ObjectVersion != ver {
		t.Fatalf("injected failure: %+v", f)
	}
	emu.FailNextUpdate("app", "still broken")
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("app"), Timeout: aws.Int32(10)}); err != nil {
		t.Fatal(err)
	}
	err = lambda.NewFunctionUpdatedV2Waiter(c, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay = 10 * time.Millisecond
		o.MaxDelay = 20 * time.Millisecond
	}).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("app")}, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "Failure") {
		t.Fatalf("the waiter does not see the failure: %v", err)
	}
	// Throttling: the SDK's retryer retries.
	emu.Throttle(2)
	before := emu.Calls("GetFunctionConfiguration")
	if _, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	if n := emu.Calls("GetFunctionConfiguration") - before; n != 3 {
		t.Fatalf("%d calls, want 3 (2 throttled)", n)
	}
	var throttled int
	for _, r := range emu.Requests() {
		if r.Status == http.StatusTooManyRequests {
			throttled++
		}
	}
	if throttled != 2 {
		t.Fatalf("%d throttled", throttled)
	}
	// Deny.
	emu.Deny("lambda:UpdateFunctionCode")
	_, err = c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("app"), ZipFile: zipOf(t, map[string]string{"x": "y"})})
	if apiCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "is not authorized to perform: lambda:UpdateFunctionCode on resource: arn:aws:lambda:us-east-1:123456789012:function:app because no identity-based policy allows the lambda:UpdateFunctionCode action") {
		t.Fatalf("deny: %v", err)
	}
	emu.Deny("")
	// Bad credentials.
	bad := lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("AKIAOTHER", "x", "")})
	if _, err := bad.ListFunctions(ctx, &lambda.ListFunctionsInput{}); apiCode(err) != "UnrecognizedClientException" {
		t.Fatalf("bad key: %v", err)
	}
	// Precondition.
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("app"), ZipFile: zipOf(t, map[string]string{"x": "y"}), RevisionId: aws.String("nope")}); apiCode(err) != "PreconditionFailedException" {
		t.Fatalf("revision: %v", err)
	}
}

func TestMalformedRequests(t *testing.T) {
	_, srv := awsemu.Start(awsemu.Options{})
	defer srv.Close()
	for _, body := range []string{"{", `{"FunctionName": 5}`, `{"MemorySize": 99999999999999}`, "\x00\xff", `[]`, `{"Code":{"ZipFile":"!!"}}`} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/2015-03-31/functions", strings.NewReader(body))
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+awsemu.AccessKeyID+"/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") == "" {
			t.Errorf("%q: %d %s", body, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
	}
}
