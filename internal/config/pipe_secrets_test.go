package config

import (
	"strings"
	"testing"
)

func TestSecretManagementAgeAndAWSKMS(t *testing.T) {
	const recipient = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
	for _, c := range []struct {
		name, body string
		check      func(t *testing.T, sm *SecretManagement)
	}{
		{"age", "  secretManagement:\n    type: AGE\n    config:\n      recipients: [" + recipient + "]\n      recipientsFile: /etc/pipe/recipients.txt\n      identityEnv: PIPE_AGE_KEY\n",
			func(t *testing.T, sm *SecretManagement) {
				a := sm.Age()
				if a == nil || len(a.Recipients) != 1 || a.Recipients[0] != recipient || a.IdentityEnv != "PIPE_AGE_KEY" || a.RecipientsFile != "/etc/pipe/recipients.txt" {
					t.Errorf("age config = %+v", sm.Config)
				}
			}},
		{"age identity file only", "  secretManagement:\n    type: AGE\n    config: {identityFile: /run/secrets/age.txt}\n",
			func(t *testing.T, sm *SecretManagement) {
				if a := sm.Age(); a == nil || a.IdentityFile != "/run/secrets/age.txt" {
					t.Errorf("age config = %+v", sm.Config)
				}
			}},
		{"aws kms with ARN", "  secretManagement:\n    type: AWS_KMS\n    config:\n      keyId: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\n      roleARN: arn:aws:iam::123456789012:role/pipe\n      tokenFile: /tmp/oidc\n",
			func(t *testing.T, sm *SecretManagement) {
				k := sm.AWSKMS()
				if k == nil || k.RoleARN != "arn:aws:iam::123456789012:role/pipe" {
					t.Fatalf("aws kms config = %+v", sm.Config)
				}
				if a := k.AWS(); a.Region != "eu-west-1" || a.RoleARN != k.RoleARN || a.TokenFile != "/tmp/oidc" {
					t.Errorf("AWS() = %+v, want the key ARN's region and the role", a)
				}
			}},
		{"aws kms alias and region", "  secretManagement:\n    type: AWS_KMS\n    config: {keyId: alias/pipe-secrets, region: us-east-2, profile: ci}\n",
			func(t *testing.T, sm *SecretManagement) {
				k := sm.AWSKMS()
				if k == nil || k.KeyID != "alias/pipe-secrets" || k.AWS().Region != "us-east-2" || k.AWS().Profile != "ci" {
					t.Errorf("aws kms config = %+v", sm.Config)
				}
			}},
		{"aws kms key id without region", "  secretManagement:\n    type: AWS_KMS\n    config: {keyId: mrk-1234abcd12ab34cd56ef1234567890ab}\n",
			func(t *testing.T, sm *SecretManagement) {
				if k := sm.AWSKMS(); k == nil || k.AWS().Region != "" {
					t.Errorf("aws kms config = %+v (no region: AWS_REGION decides)", sm.Config)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, ds := checkSpec(t, ".pipe/config.yaml", pipeDoc(c.body), "", "")
			if len(ds) > 0 {
				t.Fatalf("diagnostics:\n%s", ds.Error())
			}
			sm := f.Spec.(*PipeSpec).SecretManagement
			if sm == nil {
				t.Fatal("no secretManagement")
			}
			c.check(t, sm)
		})
	}
}

func TestSecretManagementDiagnostics(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		severity Severity
		path     string
		line     int
		message  string
		hint     string
	}{
		{"age without key", "  secretManagement:\n    type: AGE\n    config: {}\n",
			SeverityError, "spec.secretManagement.config", 6, "the age config has no key", "identityEnv or identityFile"},
		{"age without config", "  secretManagement:\n    type: AGE\n",
			SeverityError, "spec.secretManagement.config", 0, "the age config has no key", "recipients or recipientsFile"},
		{"age bad checksum", "  secretManagement:\n    type: AGE\n    config:\n      recipients:\n        - age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8q\n",
			SeverityError, "spec.secretManagement.config.recipients[0]", 8, "not a valid age recipient", "age-keygen"},
		{"age ssh recipient", "  secretManagement:\n    type: AGE\n    config: {recipients: ['ssh-ed25519 AAAAC3Nza']}\n",
			SeverityError, "spec.secretManagement.config.recipients[0]", 6, "not an age public key", "starts with age1"},
		{"age identity file and env", "  secretManagement:\n    type: AGE\n    config: {identityFile: /k, identityEnv: K}\n",
			SeverityError, "spec.secretManagement.config.identityEnv", 6, "`identityFile` and `identityEnv` are both set", "keep either"},
		{"age identity env is a key", "  secretManagement:\n    type: AGE\n    config: {identityEnv: AGE-SECRET-KEY-1QQQ}\n",
			SeverityError, "spec.secretManagement.config.identityEnv", 6, "not an environment variable name", "NAME"},
		{"age recipient singular", "  secretManagement:\n    type: AGE\n    config: {recipient: age1x, identityEnv: K}\n",
			SeverityError, "spec.secretManagement.config.recipient", 6, "unknown field `recipient`", "`recipients:`"},
		{"aws kms without key", "  secretManagement:\n    type: AWS_KMS\n",
			SeverityError, "spec.secretManagement.config.keyId", 5, "missing required field `keyId`", ""},
		{"aws kms iam arn", "  secretManagement:\n    type: AWS_KMS\n    config: {keyId: 'arn:aws:iam::1:role/x'}\n",
			SeverityError, "spec.secretManagement.config.keyId", 6, "is not a KMS key or alias ARN", "alias/NAME"},
		{"aws kms bare alias", "  secretManagement:\n    type: AWS_KMS\n    config: {keyId: pipe-secrets}\n",
			SeverityError, "spec.secretManagement.config.keyId", 6, "alias/NAME", "key ARN"},
		{"aws kms empty alias", "  secretManagement:\n    type: AWS_KMS\n    config: {keyId: alias/}\n",
			SeverityError, "spec.secretManagement.config.keyId", 6, "no alias name", ""},
		{"aws kms keyID spelling", "  secretManagement:\n    type: AWS_KMS\n    config: {keyId: alias/p, keyArn: x}\n",
			SeverityError, "spec.secretManagement.config.keyArn", 6, "unknown field `keyArn`", "`keyId`"},
		{"aws kms token without role", "  secretManagement:\n    type: AWS_KMS\n    config: {keyId: alias/p, tokenFile: /t}\n",
			SeverityError, "spec.secretManagement.config.tokenFile", 6, "tokenFile needs roleARN", ""},
		{"aws kms empty region", "  secretManagement:\n    type: AWS_KMS\n    config: {keyId: alias/p, region: ''}\n",
			SeverityError, "spec.secretManagement.config.region", 6, "region must not be empty", "AWS_REGION"},
		{"gcp kms is not decrypted", "  secretManagement:\n    type: GCP_KMS\n    config: {keyName: projects/p/locations/l/keyRings/r/cryptoKeys/k}\n",
			SeverityWarning, "spec.secretManagement.type", 5, "pipe cannot decrypt", "use AGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := checkSpec(t, ".pipe/config.yaml", pipeDoc(tt.body), "", "")
			assertDiag(t, ds, tt.severity, tt.path, tt.line, tt.message, tt.hint)
		})
	}
}

