package sealed

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gitops-pipe/pipe/internal/config"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func roundTrip(t *testing.T, enc Encrypter, dec Decrypter) {
	t.Helper()
	ctx := context.Background()
	ct, err := enc.Encrypt(ctx, []byte("configured secret"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := dec.Decrypt(ctx, ct)
	if err != nil || string(got) != "configured secret" {
		t.Fatalf("round trip: %v", err)
	}
}

func TestNewFromConfigKeyPair(t *testing.T) {
	ctx := context.Background()
	privPEM, pubPEM := testRSA(t)
	dir := t.TempDir()
	privFile, pubFile := filepath.Join(dir, "key.pem"), filepath.Join(dir, "pub.pem")
	os.WriteFile(privFile, privPEM, 0o600)
	os.WriteFile(pubFile, pubPEM, 0o644)
	kp := func(c config.KeyPairConfig) *config.SecretManagement {
		return &config.SecretManagement{Type: config.SecretManagementKeyPair, Config: &c}
	}
	env := envOf(map[string]string{
		"PIPE_SECRET_KEY": "\n" + string(privPEM) + "\n",
		"PIPE_KEY_B64":    base64.StdEncoding.EncodeToString(privPEM),
	})

	for name, sm := range map[string]*config.SecretManagement{
		"env PEM":    kp(config.KeyPairConfig{PrivateKeyEnv: "PIPE_SECRET_KEY", PublicKeyFile: config.HostPath(pubFile)}),
		"env base64": kp(config.KeyPairConfig{PrivateKeyEnv: "PIPE_KEY_B64", PublicKeyData: base64.StdEncoding.EncodeToString(pubPEM)}),
		"file":       kp(config.KeyPairConfig{PrivateKeyFile: config.HostPath(privFile)}), // public key derived
	} {
		t.Run(name, func(t *testing.T) {
			dec, err := NewDecrypter(ctx, sm, Deps{Getenv: env})
			if err != nil {
				t.Fatal(err)
			}
			enc, err := NewEncrypter(ctx, sm, Deps{Getenv: env})
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, enc, dec)
		})
	}

	// The public key alone encrypts, but does not decrypt.
	pubOnly := kp(config.KeyPairConfig{PublicKeyFile: config.HostPath(pubFile)})
	if _, err := NewEncrypter(ctx, pubOnly, Deps{Getenv: env}); err != nil {
		t.Fatal(err)
	}
	_, err := NewDecrypter(ctx, pubOnly, Deps{Getenv: env})
	want := "secretManagement (KEY_PAIR) has no private key: set privateKeyEnv (e.g. PIPE_SECRET_KEY) or privateKeyFile in .pipe/config.yaml, and give the job that secret"
	if err == nil || err.Error() != want {
		t.Fatalf("no private key: %v", err)
	}
	if _, err := NewEncrypter(ctx, kp(config.KeyPairConfig{}), Deps{}); err == nil || !strings.Contains(err.Error(), "set publicKeyData") {
		t.Fatalf("no key at all: %v", err)
	}

	for _, c := range []struct {
		name string
		sm   *config.SecretManagement
		deps Deps
		want string
	}{
		{"env unset", kp(config.KeyPairConfig{PrivateKeyEnv: "PIPE_MISSING"}), Deps{Getenv: env},
			"privateKeyEnv names the environment variable PIPE_MISSING, which is unset or empty"},
		{"env holds a public key", kp(config.KeyPairConfig{PrivateKeyEnv: "PUB"}), Deps{Getenv: envOf(map[string]string{"PUB": string(pubPEM)})},
			"the environment variable PUB (privateKeyEnv): the RSA private key is a public key"},
		{"env holds garbage", kp(config.KeyPairConfig{PrivateKeyEnv: "BAD"}), Deps{Getenv: envOf(map[string]string{"BAD": "hunter2hunter2"})},
			"neither PEM"},
		{"editable key file", kp(config.KeyPairConfig{PrivateKeyFile: config.HostPath(privFile)}), Deps{Editable: func(p string) bool { return p == privFile }},
			"is inside the repository, so this pull request can change it"},
		{"missing key file", kp(config.KeyPairConfig{PrivateKeyFile: "/nonexistent/key.pem"}), Deps{},
			"privateKeyFile: open /nonexistent/key.pem"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewDecrypter(ctx, c.sm, c.deps)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), string(privPEM[40:60])) {
				t.Fatalf("the error holds key material: %v", err)
			}
		})
	}
	// A public key file in the repository is fine: it is public.
	if _, err := NewEncrypter(ctx, pubOnly, Deps{Editable: func(string) bool { return true }}); err != nil {
		t.Fatalf("editable public key: %v", err)
	}
	// A bad publicKeyData is told as such.
	if _, err := NewEncrypter(ctx, kp(config.KeyPairConfig{PublicKeyData: "bm90IGEga2V5"}), Deps{}); err == nil || !strings.Contains(err.Error(), "publicKeyData: the RSA public key is base64, but not of a PEM") {
		t.Fatalf("bad publicKeyData: %v", err)
	}
}

