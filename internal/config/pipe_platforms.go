package config

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Platform provider types (PipeCD's names).
const (
	PlatformKubernetes = "KUBERNETES"
	PlatformTerraform  = "TERRAFORM"
	PlatformLambda     = "LAMBDA"
	PlatformECS        = "ECS"
	PlatformCloudRun   = "CLOUDRUN"
)

func platformProviderTypes() []string {
	return []string{PlatformKubernetes, PlatformTerraform, PlatformLambda, PlatformECS, PlatformCloudRun}
}

// newPlatformConfig returns a pointer to the config of a platform provider
// type, nil for an unknown type.
func newPlatformConfig(typ string) any {
	switch typ {
	case PlatformKubernetes:
		return &KubernetesProviderConfig{}
	case PlatformTerraform:
		return &TerraformProviderConfig{}
	case PlatformLambda, PlatformECS:
		return &AWSConfig{}
	case PlatformCloudRun:
		return &CloudRunProviderConfig{}
	}
	return nil
}

// PlatformProvider is a platform applications are deployed to. Its `config`
// depends on its `type`.
type PlatformProvider struct {
	// The provider name, unique in the list.
	Name string `json:"name"`
	// KUBERNETES, TERRAFORM, LAMBDA, ECS or CLOUDRUN.
	Type string `json:"type"`
	// Labels to select the provider by.
	Labels map[string]string `json:"labels,omitempty"`
	// A pointer to the type's config: *KubernetesProviderConfig,
	// *TerraformProviderConfig, *AWSConfig (LAMBDA, ECS) or
	// *CloudRunProviderConfig; nil when the type is unknown.
	Config any `json:"config,omitempty"`
}

// Kubernetes returns the config of a KUBERNETES provider, else nil.
func (p *PlatformProvider) Kubernetes() *KubernetesProviderConfig {
	c, _ := p.Config.(*KubernetesProviderConfig)
	return c
}

// Terraform returns the config of a TERRAFORM provider, else nil.
func (p *PlatformProvider) Terraform() *TerraformProviderConfig {
	c, _ := p.Config.(*TerraformProviderConfig)
	return c
}

// AWS returns the config of a LAMBDA or ECS provider, else nil.
func (p *PlatformProvider) AWS() *AWSConfig {
	c, _ := p.Config.(*AWSConfig)
	return c
}

// CloudRun returns the config of a CLOUDRUN provider, else nil.
func (p *PlatformProvider) CloudRun() *CloudRunProviderConfig {
	c, _ := p.Config.(*CloudRunProviderConfig)
	return c
}

// rawNode keeps a YAML node undecoded: the `config` of a typed entry is
// decoded once its `type` is known.
type rawNode struct{ node *yaml.Node }

// DecodeNode implements NodeDecoder.
func (r *rawNode) DecodeNode(_ *Decoder, n *yaml.Node, _ string) { r.node = n }

type platformProviderHead struct {
	Name   string            `json:"name" jsonschema:"required"`
	Type   string            `json:"type" jsonschema:"required"`
	Labels map[string]string `json:"labels"`
	Config rawNode           `json:"config"`
}

// DecodeNode implements NodeDecoder.
func (p *PlatformProvider) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, path, "a platform provider is a mapping with name, type and config", "expected a mapping, got %s", kindName(n))
		return
	}
	var h platformProviderHead
	d.decodeStruct(n, reflect.ValueOf(&h).Elem(), path)
	p.Name, p.Type, p.Labels = h.Name, h.Type, h.Labels
	if cfg := newPlatformConfig(h.Type); cfg != nil {
		decodeTypedConfig(d, n, h.Config.node, cfg, path+".config")
		p.Config = cfg
	}
}

// decodeTypedConfig decodes the `config` of a typed entry into cfg, or
// applies its defaults (reporting missing required fields at the entry)
// when it was not written.
func decodeTypedConfig(d *Decoder, entry, node *yaml.Node, cfg any, path string) {
	v := reflect.ValueOf(cfg).Elem()
	if node != nil {
		d.decode(node, v, path)
		return
	}
	empty := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: entry.Line, Column: entry.Column}
	if nd, ok := cfg.(NodeDecoder); ok {
		nd.DecodeNode(d, empty, path)
		return
	}
	d.decodeStruct(empty, v, path)
}

// Validate implements validatable.
func (p *PlatformProvider) Validate(c *Checker, path string) {
	if c.Has(path+".name") && strings.TrimSpace(p.Name) == "" {
		c.Errorf(path+".name", "", "name must not be empty")
	}
	if c.Has(path + ".type") {
		c.checkEnum(path+".type", p.Type, platformProviderTypes()...)
	}
}