// An identity is a secret: inline it is refused, and never echoed.
func TestSecretManagementInlineIdentities(t *testing.T) {
	const identity = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
	const secret = "s3cr3t-value"
	for _, c := range []struct {
		name, body, path, hint, secret string
		line                           int
	}{
		{"age identity", "  secretManagement:\n    type: AGE\n    config:\n      identity: " + identity + "\n",
			"spec.secretManagement.config.identity", "`identityEnv`", identity, 7},
		{"age identities", "  secretManagement:\n    type: AGE\n    config: {recipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p], identities: " + identity + "}\n",
			"spec.secretManagement.config.identities", "`identityFile`", identity, 6},
		{"age identity as recipient", "  secretManagement:\n    type: AGE\n    config:\n      recipients: [" + identity + "]\n",
			"spec.secretManagement.config.recipients[0]", "age-keygen -y", identity, 7},
		{"aws kms secret key", "  secretManagement:\n    type: AWS_KMS\n    config: {keyId: alias/pipe, secretAccessKey: " + secret + "}\n",
			"spec.secretManagement.config.secretAccessKey", "AWS_SECRET_ACCESS_KEY", secret, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, ds := checkSpec(t, ".pipe/config.yaml", pipeDoc(c.body), "", "")
			assertDiag(t, ds, SeverityError, c.path, c.line, "inline secret: ", c.hint)
			if len(ds) != 1 {
				t.Errorf("want only the inline secret error, got:\n%s", ds.Error())
			}
			if out := ds.Error(); strings.Contains(out, c.secret) || strings.Contains(out, c.secret[:min(20, len(c.secret))]) {
				t.Errorf("the secret is echoed:\n%s", out)
			}
		})
	}
}
