package cli

import (
	"errors"
	"strings"
	"testing"
)

const testRecipient = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"

func TestSecretSchemeBlockAsKeygenPrintsIt(t *testing.T) {
	in := "# public key: " + testRecipient + "\n" + ageBlock([]string{testRecipient}, "DEPLOY_KEY")
	got, err := parseSchemeBlock("new.yaml", []byte(in))
	if err != nil {
		t.Fatalf("parseSchemeBlock: %v", err)
	}
	if got.sm.Type != "AGE" {
		t.Errorf("type %q, want AGE", got.sm.Type)
	}
	for _, want := range []string{"  secretManagement:\n", "    type: AGE\n", "        - " + testRecipient + "\n", "      identityEnv: DEPLOY_KEY\n"} {
		if !strings.Contains(got.block, want) {
			t.Errorf("block lacks %q:\n%s", want, got.block)
		}
	}
}

func TestSecretSchemeWholePipeConfig(t *testing.T) {
	in := "apiVersion: pipecd.dev/v1beta1\nkind: Pipe\nspec:\n  secretManagement:\n    type: AWS_KMS\n    config:\n      keyId: alias/pipe\n      region: eu-west-1\n"
	got, err := parseSchemeBlock("config.yaml", []byte(in))
	if err != nil {
		t.Fatalf("parseSchemeBlock: %v", err)
	}
	if got.sm.Type != "AWS_KMS" || !strings.Contains(got.block, "keyId: alias/pipe") {
		t.Errorf("got %s, block:\n%s", got.sm.Type, got.block)
	}
}

func TestSecretSchemeRefusals(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unknown type, at its line in the file", "# new key\nsecretManagement:\n  type: VAULT\n", "new.yaml:3"},
		{"inline identity", "secretManagement:\n  type: AGE\n  config:\n    identity: AGE-SECRET-KEY-1XYZ\n", "new.yaml:4"},
		{"neither a block nor a config", "foo: bar\n", "neither a secretManagement block"},
		{"a Pipe config without one", "apiVersion: pipecd.dev/v1beta1\nkind: Pipe\nspec: {}\n", "has no spec.secretManagement"},
		{"not YAML", "secretManagement: [\n", "not valid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseSchemeBlock("new.yaml", []byte(tt.in))
			var e *Error
			if !errors.As(err, &e) || e.Code != ExitUsage {
				t.Fatalf("got %v, want a usage error", err)
			}
			if msg := e.Summary + "\n" + e.Detail; !strings.Contains(msg, tt.want) {
				t.Errorf("error %q lacks %q", msg, tt.want)
			} else if strings.Contains(msg, "AGE-SECRET-KEY-1XYZ") {
				t.Errorf("error prints the key: %q", msg)
			}
		})
	}
}