// KubernetesProviderConfig says how to reach a Kubernetes cluster.
type KubernetesProviderConfig struct {
	// The API server URL; overrides the kubeconfig's server.
	MasterURL string `json:"masterURL,omitempty"`
	// The kubeconfig file on the machine running pipe. Empty means the usual
	// rules: $KUBECONFIG, ~/.kube/config, then the in-cluster config.
	KubeConfigPath HostPath `json:"kubeConfigPath,omitempty"`
	// The kubeconfig context; empty means the current context. (pipe addition)
	Context string `json:"context,omitempty"`
	// The namespace of resources that set none; empty means the context's.
	Namespace string `json:"namespace,omitempty"`
	// Let plans of pull/merge requests (`pipe plan --live` in a PR) run the
	// kubeconfig's exec credential plugin (aws eks get-token,
	// gke-gcloud-auth-plugin...). Other commands always may; a PR plan
	// refuses it unless this is set in the base branch's config. (pipe
	// addition)
	AllowExecPluginInPlans bool `json:"allowExecPluginInPlans,omitempty"`
}

// unknownFieldHint explains PipeCD's piped-only Kubernetes settings.
func (*KubernetesProviderConfig) unknownFieldHint(key string) string {
	switch key {
	case "appStateInformer":
		return "pipe has no live state informer: it observes each application's resources when it plans; for a default namespace use `namespace`"
	case "kubectlVersion":
		return "pipe applies in-process, without kubectl; remove it"
	case "kubeconfig", "kubeConfig", "kubeconfigPath":
		return "did you mean `kubeConfigPath`?"
	}
	return ""
}

// Validate implements validatable.
func (k *KubernetesProviderConfig) Validate(c *Checker, path string) {
	if k.MasterURL != "" {
		checkHTTPURL(c, path+".masterURL", k.MasterURL)
	}
}

// TerraformProviderConfig holds settings for every Terraform application.
type TerraformProviderConfig struct {
	// The binary to run: a path, or a name looked up in PATH (e.g. "tofu"
	// for OpenTofu). Empty looks up terraform, then tofu (pipe's extension).
	Binary string `json:"binary,omitempty"`
	// Variables set on every terraform command with -var, each "key=value".
	Vars []string `json:"vars,omitempty"`
	// Whether `pipe drift` checks Terraform applications.
	DriftDetectionEnabled bool `json:"driftDetectionEnabled" jsonschema:"default=true"`
}

// Validate implements validatable.
func (t *TerraformProviderConfig) Validate(c *Checker, path string) {
	for i, v := range t.Vars {
		if k, _, ok := strings.Cut(v, "="); !ok || strings.TrimSpace(k) == "" {
			c.Errorf(indexPath(path+".vars", i), `write key=value, e.g. "project=demo"`, "variable %q is not key=value", truncate(v, 60))
		}
	}
}

// AWSConfig says how to reach AWS: the config of LAMBDA and ECS platform
// providers and of CLOUDWATCH analysis providers. Credentials come from the
// SDK's default chain (environment, shared files, web identity, instance
// role), narrowed by the fields below.
type AWSConfig struct {
	// The region, e.g. us-west-2.
	Region string `json:"region" jsonschema:"required"`
	// The profile of the shared credentials file; empty means $AWS_PROFILE,
	// then "default".
	Profile string `json:"profile,omitempty"`
	// The shared credentials file on the machine running pipe.
	CredentialsFile HostPath `json:"credentialsFile,omitempty"`
	// The ARN of an IAM role to assume.
	RoleARN string `json:"roleARN,omitempty"`
	// The web identity token file used to assume roleARN (e.g. an OIDC
	// token of the CI provider).
	TokenFile HostPath `json:"tokenFile,omitempty"`
}

func awsInlineSecrets() inlineSecrets {
	h := "use `credentialsFile` and `profile`, the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment variables, or `roleARN` with `tokenFile`"
	return inlineSecrets{"accessKeyID": h, "accessKeyId": h, "secretAccessKey": h, "sessionToken": h, "credentials": h}
}

// DecodeNode implements NodeDecoder: inline AWS keys are reported.
func (a *AWSConfig) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	decodeWithoutInlineSecrets(d, n, reflect.ValueOf(a).Elem(), path, awsInlineSecrets())
}

func (*AWSConfig) unknownFieldHint(key string) string { return inlineHint(awsInlineSecrets(), key) }

