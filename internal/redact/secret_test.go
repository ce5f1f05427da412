package redact

import "testing"

func TestSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"DB_PASSWORD": true, "API_KEY": true, "GITHUB_TOKEN": true, "aws_secret_access_key": true,
		"SESSION_COOKIE": true, "signing-key": true, "DATABASE_DSN": true,
		"FOO": false, "LOG_LEVEL": false, "KEYBOARD": false, "REGION": false, "MONKEY_COUNT": false,
	} {
		if got := SecretName(name); got != want {
			t.Errorf("SecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSecretValue(t *testing.T) {
	for v, want := range map[string]bool{
		"AKIAIOSFODNN7EXAMPLE":                     true,
		"ghp_0123456789abcdefghijABCDEFGHIJ":       true,
		"postgres://app:s3cret@db.internal:5432/x": true,
		"-----BEGIN RSA PRIVATE KEY-----\nMIIE":    true,
		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY": true,
		"/opt/extensions/Layer2024Build":           false,
		"Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MGFiY2RlZg==": true,
		"bar": false, "production": false, "https://example.com/path": false,
		"v0.0.1": false, "arn:aws:iam::123456789012:role/lambda-role": false,
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": false,
	} {
		if got := SecretValue(v); got != want {
			t.Errorf("SecretValue(%q) = %v, want %v", v, got, want)
		}
	}
}
