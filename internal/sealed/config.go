package sealed

import (
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gitops-pipe/pipe/internal/awsconf"
	"github.com/gitops-pipe/pipe/internal/config"
)

// Deps are what NewDecrypter and NewEncrypter read keys with.
type Deps struct {
	// Getenv reads the environment (nil: os.Getenv).
	Getenv func(string) string
	// HTTP is the AWS SDK's client (nil: the SDK's).
	HTTP *http.Client
	// Editable, when set (a pull request's plan: platform.Editable),
	// reports a file the change can edit: a private key or credentials
	// file it names is refused, as the change could point it at a key of
	// its choosing.
	Editable func(path string) bool
}

func (d Deps) getenv(name string) string {
	if d.Getenv != nil {
		return d.Getenv(name)
	}
	return os.Getenv(name)
}

// maxKeyFileSize bounds a key, identity or recipients file.
const maxKeyFileSize = 1 << 20

const configWhere = config.RepoConfigFile + " secretManagement"

// NewDecrypter returns the decrypter of the repository's secret
// management: it needs the private side (the KEY_PAIR private key, the AGE
// identities, AWS credentials for AWS_KMS).
func NewDecrypter(ctx context.Context, sm *config.SecretManagement, d Deps) (Decrypter, error) {
	if err := checkConfig(sm); err != nil {
		return nil, err
	}
	switch sm.Type {
	case config.SecretManagementKeyPair:
		keys, err := keyPairPrivates(sm.KeyPair(), d)
		if err != nil {
			return nil, err
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("secretManagement (KEY_PAIR) has no private key: set privateKeyEnv (e.g. PIPE_SECRET_KEY) or privateKeyFile in %s, and give the job that secret", config.RepoConfigFile)
		}
		return RSAKeyPair{Private: keys[0], Previous: keys[1:]}, nil
	case config.SecretManagementAge:
		ids, err := ageIdentities(sm.Age(), d)
		if err != nil {
			return nil, err
		}
		if ids == nil {
			return nil, fmt.Errorf("secretManagement (AGE) has no identity: set identityEnv (e.g. PIPE_AGE_KEY) or identityFile in %s, and give the job that secret", config.RepoConfigFile)
		}
		return AgeKeys{Identities: ids}, nil
	case config.SecretManagementAWSKMS:
		return newKMS(ctx, sm.AWSKMS(), d)
	}
	return nil, unsupported(sm)
}

// NewEncrypter returns the encrypter of the repository's secret
// management: it needs the public side (the KEY_PAIR public key, derived
// from the private key when only that is given; the AGE recipients, derived
// from the identities when none is listed; the AWS_KMS key id and AWS
// credentials).
func NewEncrypter(ctx context.Context, sm *config.SecretManagement, d Deps) (Encrypter, error) {
	if err := checkConfig(sm); err != nil {
		return nil, err
	}
	switch sm.Type {
	case config.SecretManagementKeyPair:
		kp := sm.KeyPair()
		pub, err := keyPairPublic(kp)
		if err != nil {
			return nil, err
		}
		if pub != nil {
			return RSAKeyPair{Public: pub}, nil
		}
		privs, err := keyPairPrivates(kp, d)
		if err != nil {
			return nil, fmt.Errorf("%w (the public key is derived from it, as neither publicKeyData nor publicKeyFile is set)", err)
		}
		if len(privs) == 0 {
			return nil, fmt.Errorf("secretManagement (KEY_PAIR) has no public key: set publicKeyData (the base64 of the PEM public key) or publicKeyFile in %s", config.RepoConfigFile)
		}
		// The current key: the first one.
		return RSAKeyPair{Public: &privs[0].PublicKey}, nil
	case config.SecretManagementAge:
		a := sm.Age()
		recs, err := ageRecipients(a)
		if err != nil {
			return nil, err
		}
		if recs != nil {
			return AgeKeys{Recipients: recs}, nil
		}
		ids, err := ageIdentities(a, d)
		if err != nil {
			return nil, fmt.Errorf("%w (the recipients are derived from it, as neither recipients nor recipientsFile is set)", err)
		}
		if ids == nil {
			return nil, fmt.Errorf("secretManagement (AGE) has no recipient: list the public keys (age1...) in recipients, or set recipientsFile, in %s", config.RepoConfigFile)
		}
		recs, err = AgeRecipientsOf(ids)
		if err != nil {
			return nil, fmt.Errorf("secretManagement (AGE): %w", err)
		}
		return AgeKeys{Recipients: recs}, nil
	case config.SecretManagementAWSKMS:
		return newKMS(ctx, sm.AWSKMS(), d)
	}
	return nil, unsupported(sm)
}

