package config

import (
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// ChartRepository is a Helm chart repository that applications refer to by
// name (helmChart.repository): an HTTP repository or a Git repository.
type ChartRepository struct {
	// HTTP or GIT.
	Type string `json:"type" jsonschema:"default=HTTP,enum=HTTP,enum=GIT"`
	// The repository name (HTTP).
	Name string `json:"name,omitempty"`
	// The repository URL (HTTP).
	Address string `json:"address,omitempty"`
	// The basic-auth username (HTTP).
	Username string `json:"username,omitempty"`
	// A file holding the basic-auth password (HTTP).
	PasswordFile HostPath `json:"passwordFile,omitempty"`
	// An environment variable holding the basic-auth password (HTTP).
	PasswordEnv EnvVar `json:"passwordEnv,omitempty"`
	// Skip TLS certificate checks (HTTP).
	Insecure bool `json:"insecure,omitempty"`
	// The Git remote holding the charts (GIT), e.g. git@github.com:org/charts.git.
	GitRemote string `json:"gitRemote,omitempty"`
	// The SSH key used to clone gitRemote (GIT).
	SSHKeyFile HostPath `json:"sshKeyFile,omitempty"`
}

func passwordInlineSecrets() inlineSecrets {
	return inlineSecrets{"password": secretInstead("password")}
}

// DecodeNode implements NodeDecoder: an inline password is reported.
func (r *ChartRepository) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	decodeWithoutInlineSecrets(d, n, reflect.ValueOf(r).Elem(), path, passwordInlineSecrets())
}

func (*ChartRepository) unknownFieldHint(key string) string {
	return inlineHint(passwordInlineSecrets(), key)
}

// Validate implements validatable (PipeCD's rules: an HTTP repository needs
// name and address, a GIT one gitRemote).
func (r *ChartRepository) Validate(c *Checker, path string) {
	if !c.checkEnum(path+".type", r.Type, "HTTP", "GIT") {
		return
	}
	c.checkSecret(path, "password", r.PasswordFile, r.PasswordEnv, false)
	if r.Type == "GIT" {
		if r.GitRemote == "" {
			c.Errorf(path, "e.g. gitRemote: git@github.com:org/charts.git", "a GIT chart repository needs gitRemote")
		}
		return
	}
	if strings.TrimSpace(r.Name) == "" {
		c.Errorf(path, "applications refer to it by helmChart.repository", "an HTTP chart repository needs a name")
	}
	if r.Address == "" {
		c.Errorf(path, "e.g. address: https://charts.bitnami.com/bitnami", "an HTTP chart repository needs an address")
	} else {
		checkHTTPURL(c, path+".address", r.Address)
	}
	if r.Username == "" && c.secretSourced(path, "password") {
		c.Errorf(path, "set `username`", "a password needs a username")
	}
}

// ChartRegistry is an OCI registry holding Helm charts, logged in to before use.
type ChartRegistry struct {
	// OCI (the only type).
	Type string `json:"type" jsonschema:"default=OCI,enum=OCI"`
	// The registry host, e.g. ghcr.io.
	Address string `json:"address" jsonschema:"required"`
	// The username.
	Username string `json:"username,omitempty"`
	// A file holding the password.
	PasswordFile HostPath `json:"passwordFile,omitempty"`
	// An environment variable holding the password.
	PasswordEnv EnvVar `json:"passwordEnv,omitempty"`
}

// DecodeNode implements NodeDecoder: an inline password is reported.
func (r *ChartRegistry) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	decodeWithoutInlineSecrets(d, n, reflect.ValueOf(r).Elem(), path, passwordInlineSecrets())
}

func (*ChartRegistry) unknownFieldHint(key string) string {
	return inlineHint(passwordInlineSecrets(), key)
}

// Validate implements validatable.
func (r *ChartRegistry) Validate(c *Checker, path string) {
	c.checkEnum(path+".type", r.Type, "OCI")
	if c.Has(path+".address") && strings.TrimSpace(r.Address) == "" {
		c.Errorf(path+".address", "e.g. ghcr.io", "address must not be empty")
	}
	c.checkSecret(path, "password", r.PasswordFile, r.PasswordEnv, false)
	if (r.Username != "") != c.secretSourced(path, "password") {
		c.Errorf(path, "set both username and passwordEnv/passwordFile, or neither", "registry login needs a username and a password")
	}
}
