package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gitops-pipe/pipe/internal/fsafe"
)

// Credentials in .pipe/config.yaml are never written inline: each secret is
// given by a file path (a `...File` field, a file on the machine running
// pipe) or by the name of an environment variable (a `...Env` field). The
// fields where PipeCD's piped config holds a credential inline (hookURL,
// password, apiKeyData...) are still recognized, to tell a migrating user
// exactly what to write instead.

// HostPath is a path on the machine running pipe (a CI runner), not in the
// repository. It is not checked for existence at validation time, since it
// exists only where pipe runs; it must not be empty when written.
type HostPath string

// Validate implements validatable.
func (p *HostPath) Validate(c *Checker, path string) {
	if c.Has(path) && strings.TrimSpace(string(*p)) == "" {
		c.Errorf(path, "write the path, or remove the field", "path is empty")
	}
}

// EnvVar is the name of an environment variable that holds a secret.
type EnvVar string

// Validate implements validatable. It never prints the value: a user who
// pasted the secret itself here must not see it echoed into CI logs.
func (e *EnvVar) Validate(c *Checker, path string) {
	if !c.Has(path) {
		return
	}
	s := string(*e)
	switch {
	case s == "":
		c.Errorf(path, "write the variable's name, or remove the field", "environment variable name is empty")
	case strings.HasPrefix(s, "$") && isEnvName(strings.Trim(s, "${}")):
		c.Errorf(path, "write the name without `$`: "+strings.Trim(s, "${}"), "an environment variable name has no `$`")
	case !isEnvName(s):
		c.Errorf(path, "write the NAME of the environment variable that holds the secret (e.g. SLACK_WEBHOOK_URL), not the secret itself",
			"the value is not an environment variable name")
	}
}

// checkSecret checks one secret given as <name>File or <name>Env: at most one
// of them, and one of them when required. path is the struct holding them.
func (c *Checker) checkSecret(path, name string, file HostPath, env EnvVar, required bool) {
	fileSet, envSet := c.Has(path+"."+name+"File"), c.Has(path+"."+name+"Env")
	switch {
	case fileSet && envSet:
		c.Errorf(path+"."+name+"Env", fmt.Sprintf("keep either `%sFile` or `%sEnv`", name, name), "`%sFile` and `%sEnv` are both set", name, name)
	case required && !c.secretSourced(path, name):
		c.Errorf(path, fmt.Sprintf("set `%sEnv` (an environment variable holding it) or `%sFile` (a file holding it)", name, name), "missing %s", name)
	}
}

// secretSourced is true when the secret `name` was given: by a <name>File or
// <name>Env field, or inline (<name>, <name>Data; already reported as an
// error, so the checks that need the secret stay quiet).
func (c *Checker) secretSourced(path, name string) bool {
	for _, suffix := range []string{"File", "Env", "", "Data"} {
		if c.Has(path + "." + name + suffix) {
			return true
		}
	}
	return false
}

// inlineSecrets maps a field that would hold a credential inline to the
// hint naming the fields to use instead.
type inlineSecrets map[string]string

// secretInstead is the standard hint: a secret `name` comes from an
// environment variable or a file.
func secretInstead(name string) string {
	return fmt.Sprintf("use `%sEnv` (the name of an environment variable holding it) or `%sFile` (a file on the machine running pipe)", name, name)
}

// decodeWithoutInlineSecrets decodes a struct from n like the decoder does,
// except that the keys of inline are reported as "inline secret" errors (the
// value is neither decoded nor echoed) instead of "unknown field".
func decodeWithoutInlineSecrets(d *Decoder, n *yaml.Node, v reflect.Value, path string, inline inlineSecrets) {
	if isNull(n) {
		d.applyDefaults(v, path)
		return
	}
	if n.Kind == yaml.MappingNode {
		kept := *n
		kept.Content = make([]*yaml.Node, 0, len(n.Content))
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if hint, ok := inline[k.Value]; ok && k.Kind == yaml.ScalarNode {
				kpath := joinPath(path, k.Value)
				d.Errorf(k, kpath, hint, "inline secret: `%s` would store a credential in the repository", k.Value)
				// Recorded so that checks needing the secret do not also
				// report it missing.
				d.Positions[kpath] = Pos{k.Line, k.Column}
				continue
			}
			kept.Content = append(kept.Content, k, n.Content[i+1])
		}
		n = &kept
	}
	d.decodeStruct(n, v, path)
}

// inlineHint is the unknownFieldHint of a type with inline secrets, for keys
// that reach the decoder another way (through a YAML merge key).
func inlineHint(inline inlineSecrets, key string) string {
	if h, ok := inline[key]; ok {
		return "inline secrets are not allowed: " + h
	}
	return ""
}

// ReadSecret reads the secret a <name>File or <name>Env field names: the
// file's content (at most fsafe.MaxSecretSize bytes; a named pipe or a
// device is refused) or the variable's value, without surrounding white
// space (the line ending a file written by `echo` or a pasted CI secret
// ends in; no token or key has any). Neither set is
// no secret: "", nil. A secret that is empty is an error, as is a file
// that cannot be read; the errors name the file or the variable, never
// the value, and callers add which field and what it is for.
func ReadSecret(file HostPath, env EnvVar, getenv func(string) string) (string, error) {
	switch {
	case file != "":
		b, err := fsafe.ReadHostFile(string(file), fsafe.MaxSecretSize)
		var pe *os.PathError
		switch {
		case errors.As(err, &pe):
			return "", fmt.Errorf("cannot read %s: %w", file, pe.Err)
		case err != nil:
			return "", err // fsafe's own errors name the file
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("%s is empty", file)
		}
		return v, nil
	case env != "":
		v := ""
		if getenv != nil {
			v = strings.TrimSpace(getenv(string(env)))
		}
		if v == "" {
			return "", fmt.Errorf("the environment variable %s is not set", env)
		}
		return v, nil
	}
	return "", nil
}
