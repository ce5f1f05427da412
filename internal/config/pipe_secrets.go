package config

import (
	"fmt"
	"reflect"
	"strings"

	"filippo.io/age"
	"gopkg.in/yaml.v3"
)

// Secret management types.
const (
	SecretManagementKeyPair = "KEY_PAIR"
	SecretManagementGCPKMS  = "GCP_KMS"
	SecretManagementAge     = "AGE"
	SecretManagementAWSKMS  = "AWS_KMS"
)

func secretManagementTypes() []string {
	return []string{SecretManagementAge, SecretManagementKeyPair, SecretManagementAWSKMS, SecretManagementGCPKMS}
}

func newSecretManagementConfig(typ string) any {
	switch typ {
	case SecretManagementKeyPair:
		return &KeyPairConfig{}
	case SecretManagementGCPKMS:
		return &GCPKMSConfig{}
	case SecretManagementAge:
		return &AgeConfig{}
	case SecretManagementAWSKMS:
		return &AWSKMSConfig{}
	}
	return nil
}

// SecretManagement says how the secrets of application configs
// (spec.encryption) are encrypted. Its `config` depends on its `type`.
type SecretManagement struct {
	// AGE, KEY_PAIR, AWS_KMS or GCP_KMS (declared for PipeCD configs; pipe
	// does not decrypt it).
	Type string `json:"type"`
	// A pointer to the type's config: *AgeConfig, *KeyPairConfig,
	// *AWSKMSConfig or *GCPKMSConfig; nil when the type is unknown.
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

// Age returns the config of an AGE secret management, else nil.
func (s *SecretManagement) Age() *AgeConfig {
	c, _ := s.Config.(*AgeConfig)
	return c
}

// AWSKMS returns the config of an AWS_KMS secret management, else nil.
func (s *SecretManagement) AWSKMS() *AWSKMSConfig {
	c, _ := s.Config.(*AWSKMSConfig)
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
	case "keyPair", "gcpKms", "gcpKMS", "age", "awsKms", "awsKMS":
		return "the settings go under `config:` (PipeCD's layout: type + config)"
	}
	return ""
}

// Validate implements validatable.
func (s *SecretManagement) Validate(c *Checker, path string) {
	if c.Has(path + ".type") {
		if c.checkEnum(path+".type", s.Type, secretManagementTypes()...) && s.Type == SecretManagementGCPKMS {
			c.Warnf(path+".type", "use AGE (recommended), KEY_PAIR or AWS_KMS, and encrypt the secrets again with `pipe secret encrypt`",
				"GCP_KMS is declared (as PipeCD declares it) but pipe cannot decrypt its secrets")
		}
	}
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

// AgeConfig is an age key (filippo.io/age, X25519): `pipe secret encrypt`
// encrypts to the recipients (public keys), deployments decrypt with the
// identity (private key).
type AgeConfig struct {
	// The recipients (public keys, age1...) secrets are encrypted to; they
	// are not secret. Several recipients (e.g. the CI key and an
	// operator's) can each decrypt.
	Recipients []string `json:"recipients,omitempty"`
	// A file of recipients, one per line ('#' comments), added to
	// `recipients`.
	RecipientsFile HostPath `json:"recipientsFile,omitempty"`
	// A file holding the identities (age-keygen's format,
	// AGE-SECRET-KEY-1...).
	IdentityFile HostPath `json:"identityFile,omitempty"`
	// An environment variable holding the identities.
	IdentityEnv EnvVar `json:"identityEnv,omitempty"`
}

func ageInlineSecrets() inlineSecrets {
	h := secretInstead("identity")
	return inlineSecrets{"identity": h, "identityData": h, "identities": h, "privateKey": h, "secretKey": h}
}

// DecodeNode implements NodeDecoder: an inline identity is reported.
func (a *AgeConfig) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	decodeWithoutInlineSecrets(d, n, reflect.ValueOf(a).Elem(), path, ageInlineSecrets())
}

func (*AgeConfig) unknownFieldHint(key string) string {
	switch key {
	case "recipient", "publicKey", "publicKeys":
		return "write the public keys under `recipients:` (a list of age1... keys)"
	}
	return inlineHint(ageInlineSecrets(), key)
}