// Validate implements validatable.
func (a *AWSConfig) Validate(c *Checker, path string) {
	if c.Has(path+".region") && strings.TrimSpace(a.Region) == "" {
		c.Errorf(path+".region", "e.g. us-west-2", "region must not be empty")
	}
	if a.RoleARN != "" && !strings.HasPrefix(a.RoleARN, "arn:") {
		c.Errorf(path+".roleARN", "e.g. arn:aws:iam::123456789012:role/deployer", "roleARN %q is not an ARN", truncate(a.RoleARN, 80))
	}
	if c.Has(path+".tokenFile") && a.RoleARN == "" {
		c.Errorf(path+".tokenFile", "set roleARN: the token is exchanged for that role's credentials", "tokenFile needs roleARN")
	}
}

// CloudRunProviderConfig says where Cloud Run services run.
type CloudRunProviderConfig struct {
	// The Google Cloud project.
	Project string `json:"project" jsonschema:"required"`
	// The region of the services, e.g. asia-northeast1.
	Region string `json:"region" jsonschema:"required"`
	// A service account key file on the machine running pipe; empty means
	// Application Default Credentials.
	CredentialsFile HostPath `json:"credentialsFile,omitempty"`
	// The Cloud Run Admin API endpoint (default the region's,
	// https://REGION-run.googleapis.com/); env PIPE_CLOUDRUN_ENDPOINT
	// overrides it. A loopback http endpoint (a local emulator) gets no
	// credentials.
	Endpoint string `json:"endpoint,omitempty"`
}

func cloudRunInlineSecrets() inlineSecrets {
	h := "use `credentialsFile` (a service account key file on the machine running pipe), or leave it out for Application Default Credentials"
	return inlineSecrets{"credentials": h, "credentialsData": h, "serviceAccountKey": h}
}

// DecodeNode implements NodeDecoder: inline credentials are reported.
func (p *CloudRunProviderConfig) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	decodeWithoutInlineSecrets(d, n, reflect.ValueOf(p).Elem(), path, cloudRunInlineSecrets())
}

func (*CloudRunProviderConfig) unknownFieldHint(key string) string {
	return inlineHint(cloudRunInlineSecrets(), key)
}

// Validate implements validatable.
func (p *CloudRunProviderConfig) Validate(c *Checker, path string) {
	for _, f := range []struct{ name, v string }{{"project", p.Project}, {"region", p.Region}} {
		if c.Has(path+"."+f.name) && strings.TrimSpace(f.v) == "" {
			c.Errorf(path+"."+f.name, "", "%s must not be empty", f.name)
		}
	}
	if p.Endpoint != "" {
		checkHTTPURL(c, path+".endpoint", p.Endpoint)
	}
}

// checkHTTPURL reports a value that is not an absolute http(s) URL.
func checkHTTPURL(c *Checker, path, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.Errorf(path, "write an absolute URL, e.g. https://example.com:9090", "%q is not an http(s) URL", truncate(s, 80))
	}
}

// ErrProviderChoice is wrapped by the errors of PlatformProviderFor: the
// provider named does not exist, or several match an application. It is a
// configuration error: nothing was changed.
var ErrProviderChoice = errors.New("platform provider")

// PlatformProviderFor picks the platform provider of type typ of an
// application: the one named (--platform-provider), else the one whose
// labels are all on the app; nil when none matches (the platform's own
// defaults apply then). s may be nil (no .pipe/config.yaml).
func (s *PipeSpec) PlatformProviderFor(app *App, typ, named string) (*PlatformProvider, error) {
	if s == nil {
		if named != "" {
			return nil, fmt.Errorf("%w %s: the repository has no %s", ErrProviderChoice, named, RepoConfigFile)
		}
		return nil, nil
	}
	var ofType []*PlatformProvider
	for i := range s.PlatformProviders {
		if strings.EqualFold(s.PlatformProviders[i].Type, typ) {
			ofType = append(ofType, &s.PlatformProviders[i])
		}
	}
	if named != "" {
		for _, p := range ofType {
			if p.Name == named {
				return p, nil
			}
		}
		return nil, fmt.Errorf("%w: no %s platform provider named %q in %s", ErrProviderChoice, typ, named, RepoConfigFile)
	}
	var match []*PlatformProvider
	for _, p := range ofType {
		if labelsMatch(p.Labels, app.Labels) {
			match = append(match, p)
		}
	}
	switch len(match) {
	case 0:
		return nil, nil
	case 1:
		return match[0], nil
	}
	names := make([]string, len(match))
	for i, p := range match {
		names[i] = p.Name
	}
	return nil, fmt.Errorf("%w: %d %s platform providers match %s: %s; choose one with --platform-provider or give them labels",
		ErrProviderChoice, len(match), typ, app.Name, strings.Join(names, ", "))
}

// labelsMatch reports whether every label of the provider is on the app.
func labelsMatch(provider, app map[string]string) bool {
	for k, v := range provider {
		if app[k] != v {
			return false
		}
	}
	return true
}
