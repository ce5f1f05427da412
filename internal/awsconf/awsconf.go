// Package awsconf builds the AWS SDK configuration of a platform provider
// or analysis provider of .pipe/config.yaml (config.AWSConfig): the region,
// a shared credentials file and profile, a role assumed with a web identity
// token (a CI job's OIDC token) or with the default credentials, on top of
// the SDK's default chain (AWS_* environment variables, shared files,
// instance roles). The endpoint follows AWS_ENDPOINT_URL as the SDK does,
// so that a local emulator (make dev-cloud) stands in for AWS.
package awsconf

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/gitops-pipe/pipe/internal/config"
)

// Options say where an AWS configuration comes from.
type Options struct {
	// Where names the configuration in errors ("platform provider
	// lambda-prod", ".pipe/config.yaml analysisProviders[0]").
	Where string
	// Config is the provider's config; nil uses the environment only.
	Config *config.AWSConfig
	// Getenv reads the environment (nil: the process's).
	Getenv func(string) string
	// HTTP is the client the SDK uses; nil is the SDK's.
	HTTP *http.Client
	// Editable, when set (a pull request's plan: platform.InWorkTree of
	// the checkout), reports a file the change can edit: a credentials or
	// token file it names is refused, as the change could point it at
	// credentials of its choosing.
	Editable func(path string) bool
	// MaxAttempts bounds the SDK's retries of throttled and transient
	// errors (0: 5).
	MaxAttempts int
}

// Load returns the AWS configuration of o.
func Load(ctx context.Context, o Options) (aws.Config, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	c := o.Config
	if c == nil {
		c = &config.AWSConfig{}
	}
	where := o.Where
	if where == "" {
		where = "AWS"
	}
	region := strings.TrimSpace(c.Region)
	if region == "" {
		region = cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
	}
	if c.TokenFile != "" && c.RoleARN == "" {
		return aws.Config{}, fmt.Errorf("%s: `config.tokenFile` is set without `config.roleARN`; set the ARN of the role the web identity token assumes", where)
	}
	if o.Editable != nil {
		for _, f := range []struct{ name, path string }{{"credentialsFile", string(c.CredentialsFile)}, {"tokenFile", string(c.TokenFile)}} {
			if f.path != "" && o.Editable(f.path) {
				return aws.Config{}, fmt.Errorf("%s: config.%s %s is inside the repository, so this pull request can change it; "+
					"a plan of a pull request reads no credentials from the checkout: keep the file outside it", where, f.name, f.path)
			}
		}
	}
	attempts := o.MaxAttempts
	if attempts <= 0 {
		attempts = 5
	}
	lopts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) { so.MaxAttempts = attempts })
		}),
	}
	if region != "" {
		lopts = append(lopts, awsconfig.WithRegion(region))
	}
	if c.Profile != "" {
		lopts = append(lopts, awsconfig.WithSharedConfigProfile(c.Profile))
	}
	if c.CredentialsFile != "" {
		lopts = append(lopts, awsconfig.WithSharedCredentialsFiles([]string{string(c.CredentialsFile)}))
	}
	if o.HTTP != nil {
		lopts = append(lopts, awsconfig.WithHTTPClient(o.HTTP))
	}
	if ep := getenv("AWS_ENDPOINT_URL"); ep != "" {
		lopts = append(lopts, awsconfig.WithBaseEndpoint(ep))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, lopts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("%s: cannot load the AWS configuration (region %q, profile %q, credentials file %q): %v; check `config.profile` and `config.credentialsFile`",
			where, region, c.Profile, c.CredentialsFile, err)
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("%s: no AWS region: set `config.region` of the platform provider in %s, or AWS_REGION", where, config.RepoConfigFile)
	}
	if c.RoleARN != "" {
		stsClient := sts.NewFromConfig(cfg)
		if c.TokenFile != "" {
			cfg.Credentials = aws.NewCredentialsCache(stscreds.NewWebIdentityRoleProvider(stsClient, c.RoleARN, stscreds.IdentityTokenFile(string(c.TokenFile))))
		} else {
			cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, c.RoleARN))
		}
	}
	return cfg, nil
}

// Provider says where an application's AWS configuration comes from: the
// platform provider of type Type in the repository's config that matches
// the application (or is named Named), else the environment only.
type Provider struct {
	Spec  *config.PipeSpec
	App   *config.App
	Type  string
	Named string
	// What names the service in errors without a provider ("AWS Lambda").
	What string
	// Getenv, HTTP and Editable are Options'.
	Getenv   func(string) string
	HTTP     *http.Client
	Editable func(path string) bool
}

// LoadProvider loads the AWS configuration of an application's platform
// provider (Load of its config, named in errors).
func LoadProvider(ctx context.Context, p Provider) (aws.Config, error) {
	return (*Cache)(nil).LoadProvider(ctx, p)
}

// Cache keeps the configuration of each platform provider a run loaded
// (loading reads the shared AWS files and parses a CA bundle), so that the
// applications of one provider share it; the zero Cache is ready. A nil
// Cache loads every time.
type Cache struct {
	mu   sync.Mutex
	cfgs map[string]aws.Config
}

// LoadProvider is the package's LoadProvider, once per provider.
func (c *Cache) LoadProvider(ctx context.Context, p Provider) (aws.Config, error) {
	prov, err := p.Spec.PlatformProviderFor(p.App, p.Type, p.Named)
	if err != nil {
		return aws.Config{}, err
	}
	key := p.Type + "\x00"
	if prov != nil {
		key += prov.Name
	}
	if c != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		if cfg, ok := c.cfgs[key]; ok {
			return cfg, nil
		}
	}
	cfg, err := loadProvider(ctx, p, prov)
	if err == nil && c != nil {
		if c.cfgs == nil {
			c.cfgs = map[string]aws.Config{}
		}
		c.cfgs[key] = cfg
	}
	return cfg, err
}

func loadProvider(ctx context.Context, p Provider, prov *config.PlatformProvider) (aws.Config, error) {
	o := Options{Where: p.What, Getenv: p.Getenv, HTTP: p.HTTP, Editable: p.Editable}
	if prov != nil {
		o.Where = fmt.Sprintf("%s platform provider %s", config.RepoConfigFile, prov.Name)
		o.Config = prov.AWS()
	}
	return Load(ctx, o)
}
