package config

import (
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"
	"gopkg.in/yaml.v3"
)

// Secret management types.
const (
	SecretManagementKeyPair = "KEY_PAIR"
	SecretManagementGCPKMS  = "GCP_KMS"
)

func secretManagementTypes() []string {
	return []string{SecretManagementKeyPair, SecretManagementGCPKMS}
}

func newSecretManagementConfig(typ string) any {
	switch typ {
	case SecretManagementKeyPair:
		return &KeyPairConfig{}
	case SecretManagementGCPKMS:
		return &GCPKMSConfig{}
	}
	return nil
}

// SecretManagement says how the secrets of application configs
// (spec.encryption) are encrypted. Its `config` depends on its `type`.
type SecretManagement struct {
	// KEY_PAIR or GCP_KMS.
	Type string `json:"type"`
	// A pointer to the type's config: *KeyPairConfig or *GCPKMSConfig; nil
	// when the type is unknown.
	Config any `json:"config,omitempty"`
}

// KeyPair returns the config of a KEY_PAIR secret management, else nil.
func (s *SecretManagement) KeyPair() *KeyPairConfig {
	c, _ := s.Config.(*KeyPairConfig)
	return c
}

// GCPKMS returns the config of a GCP_KMS secret management, else nil.
func (s *SecretManagement) GCPKMS() *GCPKMSConfig {
	c, _ := s.Config.(*GCPKMSConfig)
	return c
}

type secretManagementHead struct {
	Type   string  `json:"type" jsonschema:"required"`
	Config rawNode `json:"config"`
}

// DecodeNode implements NodeDecoder.
func (s *SecretManagement) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, path, "secretManagement is a mapping with type and config", "expected a mapping, got %s", kindName(n))
		return
	}
	var h secretManagementHead
	d.decodeStruct(n, reflect.ValueOf(&h).Elem(), path)
	s.Type = h.Type
	if cfg := newSecretManagementConfig(h.Type); cfg != nil {
		decodeTypedConfig(d, n, h.Config.node, cfg, path+".config")
		s.Config = cfg
	}
}

// unknownFieldHint points the config of a type at `config`.
func (*secretManagementHead) unknownFieldHint(key string) string {
	switch key {
	case "keyPair", "gcpKms", "gcpKMS":
		return "the settings go under `config:` (PipeCD's layout: type + config)"
	}
	return ""
}

// Validate implements validatable.
func (s *SecretManagement) Validate(c *Checker, path string) {
	if c.Has(path + ".type") {
		c.checkEnum(path+".type", s.Type, secretManagementTypes()...)
	}
}

// JSONSchema describes secret management: one alternative per type.
func (SecretManagement) JSONSchema() *jsonschema.Schema {
	r := schemaReflector()
	var alts []*jsonschema.Schema
	for _, t := range secretManagementTypes() {
		props := jsonschema.NewProperties()
		props.Set("type", &jsonschema.Schema{Const: t})
		cs := r.ReflectFromType(reflect.TypeOf(newSecretManagementConfig(t)).Elem())
		cs.Version, cs.ID = "", ""
		props.Set("config", cs)
		alts = append(alts, &jsonschema.Schema{Type: "object", Properties: props, Required: []string{"type"}, AdditionalProperties: jsonschema.FalseSchema})
	}
	return &jsonschema.Schema{OneOf: alts, Description: "How secrets are encrypted; `config` depends on `type`."}
}

// KeyPairConfig is an RSA key pair: `pipe secret encrypt` needs the public
// key, deployments (decryption) the private key.
type KeyPairConfig struct {
	// A file holding the PEM private key.
	PrivateKeyFile HostPath `json:"privateKeyFile,omitempty"`
	// An environment variable holding the PEM private key.
	PrivateKeyEnv EnvVar `json:"privateKeyEnv,omitempty"`
	// A file holding the PEM public key.
	PublicKeyFile HostPath `json:"publicKeyFile,omitempty"`
	// The public key, base64-encoded PEM (it is not a secret).
	PublicKeyData string `json:"publicKeyData,omitempty"`
}

func keyPairInlineSecrets() inlineSecrets {
	return inlineSecrets{"privateKeyData": secretInstead("privateKey"), "privateKey": secretInstead("privateKey")}
}

// DecodeNode implements NodeDecoder: an inline private key is reported.
func (k *KeyPairConfig) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	decodeWithoutInlineSecrets(d, n, reflect.ValueOf(k).Elem(), path, keyPairInlineSecrets())
}

func (*KeyPairConfig) unknownFieldHint(key string) string {
	return inlineHint(keyPairInlineSecrets(), key)
}

// Validate implements validatable.
func (k *KeyPairConfig) Validate(c *Checker, path string) {
	c.checkSecret(path, "privateKey", k.PrivateKeyFile, k.PrivateKeyEnv, false)
	pubFile, pubData := c.Has(path+".publicKeyFile"), c.Has(path+".publicKeyData")
	if pubFile && pubData {
		c.Errorf(path+".publicKeyData", "keep either `publicKeyFile` or `publicKeyData`", "`publicKeyFile` and `publicKeyData` are both set")
	}
	if !pubFile && !pubData && !c.secretSourced(path, "privateKey") {
		c.Errorf(path, "set privateKeyEnv or privateKeyFile (to decrypt) and publicKeyFile or publicKeyData (to encrypt)", "the key pair has no key")
	}
}

// GCPKMSConfig is a Google Cloud KMS key.
type GCPKMSConfig struct {
	// The key name: projects/P/locations/L/keyRings/R/cryptoKeys/K.
	KeyName string `json:"keyName" jsonschema:"required"`
	// A service account key file used to decrypt; empty means Application
	// Default Credentials.
	DecryptServiceAccountFile HostPath `json:"decryptServiceAccountFile,omitempty"`
	// A service account key file used to encrypt; empty means Application
	// Default Credentials.
	EncryptServiceAccountFile HostPath `json:"encryptServiceAccountFile,omitempty"`
}

// Validate implements validatable.
func (g *GCPKMSConfig) Validate(c *Checker, path string) {
	if c.Has(path+".keyName") && !strings.HasPrefix(g.KeyName, "projects/") {
		c.Errorf(path+".keyName", "projects/P/locations/L/keyRings/R/cryptoKeys/K", "keyName %q is not a KMS key name", truncate(g.KeyName, 80))
	}
}
