package config

import (
	"net/url"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"
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

// Analysis provider types pipe supports.
const (
	AnalysisPrometheus = "PROMETHEUS"
	AnalysisDatadog    = "DATADOG"
	AnalysisCloudWatch = "CLOUDWATCH"
)

func platformProviderTypes() []string {
	return []string{PlatformKubernetes, PlatformTerraform, PlatformLambda, PlatformECS, PlatformCloudRun}
}

func analysisProviderTypes() []string {
	return []string{AnalysisPrometheus, AnalysisDatadog, AnalysisCloudWatch}
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

// newAnalysisConfig returns a pointer to the config of an analysis provider
// type, nil for an unknown or unsupported type.
func newAnalysisConfig(typ string) any {
	switch typ {
	case AnalysisPrometheus:
		return &PrometheusConfig{}
	case AnalysisDatadog:
		return &DatadogConfig{}
	case AnalysisCloudWatch:
		return &AWSConfig{}
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

// JSONSchema describes a provider: one alternative per type.
func (PlatformProvider) JSONSchema() *jsonschema.Schema {
	return typedEntrySchema("A platform provider; its `config` depends on its `type`.", true, platformProviderTypes(), newPlatformConfig)
}

// typedEntrySchema builds the schema of a {name, type, config} entry: one
// alternative per type, each with that type's config schema.
func typedEntrySchema(desc string, labels bool, types []string, newConfig func(string) any) *jsonschema.Schema {
	r := schemaReflector()
	var alts []*jsonschema.Schema
	for _, t := range types {
		props := jsonschema.NewProperties()
		props.Set("name", &jsonschema.Schema{Type: "string", MinLength: ptrUint64(1)})
		props.Set("type", &jsonschema.Schema{Const: t})
		if labels {
			props.Set("labels", &jsonschema.Schema{Type: "object", AdditionalProperties: &jsonschema.Schema{Type: "string"}})
		}
		cs := r.ReflectFromType(reflect.TypeOf(newConfig(t)).Elem())
		cs.Version, cs.ID = "", ""
		props.Set("config", cs)
		alts = append(alts, &jsonschema.Schema{Type: "object", Properties: props, Required: []string{"name", "type"}, AdditionalProperties: jsonschema.FalseSchema})
	}
	return &jsonschema.Schema{OneOf: alts, Description: desc}
}

func ptrUint64(v uint64) *uint64 { return &v }

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
}

// AnalysisProvider is a metrics backend ANALYSIS stages query. Its `config`
// depends on its `type`.
type AnalysisProvider struct {
	// The provider name, unique in the list; analysis metrics refer to it.
	Name string `json:"name"`
	// PROMETHEUS, DATADOG or CLOUDWATCH.
	Type string `json:"type"`
	// A pointer to the type's config: *PrometheusConfig, *DatadogConfig or
	// *AWSConfig (CLOUDWATCH); nil when the type is not supported.
	Config any `json:"config,omitempty"`
}

// Prometheus returns the config of a PROMETHEUS provider, else nil.
func (p *AnalysisProvider) Prometheus() *PrometheusConfig {
	c, _ := p.Config.(*PrometheusConfig)
	return c
}

// Datadog returns the config of a DATADOG provider, else nil.
func (p *AnalysisProvider) Datadog() *DatadogConfig {
	c, _ := p.Config.(*DatadogConfig)
	return c
}

// CloudWatch returns the config of a CLOUDWATCH provider, else nil.
func (p *AnalysisProvider) CloudWatch() *AWSConfig {
	c, _ := p.Config.(*AWSConfig)
	return c
}

type analysisProviderHead struct {
	Name   string  `json:"name" jsonschema:"required"`
	Type   string  `json:"type" jsonschema:"required"`
	Config rawNode `json:"config"`
}

// DecodeNode implements NodeDecoder.
func (p *AnalysisProvider) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, path, "an analysis provider is a mapping with name, type and config", "expected a mapping, got %s", kindName(n))
		return
	}
	var h analysisProviderHead
	d.decodeStruct(n, reflect.ValueOf(&h).Elem(), path)
	p.Name, p.Type = h.Name, h.Type
	if cfg := newAnalysisConfig(h.Type); cfg != nil {
		decodeTypedConfig(d, n, h.Config.node, cfg, path+".config")
		p.Config = cfg
	}
}

// Validate implements validatable.
func (p *AnalysisProvider) Validate(c *Checker, path string) {
	if c.Has(path+".name") && strings.TrimSpace(p.Name) == "" {
		c.Errorf(path+".name", "", "name must not be empty")
	}
	if !c.Has(path + ".type") {
		return
	}
	switch p.Type {
	case "STACKDRIVER":
		c.Errorf(path+".type", "pipe queries PROMETHEUS, DATADOG and CLOUDWATCH; Stackdriver (Cloud Monitoring) is not supported",
			"analysis provider type STACKDRIVER is not supported by pipe")
	default:
		c.checkEnum(path+".type", p.Type, analysisProviderTypes()...)
	}
}

