package config

import (
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Analysis provider types pipe supports.
const (
	AnalysisPrometheus = "PROMETHEUS"
	AnalysisDatadog    = "DATADOG"
	AnalysisCloudWatch = "CLOUDWATCH"
)

func analysisProviderTypes() []string {
	return []string{AnalysisPrometheus, AnalysisDatadog, AnalysisCloudWatch}
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
	// The least step of range queries: the scrape interval (finer steps
	// repeat each scraped value, which a rank test would count as evidence).
	MinStep Duration `json:"minStep,omitempty" jsonschema:"default=15s"`
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

func (*DatadogConfig) unknownFieldHint(key string) string {
	return inlineHint(datadogInlineSecrets(), key)
}

// Validate implements validatable.
func (p *DatadogConfig) Validate(c *Checker, path string) {
	if strings.TrimSpace(p.Address) == "" {
		c.Errorf(path+".address", "e.g. datadoghq.com", "address must not be empty")
	}
	c.checkSecret(path, "apiKey", p.APIKeyFile, p.APIKeyEnv, true)
	c.checkSecret(path, "applicationKey", p.ApplicationKeyFile, p.ApplicationKeyEnv, true)
}