// Validate implements validatable. A value is never echoed: an identity
// pasted among the recipients is a secret.
func (a *AgeConfig) Validate(c *Checker, path string) {
	c.checkSecret(path, "identity", a.IdentityFile, a.IdentityEnv, false)
	for i, r := range a.Recipients {
		p := indexPath(path+".recipients", i)
		r = strings.TrimSpace(r)
		switch {
		case strings.HasPrefix(strings.ToUpper(r), "AGE-SECRET-KEY-"):
			c.Errorf(p, "remove it from the repository now and make a new key (it is compromised); write its recipient instead (age-keygen -y)",
				"inline secret: this is an age identity (private key), not a recipient")
		case strings.HasPrefix(r, "age1pq1"):
			if _, err := age.ParseHybridRecipient(r); err != nil {
				c.Errorf(p, "copy the whole age1pq1... line age-keygen printed", "recipient is not a valid age post-quantum recipient (bad checksum or length)")
			}
		case strings.HasPrefix(r, "age1"):
			if _, err := age.ParseX25519Recipient(r); err != nil {
				c.Errorf(p, "copy the whole `# public key: age1...` value age-keygen printed", "recipient is not a valid age recipient (bad checksum or length)")
			}
		default:
			c.Errorf(p, "an age recipient starts with age1 (age-keygen -y IDENTITY_FILE prints it)", "recipient is not an age public key")
		}
	}
	haveRecipients := c.Has(path+".recipients") && len(a.Recipients) > 0 || c.Has(path+".recipientsFile")
	if !haveRecipients && !c.secretSourced(path, "identity") {
		c.Errorf(path, "set identityEnv or identityFile (to decrypt) and recipients or recipientsFile (to encrypt)", "the age config has no key")
	}
}

// AWSKMSConfig is an AWS KMS key used for envelope encryption, and how to
// reach AWS (as a LAMBDA or ECS platform provider's config).
type AWSKMSConfig struct {
	// The KMS key: a key ID, a key ARN, alias/NAME or an alias ARN.
	KeyID string `json:"keyId" jsonschema:"required"`
	// The region; empty means the region of a key ARN, then $AWS_REGION.
	Region string `json:"region,omitempty"`
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

// AWS returns the AWS connection of the config; the region defaults to
// the region of a key or alias ARN.
func (k *AWSKMSConfig) AWS() *AWSConfig {
	region := strings.TrimSpace(k.Region)
	if region == "" {
		if parts := strings.SplitN(k.KeyID, ":", 6); len(parts) == 6 && parts[0] == "arn" && parts[2] == "kms" {
			region = parts[3]
		}
	}
	return &AWSConfig{Region: region, Profile: k.Profile, CredentialsFile: k.CredentialsFile, RoleARN: k.RoleARN, TokenFile: k.TokenFile}
}

// DecodeNode implements NodeDecoder: inline AWS keys are reported.
func (k *AWSKMSConfig) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	decodeWithoutInlineSecrets(d, n, reflect.ValueOf(k).Elem(), path, awsInlineSecrets())
}

func (*AWSKMSConfig) unknownFieldHint(key string) string {
	switch key {
	case "keyID", "keyArn", "keyARN", "keyName", "kmsKeyId":
		return "the key is `keyId` (a key ID, key ARN, alias/NAME or alias ARN)"
	}
	return inlineHint(awsInlineSecrets(), key)
}

// Validate implements validatable.
func (k *AWSKMSConfig) Validate(c *Checker, path string) {
	if c.Has(path + ".keyId") {
		if problem := awsKMSKeyIDProblem(k.KeyID); problem != "" {
			c.Errorf(path+".keyId", "a key ID (1234abcd-12ab-34cd-56ef-1234567890ab), key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), alias/NAME or alias ARN", "%s", problem)
		}
	}
	if c.Has(path+".region") && strings.TrimSpace(k.Region) == "" {
		c.Errorf(path+".region", "e.g. us-west-2, or remove it to use the key ARN's region or AWS_REGION", "region must not be empty")
	}
	if k.RoleARN != "" && !strings.HasPrefix(k.RoleARN, "arn:") {
		c.Errorf(path+".roleARN", "e.g. arn:aws:iam::123456789012:role/deployer", "roleARN %q is not an ARN", truncate(k.RoleARN, 80))
	}
	if c.Has(path+".tokenFile") && k.RoleARN == "" {
		c.Errorf(path+".tokenFile", "set roleARN: the token is exchanged for that role's credentials", "tokenFile needs roleARN")
	}
}

// awsKMSKeyIDProblem says what is wrong with a KMS key identifier, or "".
func awsKMSKeyIDProblem(id string) string {
	switch {
	case strings.TrimSpace(id) == "":
		return "keyId must not be empty"
	case strings.TrimSpace(id) != id || strings.ContainsAny(id, " \t\r\n"):
		return "keyId has white space"
	case strings.HasPrefix(id, "arn:"):
		parts := strings.SplitN(id, ":", 6)
		if len(parts) != 6 || parts[2] != "kms" || parts[3] == "" || parts[4] == "" ||
			!(strings.HasPrefix(parts[5], "key/") && len(parts[5]) > 4 || strings.HasPrefix(parts[5], "alias/") && len(parts[5]) > 6) {
			return fmt.Sprintf("keyId %q is not a KMS key or alias ARN", truncate(id, 120))
		}
	case strings.HasPrefix(id, "alias/"):
		if len(id) == len("alias/") {
			return "keyId `alias/` has no alias name"
		}
	default:
		for _, r := range strings.TrimPrefix(id, "mrk-") {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F' || r == '-') {
				return fmt.Sprintf("keyId %q is not a KMS key ID, ARN or alias (an alias is written alias/NAME)", truncate(id, 80))
			}
		}
	}
	return ""
}
