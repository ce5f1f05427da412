package unseal

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/sealed"
)

// rot is a toy decrypter: the ciphertext "enc:X" decrypts to X reversed;
// "bad" does not decrypt.
type rot struct{ calls int }

func (r *rot) Decrypt(_ context.Context, ct string) ([]byte, error) {
	r.calls++
	v, ok := strings.CutPrefix(ct, "enc:")
	if !ok {
		return nil, sealed.ErrWrongKey
	}
	b := []byte(v)
	slices.Reverse(b)
	return b, nil
}

func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func read(t *testing.T, root, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func app(enc *config.SecretEncryption, att *config.Attachment) *config.App {
	spec := &config.KubernetesApplicationSpec{}
	spec.Encryption = enc
	spec.Attachment = att
	return &config.App{Name: "web", Kind: config.KindKubernetesApp, File: "apps/web/app.pipecd.yaml", Dir: "apps/web", Spec: spec}
}

const appFile = `apiVersion: pipecd.dev/v1beta1
kind: KubernetesApp
spec:
  name: web
  encryption:
    encryptedSecrets:
      password: enc:9qZ-terces
      broken: bad
`

func TestApplyRendersSecretsThenAttachments(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"apps/web/app.pipecd.yaml": appFile,
		"apps/web/secret.yaml":     "data:\n  password: {{ .encryptedSecrets.password | b64enc }}\n",
		"apps/web/config.txt":      "password={{ .encryptedSecrets.password }}\n",
		"apps/web/cm.yaml":         "conf: |\n{{ .attachment.config | trim | indent 2 }}\n",
	})
	a := app(&config.SecretEncryption{
		EncryptedSecrets:  map[string]string{"password": "enc:9qZ-terces"},
		DecryptionTargets: []string{"secret.yaml", "config.txt"},
	}, &config.Attachment{Sources: map[string]string{"config": "config.txt"}, Targets: []string{"cm.yaml"}})
	var registered []string
	dec := &rot{}
	u := &Unsealer{Key: func(context.Context) (Decrypter, error) { return dec, nil }, Register: func(v ...string) { registered = append(registered, v...) }}
	if err := u.Apply(context.Background(), root, a); err != nil {
		t.Fatal(err)
	}
	if got, want := read(t, root, "apps/web/secret.yaml"), "data:\n  password: "+base64.StdEncoding.EncodeToString([]byte("secret-Zq9"))+"\n"; got != want {
		t.Errorf("secret.yaml = %q, want %q", got, want)
	}
	// The attachment source was a decryption target: its rendered content
	// is attached.
	if got, want := read(t, root, "apps/web/cm.yaml"), "conf: |\n  password=secret-Zq9\n"; got != want {
		t.Errorf("cm.yaml = %q, want %q", got, want)
	}
	if !slices.Contains(registered, "secret-Zq9") {
		t.Errorf("the decrypted value was not registered: %q", registered)
	}
	if dec.calls != 1 {
		t.Errorf("%d decryptions, want 1", dec.calls)
	}
}

func TestApplyRegistersBase64DecodedValue(t *testing.T) {
	root := t.TempDir()
	enc := base64.StdEncoding.EncodeToString([]byte("hunter22"))
	rev := []byte(enc)
	slices.Reverse(rev)
	write(t, root, map[string]string{"apps/web/s.yaml": "{{ .encryptedSecrets.pw }}"})
	var registered []string
	u := &Unsealer{Key: func(context.Context) (Decrypter, error) { return &rot{}, nil }, Register: func(v ...string) { registered = append(registered, v...) }}
	a := app(&config.SecretEncryption{EncryptedSecrets: map[string]string{"pw": "enc:" + string(rev)}, DecryptionTargets: []string{"s.yaml"}}, nil)
	if err := u.Apply(context.Background(), root, a); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(registered, enc) || !slices.Contains(registered, "hunter22") {
		t.Errorf("registered %q, want the value and its decoded form", registered)
	}
}