func checkConfig(sm *config.SecretManagement) error {
	if sm == nil {
		return fmt.Errorf("%s has no secretManagement: add one (type AGE, KEY_PAIR or AWS_KMS) to encrypt or decrypt secrets", config.RepoConfigFile)
	}
	if sm.Config == nil && sm.Type != config.SecretManagementGCPKMS {
		switch sm.Type {
		case config.SecretManagementKeyPair, config.SecretManagementAge, config.SecretManagementAWSKMS:
			// A type without `config:` decodes to an empty config.
		default:
			return unsupported(sm)
		}
	}
	return nil
}

func unsupported(sm *config.SecretManagement) error {
	if sm.Type == config.SecretManagementGCPKMS {
		return fmt.Errorf("secretManagement type GCP_KMS is not supported by pipe; use AGE, KEY_PAIR or AWS_KMS in %s and encrypt the secrets again with `pipe secret encrypt`", config.RepoConfigFile)
	}
	return fmt.Errorf("secretManagement type %q is not supported; use AGE, KEY_PAIR or AWS_KMS in %s", truncateKey(sm.Type), config.RepoConfigFile)
}

// readKeyFile reads a host file holding a key; private keys a pull
// request can edit are refused.
func readKeyFile(d *Deps, typ, field, path string, private bool) ([]byte, error) {
	if private && d != nil && d.Editable != nil && d.Editable(path) {
		return nil, fmt.Errorf("secretManagement (%s) %s %s is inside the repository, so this pull request can change it; "+
			"keep the key outside the checkout (a CI secret in privateKeyEnv/identityEnv, or a file written by the job)", typ, field, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secretManagement (%s) %s: %w", typ, field, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("secretManagement (%s) %s: %w", typ, field, err)
	}
	if len(b) > maxKeyFileSize {
		return nil, fmt.Errorf("secretManagement (%s) %s %s is larger than %d KiB: not a key file", typ, field, path, maxKeyFileSize>>10)
	}
	return b, nil
}

// readKeyEnv reads the environment variable a config field names; it is an
// error when it is empty.
func readKeyEnv(d Deps, typ, field, name string) ([]byte, error) {
	v := strings.TrimSpace(d.getenv(name))
	if v == "" {
		return nil, fmt.Errorf("secretManagement (%s) %s names the environment variable %s, which is unset or empty: give the job that secret", typ, field, name)
	}
	return []byte(v), nil
}

// readPrivateKey reads the private key a config holds in a file (fileField
// names it) or in an environment variable (envField names it), the file
// first; where tells which in errors. where is "" when neither is set.
func readPrivateKey(d Deps, typ, fileField, file, envField, env string) (data []byte, where string, err error) {
	switch {
	case file != "":
		data, err = readKeyFile(&d, typ, fileField, file, true)
		return data, fileField + " " + file, err
	case env != "":
		data, err = readKeyEnv(d, typ, envField, env)
		return data, "the environment variable " + env + " (" + envField + ")", err
	}
	return nil, "", nil
}

// keyPairPrivates returns the KEY_PAIR private keys (the current one
// first, then those of before a rotation), none when none is configured.
func keyPairPrivates(kp *config.KeyPairConfig, d Deps) ([]*rsa.PrivateKey, error) {
	if kp == nil {
		return nil, nil
	}
	data, where, err := readPrivateKey(d, "KEY_PAIR", "privateKeyFile", string(kp.PrivateKeyFile), "privateKeyEnv", string(kp.PrivateKeyEnv))
	if err != nil || where == "" {
		return nil, err
	}
	defer clear(data)
	keys, err := ParseRSAPrivateKeys(data)
	if err != nil {
		return nil, fmt.Errorf("secretManagement (KEY_PAIR) %s: %w", where, err)
	}
	return keys, nil
}

// keyPairPublic returns the configured KEY_PAIR public key, nil when none
// is configured.
func keyPairPublic(kp *config.KeyPairConfig) (*rsa.PublicKey, error) {
	if kp == nil {
		return nil, nil
	}
	var data []byte
	var where string
	switch {
	case kp.PublicKeyFile != "":
		where = "publicKeyFile " + string(kp.PublicKeyFile)
		b, err := readKeyFile(nil, "KEY_PAIR", "publicKeyFile", string(kp.PublicKeyFile), false)
		if err != nil {
			return nil, err
		}
		data = b
	case kp.PublicKeyData != "":
		where = "publicKeyData"
		data = []byte(kp.PublicKeyData)
	default:
		return nil, nil
	}
	key, err := ParseRSAPublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("secretManagement (KEY_PAIR) %s: %w", where, err)
	}
	return key, nil
}

