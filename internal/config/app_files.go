package config

import (
	"fmt"
	"strings"
)

// SecretEncryption lists encrypted secrets and the files they are written
// into (as `{{ .encryptedSecrets.NAME }}`) before rendering.
type SecretEncryption struct {
	// Secrets encrypted with the repository's public key (`pipe secret encrypt`), by name.
	EncryptedSecrets map[string]string `json:"encryptedSecrets,omitempty"`
	// Files (relative to the application directory) whose secret references are decrypted before use.
	DecryptionTargets []string `json:"decryptionTargets,omitempty"`
}

// Validate implements validatable.
func (e *SecretEncryption) Validate(c *Checker, path string) {
	for k, v := range e.EncryptedSecrets {
		kp := mapKeyPath(path+".encryptedSecrets", k)
		switch {
		case k == "":
			c.Errorf(kp, "", "a secret name must not be empty")
		case v == "":
			c.Errorf(kp, "encrypt the value with `pipe secret encrypt`", "encrypted secret %q is empty", k)
		}
	}
	for i, t := range e.DecryptionTargets {
		c.CheckFileRef(fmt.Sprintf("%s.decryptionTargets[%d]", path, i), t, "", RefFile)
	}
	if len(e.EncryptedSecrets) > 0 && len(e.DecryptionTargets) == 0 {
		c.Warnf(path+".decryptionTargets", "list the files that use the secrets", "encryptedSecrets are never used: decryptionTargets is empty")
	}
}

// Attachment embeds the content of files into other files (as
// `{{ .attachment.NAME }}`) before rendering.
type Attachment struct {
	// Files to attach (relative to the application directory), by the name they are referred to.
	Sources map[string]string `json:"sources,omitempty"`
	// Files (relative to the application directory) in which attachments are embedded.
	Targets []string `json:"targets,omitempty"`
}

// Validate implements validatable.
func (a *Attachment) Validate(c *Checker, path string) {
	for k, v := range a.Sources {
		kp := mapKeyPath(path+".sources", k)
		if k == "" {
			c.Errorf(kp, "", "an attachment name must not be empty")
			continue
		}
		c.CheckFileRef(kp, v, "", RefFile)
	}
	for i, t := range a.Targets {
		c.CheckFileRef(fmt.Sprintf("%s.targets[%d]", path, i), t, "", RefFile)
	}
	if len(a.Sources) > 0 && len(a.Targets) == 0 {
		c.Warnf(path+".targets", "list the files that embed the attachments", "attachment sources are never used: targets is empty")
	}
}

// SealedSecretMapping is PipeCD's deprecated sealed secret entry.
type SealedSecretMapping struct {
	// Sealed secret file, relative to the application directory.
	Path string `json:"path"`
	// File name of the decrypted secret; empty means the sealed file's name.
	OutFilename string `json:"outFilename,omitempty"`
	// Directory of the decrypted secret; empty means the sealed file's directory.
	OutDir string `json:"outDir,omitempty"`
}

// Validate implements validatable.
func (m *SealedSecretMapping) Validate(c *Checker, path string) {
	c.CheckFileRef(path+".path", m.Path, "", RefFile)
}

// DriftDetection configures drift detection.
type DriftDetection struct {
	// Fields whose drift is ignored, as `apiVersion:kind:namespace:name#fieldPath`
	// (e.g. `apps/v1:Deployment:default:web#spec.replicas`).
	IgnoreFields []string `json:"ignoreFields,omitempty"`
}

// Validate implements validatable.
func (d *DriftDetection) Validate(c *Checker, path string) {
	for i, f := range d.IgnoreFields {
		if msg := ignoreFieldProblem(f); msg != "" {
			c.Errorf(fmt.Sprintf("%s.ignoreFields[%d]", path, i),
				"write `apiVersion:kind:namespace:name#fieldPath`, e.g. `apps/v1:Deployment:default:web#spec.replicas` (namespace may be empty for cluster-scoped resources)",
				"invalid ignore field %q: %s", f, msg)
		}
	}
}

// IgnoreField is one parsed driftDetection.ignoreFields entry.
type IgnoreField struct {
	APIVersion, Kind, Namespace, Name string
	// FieldPath is the dotted path of the ignored field (e.g. spec.replicas).
	FieldPath string
}

// ParseIgnoreField parses `apiVersion:kind:namespace:name#fieldPath`.
func ParseIgnoreField(s string) (IgnoreField, bool) {
	if ignoreFieldProblem(s) != "" {
		return IgnoreField{}, false
	}
	key, field, _ := strings.Cut(s, "#")
	parts := strings.Split(key, ":")
	return IgnoreField{APIVersion: parts[0], Kind: parts[1], Namespace: parts[2], Name: parts[3], FieldPath: field}, true
}

func ignoreFieldProblem(s string) string {
	key, field, ok := strings.Cut(s, "#")
	if !ok {
		return "no `#` before the field path"
	}
	if field == "" {
		return "the field path after `#` is empty"
	}
	if strings.Contains(field, "#") {
		return "more than one `#`"
	}
	parts := strings.Split(key, ":")
	if len(parts) != 4 {
		return fmt.Sprintf("the resource has %d `:`-separated parts, want 4 (apiVersion:kind:namespace:name)", len(parts))
	}
	for i, what := range []string{"apiVersion", "kind", "", "name"} {
		if what != "" && parts[i] == "" {
			return what + " is empty"
		}
	}
	return ""
}