func TestApplyErrorsNameFileAndSecretNeverValue(t *testing.T) {
	ctx := context.Background()
	key := func(context.Context) (Decrypter, error) { return &rot{}, nil }
	cases := []struct {
		name  string
		files map[string]string
		enc   *config.SecretEncryption
		att   *config.Attachment
		key   func(context.Context) (Decrypter, error)
		want  []string
	}{{
		name:  "undefined secret",
		files: map[string]string{"apps/web/s.yaml": "a: 1\nb: {{ .encryptedSecrets.pasword }}\n"},
		enc:   &config.SecretEncryption{EncryptedSecrets: map[string]string{"password": "enc:9qZ-terces"}, DecryptionTargets: []string{"s.yaml"}},
		key:   key,
		want:  []string{"application web: apps/web/s.yaml: decryption target: apps/web/s.yaml:2:", `secret "pasword"`, "defined: password"},
	}, {
		name:  "wrong key",
		files: map[string]string{"apps/web/app.pipecd.yaml": appFile, "apps/web/s.yaml": "{{ .encryptedSecrets.broken }}"},
		enc:   &config.SecretEncryption{EncryptedSecrets: map[string]string{"broken": "bad"}, DecryptionTargets: []string{"s.yaml"}},
		key:   key,
		want:  []string{"application web: apps/web/app.pipecd.yaml:8: secret \"broken\" does not decrypt: encrypted for another key"},
	}, {
		name:  "no key",
		files: map[string]string{"apps/web/s.yaml": "{{ .encryptedSecrets.password }}"},
		enc:   &config.SecretEncryption{EncryptedSecrets: map[string]string{"password": "enc:9qZ-terces"}, DecryptionTargets: []string{"s.yaml"}},
		want:  []string{"application web: apps/web/app.pipecd.yaml: cannot decrypt its secrets (password): the repository configures no secretManagement"},
	}, {
		name:  "key error",
		files: map[string]string{"apps/web/s.yaml": "{{ .encryptedSecrets.password }}"},
		enc:   &config.SecretEncryption{EncryptedSecrets: map[string]string{"password": "enc:9qZ-terces"}, DecryptionTargets: []string{"s.yaml"}},
		key:   func(context.Context) (Decrypter, error) { return nil, errors.New("PIPE_SECRET_KEY is not set") },
		want:  []string{"cannot decrypt its secrets (password): PIPE_SECRET_KEY is not set"},
	}, {
		name:  "environment function",
		files: map[string]string{"apps/web/s.yaml": "{{ env \"HOME\" }}"},
		enc:   &config.SecretEncryption{DecryptionTargets: []string{"s.yaml"}},
		key:   key,
		want:  []string{"apps/web/s.yaml:1", `function "env" not defined`, "read the environment or the network"},
	}, {
		name:  "missing target",
		files: map[string]string{},
		enc:   &config.SecretEncryption{DecryptionTargets: []string{"nope.yaml"}},
		key:   key,
		want:  []string{"application web: apps/web/nope.yaml: decryption target: the file does not exist"},
	}, {
		name:  "undefined attachment",
		files: map[string]string{"apps/web/a.txt": "x", "apps/web/t.yaml": "{{ .attachment.b }}"},
		att:   &config.Attachment{Sources: map[string]string{"a": "a.txt"}, Targets: []string{"t.yaml"}},
		key:   key,
		want:  []string{`attachment "b", which attachment.sources does not define (defined: a)`},
	}, {
		name:  "fail with the value",
		files: map[string]string{"apps/web/s.yaml": "{{ fail .encryptedSecrets.password }}"},
		enc:   &config.SecretEncryption{EncryptedSecrets: map[string]string{"password": "enc:9qZ-terces"}, DecryptionTargets: []string{"s.yaml"}},
		key:   key,
		want:  []string{"apps/web/s.yaml"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, root, tc.files)
			u := &Unsealer{Key: tc.key}
			err := u.Apply(ctx, root, app(tc.enc, tc.att))
			if err == nil {
				t.Fatal("no error")
			}
			var ue *Error
			if !errors.As(err, &ue) {
				t.Fatalf("%T is not an *Error", err)
			}
			if !ue.Config() {
				t.Errorf("%v is not a configuration error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not say %q", err, w)
				}
			}
			// No error shows the decrypted value, but for a template's
			// own `fail`: the run's redactor masks that one.
			if tc.name != "fail with the value" && strings.Contains(err.Error(), "secret-Zq9") {
				t.Errorf("error shows a value: %q", err)
			}
		})
	}
}