func TestNewFromConfigAge(t *testing.T) {
	ctx := context.Background()
	idText, recText := testAge(t)
	id2, rec2 := testAge(t)
	dir := t.TempDir()
	idFile, recFile := filepath.Join(dir, "age.txt"), filepath.Join(dir, "recipients.txt")
	os.WriteFile(idFile, []byte("# created\n# public key: "+recText+"\n"+idText+"\n"), 0o600)
	os.WriteFile(recFile, []byte("# operator\n"+rec2+"\n"), 0o644)
	ag := func(c config.AgeConfig) *config.SecretManagement {
		return &config.SecretManagement{Type: config.SecretManagementAge, Config: &c}
	}
	env := envOf(map[string]string{"PIPE_AGE_KEY": idText + "\n", "OPERATOR_KEY": id2})

	// Recipients listed and in a file: each identity decrypts.
	sm := ag(config.AgeConfig{Recipients: []string{recText}, RecipientsFile: config.HostPath(recFile), IdentityEnv: "PIPE_AGE_KEY"})
	enc, err := NewEncrypter(ctx, sm, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecrypter(ctx, sm, Deps{Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, enc, dec)
	opDec, err := NewDecrypter(ctx, ag(config.AgeConfig{IdentityEnv: "OPERATOR_KEY"}), Deps{Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, enc, opDec)

	// Only an identity file: the recipient is derived.
	fileOnly := ag(config.AgeConfig{IdentityFile: config.HostPath(idFile)})
	enc, err = NewEncrypter(ctx, fileOnly, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	dec, err = NewDecrypter(ctx, fileOnly, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, enc, dec)

	for _, c := range []struct {
		name string
		sm   *config.SecretManagement
		deps Deps
		want string
	}{
		{"no identity", ag(config.AgeConfig{Recipients: []string{recText}}), Deps{},
			"secretManagement (AGE) has no identity: set identityEnv (e.g. PIPE_AGE_KEY) or identityFile in .pipe/config.yaml, and give the job that secret"},
		{"env unset", ag(config.AgeConfig{IdentityEnv: "AGE_NOPE"}), Deps{Getenv: env}, "identityEnv names the environment variable AGE_NOPE, which is unset or empty"},
		{"editable identity file", fileOnly, Deps{Editable: func(string) bool { return true }}, "identityFile " + idFile + " is inside the repository"},
		{"env holds a recipient", ag(config.AgeConfig{IdentityEnv: "R"}), Deps{Getenv: envOf(map[string]string{"R": recText})}, "line 1: an age recipient"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewDecrypter(ctx, c.sm, c.deps)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
		})
	}
	if _, err := NewEncrypter(ctx, ag(config.AgeConfig{}), Deps{}); err == nil || !strings.Contains(err.Error(), "has no recipient: list the public keys") {
		t.Fatalf("no recipient: %v", err)
	}
}

func TestNewFromConfigOtherTypes(t *testing.T) {
	ctx := context.Background()
	gcp := &config.SecretManagement{Type: config.SecretManagementGCPKMS, Config: &config.GCPKMSConfig{KeyName: "projects/p"}}
	for _, f := range []func() error{
		func() error { _, err := NewDecrypter(ctx, gcp, Deps{}); return err },
		func() error { _, err := NewEncrypter(ctx, gcp, Deps{}); return err },
	} {
		if err := f(); err == nil || !strings.Contains(err.Error(), "GCP_KMS is not supported by pipe; use AGE, KEY_PAIR or AWS_KMS") {
			t.Fatalf("GCP_KMS: %v", err)
		}
	}
	if _, err := NewDecrypter(ctx, nil, Deps{}); err == nil || !strings.Contains(err.Error(), "has no secretManagement") {
		t.Fatalf("nil: %v", err)
	}
	if _, err := NewDecrypter(ctx, &config.SecretManagement{Type: "VAULT"}, Deps{}); err == nil || !strings.Contains(err.Error(), `"VAULT" is not supported`) {
		t.Fatalf("unknown type: %v", err)
	}

	// AWS_KMS: the SDK configuration comes from awsconf (region from the
	// key ARN; an editable credentials file refused; no key refused).
	kmsSM := func(c config.AWSKMSConfig) *config.SecretManagement {
		return &config.SecretManagement{Type: config.SecretManagementAWSKMS, Config: &c}
	}
	noAWS := envOf(map[string]string{"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "test"})
	d, err := NewDecrypter(ctx, kmsSM(config.AWSKMSConfig{KeyID: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}), Deps{Getenv: noAWS})
	if err != nil {
		t.Fatal(err)
	}
	k, ok := d.(KMS)
	if !ok || k.KeyID != "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" {
		t.Fatalf("decrypter %T %+v", d, d)
	}
	client, ok := k.Client.(*kms.Client)
	if !ok {
		t.Fatalf("client %T is not the SDK's", k.Client)
	}
	if r := client.Options().Region; r != "eu-west-1" {
		t.Fatalf("region %q, want the key ARN's", r)
	}
	if _, err := NewEncrypter(ctx, kmsSM(config.AWSKMSConfig{}), Deps{}); err == nil || !strings.Contains(err.Error(), "has no key: set config.keyId") {
		t.Fatalf("no key id: %v", err)
	}
	_, err = NewDecrypter(ctx, kmsSM(config.AWSKMSConfig{KeyID: "alias/x", Region: "us-east-1", CredentialsFile: "creds"}), Deps{Getenv: noAWS, Editable: func(string) bool { return true }})
	if err == nil || !strings.Contains(err.Error(), ".pipe/config.yaml secretManagement: config.credentialsFile creds is inside the repository") {
		t.Fatalf("editable credentials: %v", err)
	}
}
