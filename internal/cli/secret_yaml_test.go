package cli

import (
	"errors"
	"strings"
	"testing"
)

const newCT = "bmV3Y2lwaGVydGV4dA+/=="

func TestSecretSpliceKeepsEveryOtherByte(t *testing.T) {
	tests := []struct {
		name, in, want string
		values         map[string]string
	}{
		{
			name: "plain, quoted, comments and order",
			in: `# the web app
apiVersion: pipecd.dev/v1beta1
kind: KubernetesApp
spec:
  name: web   # trailing comment
  encryption:
    encryptedSecrets:
      # the database
      db: AAAAold+/==   # keep me
      api: "BBBBold"
      token: 'CCCC''old'
      kept: DDDDold
    decryptionTargets: [secret.yaml]
`,
			values: map[string]string{"db": newCT, "api": newCT, "token": newCT},
			want: `# the web app
apiVersion: pipecd.dev/v1beta1
kind: KubernetesApp
spec:
  name: web   # trailing comment
  encryption:
    encryptedSecrets:
      # the database
      db: ` + newCT + `   # keep me
      api: "` + newCT + `"
      token: '` + newCT + `'
      kept: DDDDold
    decryptionTargets: [secret.yaml]
`,
		},
		{
			name: "block scalars become one plain line, the indicator's comment stays",
			in: `spec:
  encryption:
    encryptedSecrets:
      lit: |  # wrapped
        AAAA
        BBBB

      fold: >-
          CCCC
          DDDD
      next: EEEE
  other: x
`,
			values: map[string]string{"lit": newCT, "fold": newCT},
			want: `spec:
  encryption:
    encryptedSecrets:
      lit: ` + newCT + `  # wrapped

      fold: ` + newCT + `
      next: EEEE
  other: x
`,
		},
		{
			name:   "block scalar with an indentation indicator, last in the file without a final newline",
			in:     "spec:\n  encryption:\n    encryptedSecrets:\n      a: |2\n        AAAA\n        BBBB",
			values: map[string]string{"a": newCT},
			want:   "spec:\n  encryption:\n    encryptedSecrets:\n      a: " + newCT,
		},
		{
			name:   "CRLF line endings",
			in:     "spec:\r\n  encryption:\r\n    encryptedSecrets:\r\n      a: \"AAAA\"\r\n      b: |\r\n        BBBB\r\n        CCCC\r\n      c: DDDD\r\n",
			values: map[string]string{"a": newCT, "b": newCT},
			want:   "spec:\r\n  encryption:\r\n    encryptedSecrets:\r\n      a: \"" + newCT + "\"\r\n      b: " + newCT + "\r\n      c: DDDD\r\n",
		},
		{
			name:   "flow mapping",
			in:     "spec:\n  encryption:\n    encryptedSecrets: {a: AAAA, b: 'BBBB', c: \"CCCC\"}\n",
			values: map[string]string{"a": newCT, "b": newCT, "c": newCT},
			want:   "spec:\n  encryption:\n    encryptedSecrets: {a: " + newCT + ", b: '" + newCT + "', c: \"" + newCT + "\"}\n",
		},
		{
			name:   "multi-line plain and double-quoted scalars, a tag, non-ASCII keys before",
			in:     "spec:\n  ünïcode: été\n  encryption:\n    encryptedSecrets:\n      a: AAAA\n        BBBB\n      b: \"CC\\\n        DD\"\n      c: !!str EEEE\n",
			values: map[string]string{"a": newCT, "b": newCT, "c": newCT},
			want:   "spec:\n  ünïcode: été\n  encryption:\n    encryptedSecrets:\n      a: " + newCT + "\n      b: \"" + newCT + "\"\n      c: !!str " + newCT + "\n",
		},
		{
			name:   "byte order mark",
			in:     "\ufeffspec: {encryption: {encryptedSecrets: {a: AAAA}}}\n",
			values: map[string]string{"a": newCT},
			want:   "\ufeffspec: {encryption: {encryptedSecrets: {a: " + newCT + "}}}\n",
		},
		{
			name:   "a value that would not read back plain is double-quoted",
			in:     "spec:\n  encryption:\n    encryptedSecrets:\n      a: AAAA\n",
			values: map[string]string{"a": "123"},
			want:   "spec:\n  encryption:\n    encryptedSecrets:\n      a: \"123\"\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secrets, err := locateSecrets("app.pipecd.yaml", []byte(tt.in))
			if err != nil {
				t.Fatalf("locateSecrets: %v", err)
			}
			got, err := spliceSecrets("app.pipecd.yaml", []byte(tt.in), secrets, tt.values)
			if err != nil {
				t.Fatalf("spliceSecrets: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestSecretLocateValuesAndLines(t *testing.T) {
	in := "spec:\n  encryption:\n    encryptedSecrets:\n      a: AAAA\n      b: |\n        BB\n        CC\n"
	secrets, err := locateSecrets("f.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets) != 2 || secrets[0].Name != "a" || secrets[0].Value != "AAAA" || secrets[0].Line != 4 ||
		secrets[1].Name != "b" || secrets[1].Value != "BB\nCC\n" || secrets[1].Line != 5 {
		t.Errorf("got %+v", secrets)
	}
	for _, in := range []string{"", "spec:\n  name: web\n", "spec:\n  encryption:\n    encryptedSecrets:\n"} {
		if s, err := locateSecrets("f.yaml", []byte(in)); err != nil || len(s) != 0 {
			t.Errorf("%q: got %v, %v; want none", in, s, err)
		}
	}
}

func TestSecretLocateRefusals(t *testing.T) {
	tests := map[string]string{
		"anchor":         "spec:\n  encryption:\n    encryptedSecrets:\n      a: &x AAAA\n      b: *x\n",
		"merge key":      "base: &b {a: AAAA}\nspec:\n  encryption:\n    encryptedSecrets:\n      <<: *b\n",
		"not a mapping":  "spec:\n  encryption:\n    encryptedSecrets: [AAAA]\n",
		"not a scalar":   "spec:\n  encryption:\n    encryptedSecrets:\n      a: [AAAA]\n",
		"two documents":  "spec: {}\n---\nspec: {}\n",
		"invalid YAML":   "spec: [\n",
		"aliased parent": "x: &e {encryptedSecrets: {a: AAAA}}\nspec:\n  encryption: *e\n",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := locateSecrets("apps/web/app.pipecd.yaml", []byte(in))
			var le *secretsLayoutError
			if !errors.As(err, &le) {
				t.Fatalf("got %v, want a refusal", err)
			}
			if !strings.HasPrefix(err.Error(), "apps/web/app.pipecd.yaml") || strings.Contains(err.Error(), "AAAA") {
				t.Errorf("the refusal must name the file and never a value: %v", err)
			}
		})
	}
}

func TestSecretSpliceRefusesWhatReadsDifferently(t *testing.T) {
	in := []byte("spec:\n  encryption:\n    encryptedSecrets:\n      a: AAAA\n")
	secrets, err := locateSecrets("f.yaml", in)
	if err != nil {
		t.Fatal(err)
	}
	// A position that is off by a few bytes must be caught by the check.
	secrets[0].span.Start -= 2
	if _, err := spliceSecrets("f.yaml", in, secrets, map[string]string{"a": newCT}); err == nil {
		t.Fatal("a splice that changes other bytes was accepted")
	} else if !strings.Contains(err.Error(), "f.yaml") || !strings.Contains(err.Error(), "by hand") {
		t.Errorf("unclear refusal: %v", err)
	}
}

func TestSecretYAMLScalar(t *testing.T) {
	for _, tt := range []struct {
		v     string
		quote byte
		want  string
	}{
		{newCT, 0, newCT},
		{newCT, '"', `"` + newCT + `"`},
		{newCT, '\'', `'` + newCT + `'`},
		{"true", 0, `"true"`},
		{"a: b", 0, `"a: b"`},
		{"-x", 0, `"-x"`},
		{"it's", '\'', `'it''s'`},
		{"a\"\\\n", 0, `"a\"\\\n"`},
		{"a b", 0, `a b`},
		{"a,b", 0, `"a,b"`},
	} {
		if got := yamlScalar(tt.v, tt.quote); got != tt.want {
			t.Errorf("yamlScalar(%q, %q) = %s, want %s", tt.v, tt.quote, got, tt.want)
		}
	}
}