func TestSealedNeedsNoKey(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{"apps/web/s.yaml": "p: {{ .encryptedSecrets.password }}\n"})
	u := &Unsealer{Sealed: true, Key: func(context.Context) (Decrypter, error) {
		t.Fatal("a sealed plan asked for the key")
		return nil, nil
	}}
	a := app(&config.SecretEncryption{EncryptedSecrets: map[string]string{"password": "enc:9qZ-terces"}, DecryptionTargets: []string{"s.yaml"}}, nil)
	if err := u.Apply(context.Background(), root, a); err != nil {
		t.Fatal(err)
	}
	got := read(t, root, "apps/web/s.yaml")
	if want := "p: " + Placeholder("enc:9qZ-terces") + "\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if Placeholder("enc:9qZ-terces") == Placeholder("enc:other") {
		t.Error("two ciphertexts have one placeholder")
	}
}

func TestTargetsStayInTheTree(t *testing.T) {
	outside := t.TempDir()
	secretFile := filepath.Join(outside, "host-secret")
	if err := os.WriteFile(secretFile, []byte("HOST"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	write(t, root, map[string]string{"apps/web/real.yaml": "{{ .attachment.a }}", "apps/web/a.txt": "x"})
	if err := os.Symlink(secretFile, filepath.Join(root, "apps/web/out.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.yaml", filepath.Join(root, "apps/web/in.yaml")); err != nil {
		t.Fatal(err)
	}
	u := &Unsealer{}
	// A target that links out of the tree is neither read nor written.
	err := u.Apply(context.Background(), root, app(nil, &config.Attachment{Sources: map[string]string{"a": "a.txt"}, Targets: []string{"out.yaml"}}))
	if err == nil || !strings.Contains(err.Error(), "apps/web/out.yaml") {
		t.Fatalf("err = %v, want a refusal naming the target", err)
	}
	if b, _ := os.ReadFile(secretFile); string(b) != "HOST" {
		t.Fatalf("the file outside the tree was written: %q", b)
	}
	// A source that links out is not read either.
	if err := os.Symlink(secretFile, filepath.Join(root, "apps/web/src.txt")); err != nil {
		t.Fatal(err)
	}
	err = u.Apply(context.Background(), root, app(nil, &config.Attachment{Sources: map[string]string{"a": "src.txt"}, Targets: []string{"real.yaml"}}))
	if err == nil || strings.Contains(err.Error(), "HOST") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	// A target linked inside the tree is rendered as a file of its own;
	// the file it linked to is left as it was.
	if err := u.Apply(context.Background(), root, app(nil, &config.Attachment{Sources: map[string]string{"a": "a.txt"}, Targets: []string{"in.yaml"}})); err != nil {
		t.Fatal(err)
	}
	if got := read(t, root, "apps/web/in.yaml"); got != "x" {
		t.Errorf("in.yaml = %q", got)
	}
	if got := read(t, root, "apps/web/real.yaml"); got != "{{ .attachment.a }}" {
		t.Errorf("real.yaml = %q, want it untouched", got)
	}
}

func TestNeeded(t *testing.T) {
	if Needed(app(&config.SecretEncryption{EncryptedSecrets: map[string]string{"a": "b"}}, nil)) {
		t.Error("secrets without targets need no rendering")
	}
	if !Needed(app(nil, &config.Attachment{Targets: []string{"x"}})) {
		t.Error("an attachment target needs rendering")
	}
	if Needed(&config.App{}) {
		t.Error("an app without a spec needs nothing")
	}
}
