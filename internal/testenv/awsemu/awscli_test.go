package awsemu_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
)

// awsCLI is Debian's AWS CLI (package awscli), not whatever aws is first in
// PATH.
const awsCLI = "/usr/bin/aws"

// clock is a settable clock: the test moves time past the update delay
// instead of sleeping through the CLI's waiter delays.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type cli struct {
	t    *testing.T
	url  string
	dir  string
	home string
}

// run runs the CLI with a clean environment and returns stdout, stderr and
// the exit code.
func (c *cli) run(extraEnv map[string]string, args ...string) (string, string, int) {
	c.t.Helper()
	env := map[string]string{
		"PATH":                        "/usr/bin:/bin",
		"HOME":                        c.home,
		"AWS_ACCESS_KEY_ID":           awsemu.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       awsemu.SecretAccessKey,
		"AWS_REGION":                  awsemu.DefaultRegion,
		"AWS_DEFAULT_REGION":          awsemu.DefaultRegion,
		"AWS_CONFIG_FILE":             filepath.Join(c.home, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(c.home, "no-credentials"),
		"AWS_PAGER":                   "",
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", c.url, "--output", "json", "--no-cli-pager"}, args...)...)
	cmd.Dir = c.dir
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// ok runs the CLI, fails the test unless it succeeds, and decodes its JSON
// output (nil when there is none).
func (c *cli) ok(args ...string) map[string]any {
	c.t.Helper()
	return c.okEnv(nil, args...)
}

func (c *cli) okEnv(env map[string]string, args ...string) map[string]any {
	c.t.Helper()
	stdout, stderr, code := c.run(env, args...)
	if code != 0 {
		c.t.Fatalf("aws %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	if strings.TrimSpace(stdout) == "" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		c.t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stdout)
	}
	return m
}

// fails runs the CLI and checks it fails with exit code 254 and the error
// code and message on stderr.
func (c *cli) fails(code, message string, args ...string) {
	c.t.Helper()
	_, stderr, exit := c.run(nil, args...)
	if exit != 254 || !strings.Contains(stderr, "("+code+")") || !strings.Contains(stderr, message) {
		c.t.Fatalf("aws %s: exit %d, want 254 with %s %q\n%s", strings.Join(args, " "), exit, code, message, stderr)
	}
}

func TestAWSCLI(t *testing.T) {
	if _, err := os.Stat(awsCLI); err != nil {
		if os.Getenv("PIPE_REQUIRE_AWSCLI") == "1" {
			t.Fatalf("PIPE_REQUIRE_AWSCLI=1 but %s is missing (apt-get install awscli)", awsCLI)
		}
		t.Skipf("%s is missing (apt-get install awscli)", awsCLI)
	}
	clk := &clock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	emu, srv := awsemu.Start(awsemu.Options{UpdateDelay: time.Minute, Now: clk.Now})
	defer srv.Close()
	dir := t.TempDir()
	c := &cli{t: t, url: srv.URL, dir: dir, home: t.TempDir()}
	sdk := lambdaClient(srv.URL)
	ctx := context.Background()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("v1.zip", zipOf(t, map[string]string{"index.py": "def handler(e, c): return 1"}))
	write("v2.zip", zipOf(t, map[string]string{"index.py": "def handler(e, c): return 2"}))

	// sameConfig checks the CLI's view of a configuration against the
	// emulator's state and what the SDK reads back.
	sameConfig := func(step string, got map[string]any, qualifier string) {
		t.Helper()
		in := &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("app")}
		if qualifier != "" {
			in.Qualifier = aws.String(qualifier)
		}
		s, err := sdk.GetFunctionConfiguration(ctx, in)
		if err != nil {
			t.Fatalf("%s: sdk: %v", step, err)
		}
		want := map[string]any{
			"FunctionName": aws.ToString(s.FunctionName), "FunctionArn": aws.ToString(s.FunctionArn), "Version": aws.ToString(s.Version),
			"CodeSha256": aws.ToString(s.CodeSha256), "CodeSize": float64(s.CodeSize), "MemorySize": float64(aws.ToInt32(s.MemorySize)),
			"Runtime": string(s.Runtime), "Handler": aws.ToString(s.Handler), "Role": aws.ToString(s.Role), "State": string(s.State),
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s: cli %v, sdk %v", step, k, got[k], v)
			}
		}
		if qualifier == "" {
			f, _ := emu.Function("app")
			if got["CodeSha256"] != f.CodeSha256 || got["RevisionId"] != f.RevisionID || got["State"] != f.State || got["MemorySize"] != float64(f.MemorySize) {
				t.Errorf("%s: cli %v, emulator %+v", step, got, f)
			}
		}
	}

	created := c.ok("lambda", "create-function", "--function-name", "app", "--runtime", "python3.12", "--handler", "index.handler",
		"--role", role, "--zip-file", "fileb://v1.zip", "--memory-size", "256")
	if created["State"] != "Pending" || created["StateReasonCode"] != "Creating" {
		t.Fatalf("create-function: %v", created)
	}
	sameConfig("create-function", created, "")
	clk.Advance(2 * time.Minute)
	c.ok("lambda", "wait", "function-active-v2", "--function-name", "app")
	got := c.ok("lambda", "get-function-configuration", "--function-name", "app")
	if got["State"] != "Active" || got["LastUpdateStatus"] != "Successful" {
		t.Fatalf("after wait: %v", got)
	}
	sameConfig("get-function-configuration", got, "")
	v1 := c.ok("lambda", "publish-version", "--function-name", "app")
	if v1["Version"] != "1" {
		t.Fatalf("publish-version: %v", v1)
	}
	sameConfig("publish-version 1", v1, "1")

	up := c.ok("lambda", "update-function-code", "--function-name", "app", "--zip-file", "fileb://v2.zip")
	if up["LastUpdateStatus"] != "InProgress" {
		t.Fatalf("update-function-code: %v", up)
	}
	sameConfig("update-function-code", up, "")
	c.fails("ResourceConflictException", "An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:app",
		"lambda", "update-function-configuration", "--function-name", "app", "--timeout", "10")
	clk.Advance(2 * time.Minute)
	c.ok("lambda", "wait", "function-updated-v2", "--function-name", "app")
	v2 := c.ok("lambda", "publish-version", "--function-name", "app")
	if v2["Version"] != "2" || v2["CodeSha256"] != up["CodeSha256"] {
		t.Fatalf("publish-version 2: %v", v2)
	}

	alias := c.ok("lambda", "create-alias", "--function-name", "app", "--name", "live", "--function-version", "2",
		"--routing-config", "AdditionalVersionWeights={1=0.1}")
	a, _ := emu.Alias("app", "live")
	if alias["FunctionVersion"] != "2" || a.AdditionalVersionWeights["1"] != 0.1 || alias["AliasArn"] != a.ARN {
		t.Fatalf("create-alias: cli %v, emulator %+v", alias, a)
	}
	got = c.ok("lambda", "get-alias", "--function-name", "app", "--name", "live")
	sa, err := sdk.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("app"), Name: aws.String("live")})
	if err != nil {
		t.Fatal(err)
	}
	if w := got["RoutingConfig"].(map[string]any)["AdditionalVersionWeights"].(map[string]any)["1"]; w != 0.1 || sa.RoutingConfig.AdditionalVersionWeights["1"] != 0.1 || got["RevisionId"] != aws.ToString(sa.RevisionId) {
		t.Fatalf("get-alias: cli %v, sdk %+v", got, sa)
	}
	c.ok("lambda", "update-alias", "--function-name", "app", "--name", "live", "--routing-config", "AdditionalVersionWeights={1=0.5}")
	if a, _ := emu.Alias("app", "live"); awsemu.FormatAlias(a) != "version=2 weights=1:0.50" {
		t.Fatalf("update-alias: %s", awsemu.FormatAlias(a))
	}
	c.fails("InvalidParameterValueException", "$LATEST", "lambda", "update-alias", "--function-name", "app", "--name", "live",
		"--function-version", "$LATEST")

	versions := c.ok("lambda", "list-versions-by-function", "--function-name", "app")["Versions"].([]any)
	if len(versions) != 3 || versions[0].(map[string]any)["Version"] != "$LATEST" || versions[2].(map[string]any)["CodeSha256"] != emu.Versions("app")[1].CodeSha256 {
		t.Fatalf("list-versions-by-function: %v", versions)
	}

	cfg := c.ok("lambda", "update-function-configuration", "--function-name", "app", "--environment", "Variables={A=1,B=two}", "--memory-size", "512")
	sameConfig("update-function-configuration", cfg, "")
	clk.Advance(2 * time.Minute)
	c.ok("lambda", "wait", "function-updated-v2", "--function-name", "app")
	got = c.ok("lambda", "get-function-configuration", "--function-name", "app")
	if env := got["Environment"].(map[string]any)["Variables"].(map[string]any); env["A"] != "1" || env["B"] != "two" || got["MemorySize"] != 512.0 {
		t.Fatalf("environment: %v", got)
	}
	sameConfig("get-function-configuration after update", got, "")

	c.ok("lambda", "tag-resource", "--resource", "arn:aws:lambda:us-east-1:123456789012:function:app", "--tags", "team=pipe,env=dev")
	tags := c.ok("lambda", "list-tags", "--resource", "arn:aws:lambda:us-east-1:123456789012:function:app")["Tags"].(map[string]any)
	if f, _ := emu.Function("app"); tags["team"] != "pipe" || f.Tags["env"] != "dev" {
		t.Fatalf("list-tags: %v", tags)
	}

	inv := c.ok("lambda", "invoke", "--function-name", "app", "--qualifier", "live", "--cli-binary-format", "raw-in-base64-out", "--payload", `{"x":1}`, "out.json")
	payload, err := os.ReadFile(filepath.Join(dir, "out.json"))
	if err != nil {
		t.Fatal(err)
	}
	if inv["StatusCode"] != 200.0 || !strings.Contains(string(payload), `"version":"`+inv["ExecutedVersion"].(string)+`"`) {
		t.Fatalf("invoke: %v %s", inv, payload)
	}

	c.fails("ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing",
		"lambda", "get-function", "--function-name", "missing")
	c.fails("ValidationException", "Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900",
		"lambda", "update-function-configuration", "--function-name", "app", "--timeout", "901")

	// S3: code for a function from a versioned bucket.
	c.ok("s3api", "create-bucket", "--bucket", "artifacts")
	put := c.ok("s3api", "put-object", "--bucket", "artifacts", "--key", "fn/v1.zip", "--body", "v1.zip")
	head := c.ok("s3api", "head-object", "--bucket", "artifacts", "--key", "fn/v1.zip")
	if put["VersionId"] == nil || head["VersionId"] != put["VersionId"] || head["ContentLength"] != float64(len(zipOf(t, map[string]string{"index.py": "def handler(e, c): return 1"}))) && head["ContentLength"] == nil {
		t.Fatalf("put-object %v, head-object %v", put, head)
	}
	data, ok := emu.GetObject("artifacts", "fn/v1.zip")
	v1zip, _ := os.ReadFile(filepath.Join(dir, "v1.zip"))
	if !ok || !bytes.Equal(data, v1zip) {
		t.Fatalf("the object is not the file uploaded (%d bytes, want %d)", len(data), len(v1zip))
	}
	fromS3 := c.ok("lambda", "create-function", "--function-name", "from-s3", "--runtime", "python3.12", "--handler", "index.handler",
		"--role", role, "--code", "S3Bucket=artifacts,S3Key=fn/v1.zip,S3ObjectVersion="+put["VersionId"].(string))
	if f, _ := emu.Function("from-s3"); fromS3["CodeSha256"] != created["CodeSha256"] || f.S3ObjectVersion != put["VersionId"] {
		t.Fatalf("create-function from S3: %v, emulator %+v", fromS3, f)
	}
	clk.Advance(2 * time.Minute)
	c.fails("InvalidParameterValueException", "S3 Error Code: NoSuchKey",
		"lambda", "update-function-code", "--function-name", "from-s3", "--s3-bucket", "artifacts", "--s3-key", "nope.zip")

	// STS: web identity credentials, then a Lambda call with them.
	token := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"repo:gitops-pipe/pipe:ref:refs/heads/main"}`)) + ".c2ln"
	assumed := c.ok("sts", "assume-role-with-web-identity", "--role-arn", "arn:aws:iam::123456789012:role/deployer",
		"--role-session-name", "ci", "--web-identity-token", token)
	creds := assumed["Credentials"].(map[string]any)
	if !strings.HasPrefix(creds["AccessKeyId"].(string), "ASIA") || assumed["SubjectFromWebIdentityToken"] != "repo:gitops-pipe/pipe:ref:refs/heads/main" {
		t.Fatalf("assume-role-with-web-identity: %v", assumed)
	}
	tmp := map[string]string{"AWS_ACCESS_KEY_ID": creds["AccessKeyId"].(string), "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"].(string), "AWS_SESSION_TOKEN": creds["SessionToken"].(string)}
	if fs := c.okEnv(tmp, "lambda", "list-functions")["Functions"].([]any); len(fs) != 2 {
		t.Fatalf("list-functions with temporary credentials: %v", fs)
	}
	if id := c.okEnv(tmp, "sts", "get-caller-identity"); id["Arn"] != "arn:aws:sts::123456789012:assumed-role/deployer/ci" {
		t.Fatalf("get-caller-identity (assumed): %v", id)
	}
	sdkTmp := lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider(tmp["AWS_ACCESS_KEY_ID"], tmp["AWS_SECRET_ACCESS_KEY"], tmp["AWS_SESSION_TOKEN"])})
	if _, err := sdkTmp.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("app")}); err != nil {
		t.Fatalf("the SDK with the temporary credentials: %v", err)
	}
	if id := c.ok("sts", "get-caller-identity"); id["Account"] != awsemu.AccountID || id["Arn"] != "arn:aws:iam::123456789012:user/pipe-emulator" {
		t.Fatalf("get-caller-identity: %v", id)
	}
	_, stderr, code := c.run(map[string]string{"AWS_ACCESS_KEY_ID": "AKIANOTKNOWN"}, "lambda", "list-functions")
	if code != 254 || !strings.Contains(stderr, "UnrecognizedClientException") {
		t.Fatalf("unknown key: %d %s", code, stderr)
	}
}
