package awsconf

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
)

func cleanEnv(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestRegionAndErrors(t *testing.T) {
	cleanEnv(t)
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if _, err := Load(context.Background(), Options{Where: "platform provider p", Getenv: getenv}); err == nil ||
		!strings.Contains(err.Error(), "platform provider p: no AWS region: set `config.region`") {
		t.Errorf("no region: %v", err)
	}
	env["AWS_REGION"] = "eu-west-1"
	cfg, err := Load(context.Background(), Options{Getenv: getenv})
	if err != nil || cfg.Region != "eu-west-1" {
		t.Errorf("region from the environment: %q %v", cfg.Region, err)
	}
	cfg, err = Load(context.Background(), Options{Getenv: getenv, Config: &config.AWSConfig{Region: "us-west-2"}})
	if err != nil || cfg.Region != "us-west-2" {
		t.Errorf("the config's region wins: %q %v", cfg.Region, err)
	}
	if _, err := Load(context.Background(), Options{Getenv: getenv, Config: &config.AWSConfig{Region: "us-west-2", TokenFile: "/t"}}); err == nil ||
		!strings.Contains(err.Error(), "without `config.roleARN`") {
		t.Errorf("token without role: %v", err)
	}
}

func TestEditableCredentialFilesRefused(t *testing.T) {
	cleanEnv(t)
	root := t.TempDir()
	inside := filepath.Join(root, "creds")
	editable := func(p string) bool { return strings.HasPrefix(p, root) }
	for _, c := range []*config.AWSConfig{
		{Region: "us-east-1", CredentialsFile: config.HostPath(inside)},
		{Region: "us-east-1", RoleARN: "arn:aws:iam::123456789012:role/r", TokenFile: config.HostPath(inside)},
	} {
		_, err := Load(context.Background(), Options{Where: "platform provider p", Config: c, Editable: editable})
		if err == nil || !strings.Contains(err.Error(), "is inside the repository, so this pull request can change it") {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// A role assumed with a web identity token (a CI job's OIDC token), through
// the emulator's STS.
func TestWebIdentity(t *testing.T) {
	cleanEnv(t)
	_, srv := awsemu.Start(awsemu.Options{})
	defer srv.Close()
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("eyJhbGciOiJSUzI1NiJ9.e30.sig"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AWS_ENDPOINT_URL": srv.URL}
	cfg, err := Load(context.Background(), Options{Getenv: func(k string) string { return env[k] },
		Config: &config.AWSConfig{Region: "us-east-1", RoleARN: "arn:aws:iam::123456789012:role/deployer", TokenFile: config.HostPath(token)}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if arn := aws.ToString(out.Arn); !strings.Contains(arn, "assumed-role/deployer") {
		t.Errorf("caller %s", arn)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || !strings.HasPrefix(creds.AccessKeyID, "ASIA") {
		t.Errorf("credentials %s %v", creds.AccessKeyID, err)
	}
}

// A run loads each provider's configuration once, whatever the number of
// its applications.
func TestCacheLoadsOncePerProvider(t *testing.T) {
	cleanEnv(t)
	spec := &config.PipeSpec{PlatformProviders: []config.PlatformProvider{
		{Name: "a", Type: config.PlatformLambda, Config: &config.AWSConfig{Region: "eu-west-1"}},
		{Name: "b", Type: config.PlatformLambda, Config: &config.AWSConfig{Region: "us-west-2"}},
	}}
	var c Cache
	load := func(named string) aws.Config {
		t.Helper()
		cfg, err := c.LoadProvider(context.Background(), Provider{Spec: spec, App: &config.App{Name: "fn"}, Type: config.PlatformLambda, Named: named})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	if load("a").Region != "eu-west-1" || load("b").Region != "us-west-2" || load("a").Region != "eu-west-1" {
		t.Error("each provider keeps its own configuration")
	}
	if len(c.cfgs) != 2 {
		t.Errorf("%d configurations loaded for 2 providers", len(c.cfgs))
	}
}