// JSONSchema describes a provider: one alternative per type.
func (AnalysisProvider) JSONSchema() *jsonschema.Schema {
	return typedEntrySchema("An analysis provider; its `config` depends on its `type`.", false, analysisProviderTypes(), newAnalysisConfig)
}

// PrometheusConfig says how to query a Prometheus server. Authentication is
// optional: basic (username and password) or a bearer token.
type PrometheusConfig struct {
	// The server address, e.g. http://prometheus:9090.
	Address string `json:"address" jsonschema:"required"`
	// A file holding the basic-auth username.
	UsernameFile HostPath `json:"usernameFile,omitempty"`
	// An environment variable holding the basic-auth username.
	UsernameEnv EnvVar `json:"usernameEnv,omitempty"`
	// A file holding the basic-auth password.
	PasswordFile HostPath `json:"passwordFile,omitempty"`
	// An environment variable holding the basic-auth password.
	PasswordEnv EnvVar `json:"passwordEnv,omitempty"`
	// A file holding a bearer token.
	BearerTokenFile HostPath `json:"bearerTokenFile,omitempty"`
	// An environment variable holding a bearer token.
	BearerTokenEnv EnvVar `json:"bearerTokenEnv,omitempty"`
}

func prometheusInlineSecrets() inlineSecrets {
	return inlineSecrets{"password": secretInstead("password"), "bearerToken": secretInstead("bearerToken")}
}

// DecodeNode implements NodeDecoder: inline credentials are reported.
func (p *PrometheusConfig) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	decodeWithoutInlineSecrets(d, n, reflect.ValueOf(p).Elem(), path, prometheusInlineSecrets())
}

func (*PrometheusConfig) unknownFieldHint(key string) string {
	if key == "username" {
		return "use `usernameEnv` or `usernameFile`"
	}
	return inlineHint(prometheusInlineSecrets(), key)
}

// Validate implements validatable.
func (p *PrometheusConfig) Validate(c *Checker, path string) {
	if c.Has(path + ".address") {
		checkHTTPURL(c, path+".address", p.Address)
	}
	c.checkSecret(path, "username", p.UsernameFile, p.UsernameEnv, false)
	c.checkSecret(path, "password", p.PasswordFile, p.PasswordEnv, false)
	c.checkSecret(path, "bearerToken", p.BearerTokenFile, p.BearerTokenEnv, false)
	user, pass, token := c.secretSourced(path, "username"), c.secretSourced(path, "password"), c.secretSourced(path, "bearerToken")
	switch {
	case user != pass:
		c.Errorf(path, "basic authentication needs a username and a password", "set both the username and the password, or neither")
	case user && token:
		c.Errorf(path, "use either basic authentication or a bearer token", "both basic authentication and a bearer token are set")
	}
}

// DatadogConfig says how to query Datadog. Both keys are required.
type DatadogConfig struct {
	// The Datadog site, e.g. datadoghq.com, datadoghq.eu, us3.datadoghq.com.
	Address string `json:"address" jsonschema:"default=datadoghq.com"`
	// A file holding the API key.
	APIKeyFile HostPath `json:"apiKeyFile,omitempty"`
	// An environment variable holding the API key.
	APIKeyEnv EnvVar `json:"apiKeyEnv,omitempty"`
	// A file holding the application key.
	ApplicationKeyFile HostPath `json:"applicationKeyFile,omitempty"`
	// An environment variable holding the application key.
	ApplicationKeyEnv EnvVar `json:"applicationKeyEnv,omitempty"`
}

func datadogInlineSecrets() inlineSecrets {
	return inlineSecrets{
		"apiKey": secretInstead("apiKey"), "apiKeyData": secretInstead("apiKey"),
		"applicationKey": secretInstead("applicationKey"), "applicationKeyData": secretInstead("applicationKey"),
	}
}

// DecodeNode implements NodeDecoder: inline keys are reported.
func (p *DatadogConfig) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	decodeWithoutInlineSecrets(d, n, reflect.ValueOf(p).Elem(), path, datadogInlineSecrets())
}

func (*DatadogConfig) unknownFieldHint(key string) string { return inlineHint(datadogInlineSecrets(), key) }

// Validate implements validatable.
func (p *DatadogConfig) Validate(c *Checker, path string) {
	if strings.TrimSpace(p.Address) == "" {
		c.Errorf(path+".address", "e.g. datadoghq.com", "address must not be empty")
	}
	c.checkSecret(path, "apiKey", p.APIKeyFile, p.APIKeyEnv, true)
	c.checkSecret(path, "applicationKey", p.ApplicationKeyFile, p.ApplicationKeyEnv, true)
}

// checkHTTPURL reports a value that is not an absolute http(s) URL.
func checkHTTPURL(c *Checker, path, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.Errorf(path, "write an absolute URL, e.g. https://example.com:9090", "%q is not an http(s) URL", truncate(s, 80))
	}
}