// ageIdentities returns the AGE identities, nil when none is configured.
func ageIdentities(a *config.AgeConfig, d Deps) ([]age.Identity, error) {
	if a == nil {
		return nil, nil
	}
	data, where, err := readPrivateKey(d, "AGE", "identityFile", string(a.IdentityFile), "identityEnv", string(a.IdentityEnv))
	if err != nil || where == "" {
		return nil, err
	}
	defer clear(data)
	ids, err := ParseAgeIdentities(string(data))
	if err != nil {
		return nil, fmt.Errorf("secretManagement (AGE) %s: %w", where, err)
	}
	return ids, nil
}

// ageRecipients returns the listed AGE recipients and those of
// recipientsFile, nil when none is configured.
func ageRecipients(a *config.AgeConfig) ([]age.Recipient, error) {
	if a == nil {
		return nil, nil
	}
	var recs []age.Recipient
	if len(a.Recipients) > 0 {
		r, err := ParseAgeRecipients(strings.Join(a.Recipients, "\n"))
		if err != nil {
			return nil, fmt.Errorf("secretManagement (AGE) recipients: %w", err)
		}
		recs = append(recs, r...)
	}
	if a.RecipientsFile != "" {
		b, err := readKeyFile(nil, "AGE", "recipientsFile", string(a.RecipientsFile), false)
		if err != nil {
			return nil, err
		}
		r, err := ParseAgeRecipients(string(b))
		if err != nil {
			return nil, fmt.Errorf("secretManagement (AGE) recipientsFile %s: %w", a.RecipientsFile, err)
		}
		recs = append(recs, r...)
	}
	return recs, nil
}

// newKMS builds the AWS_KMS scheme: the SDK configuration of awsconf.Load
// and the key id.
func newKMS(ctx context.Context, k *config.AWSKMSConfig, d Deps) (KMS, error) {
	if k == nil || strings.TrimSpace(k.KeyID) == "" {
		return KMS{}, fmt.Errorf("secretManagement (AWS_KMS) has no key: set config.keyId (a key ID, key ARN or alias/NAME) in %s", config.RepoConfigFile)
	}
	cfg, err := awsconf.Load(ctx, awsconf.Options{Where: configWhere, Config: k.AWS(), Getenv: d.Getenv, HTTP: d.HTTP, Editable: d.Editable})
	if err != nil {
		return KMS{}, err
	}
	return KMS{Client: kms.NewFromConfig(cfg), KeyID: k.KeyID}, nil
}
