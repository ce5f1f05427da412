package cli

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/gitops-pipe/pipe/internal/sealed"
)

// The secretManagement blocks pipe prints are indented for their place
// in .pipe/config.yaml: under spec:.

func ageBlock(recipients []string, keyEnv string) string {
	var b strings.Builder
	b.WriteString("  secretManagement:\n    type: AGE\n    config:\n      recipients:\n")
	for _, r := range recipients {
		fmt.Fprintf(&b, "        - %s\n", yamlScalar(r, 0))
	}
	fmt.Fprintf(&b, "      identityEnv: %s\n", yamlScalar(keyEnv, 0))
	return b.String()
}

func keyPairBlock(publicPEM []byte, keyEnv string) string {
	return fmt.Sprintf("  secretManagement:\n    type: KEY_PAIR\n    config:\n      publicKeyData: %s\n      privateKeyEnv: %s\n",
		base64.StdEncoding.EncodeToString(publicPEM), yamlScalar(keyEnv, 0))
}

// kmsBlock names the key; extra holds the AWS connection settings kept
// from the current AWS_KMS config (region, profile...), as YAML pairs.
func kmsBlock(keyID string, extra []*yaml.Node, region string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "  secretManagement:\n    type: AWS_KMS\n    config:\n      keyId: %s\n", yamlScalar(keyID, 0))
	if len(extra) > 0 {
		out, err := yaml.Marshal(&yaml.Node{Kind: yaml.MappingNode, Content: extra})
		if err != nil {
			return "", err
		}
		b.WriteString(indentLines(string(out), "      "))
	} else if region != "" {
		fmt.Fprintf(&b, "      region: %s\n", yamlScalar(region, 0))
	}
	return b.String(), nil
}

func indentLines(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

// currentSchemeNode is the config mapping of the repository's
// secretManagement, as written (nil when there is none).
func currentSchemeNode(root string) *yaml.Node {
	data, err := fsafe.ReadFileIn(root, config.RepoConfigFile, config.MaxFileSize)
	if err != nil {
		return nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) != 1 {
		return nil
	}
	n := doc.Content[0]
	for _, k := range []string{"spec", "secretManagement", "config"} {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		if _, n = mappingValue(n, k); n == nil {
			return nil
		}
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	return n
}

// currentKeyEnv is the environment variable the current scheme reads its
// private key from, kept for the new one ("" when none).
func currentKeyEnv(cfg *yaml.Node) string {
	if cfg == nil {
		return ""
	}
	for _, k := range []string{"privateKeyEnv", "identityEnv"} {
		if _, v := mappingValue(cfg, k); v != nil && v.Kind == yaml.ScalarNode && envNameRe.MatchString(v.Value) {
			return v.Value
		}
	}
	return ""
}

// rotateTarget is the scheme secrets are rotated to: its config and the
// block to put in .pipe/config.yaml.
type rotateTarget struct {
	sm    *config.SecretManagement
	block string
}

func (a *app) resolveRotateTarget(opts *rotateOptions, root string, cur *config.SecretManagement) (*rotateTarget, error) {
	curCfg := currentSchemeNode(root)
	keyEnv := opts.keyEnv
	if keyEnv == "" {
		if keyEnv = currentKeyEnv(curCfg); keyEnv == "" {
			keyEnv = defaultKeyEnv
		}
	}
	if !envNameRe.MatchString(keyEnv) {
		return nil, usageError("--key-env %q is not an environment variable name (letters, digits and _)", keyEnv)
	}
	var block, source string
	switch {
	case opts.toConfig != "":
		data, err := fsafe.ReadHostFile(opts.toConfig, config.MaxFileSize)
		if err != nil {
			return nil, &Error{Code: ExitUsage, Summary: "cannot read --to-config " + opts.toConfig, Detail: err.Error()}
		}
		return parseSchemeBlock(opts.toConfig, data)
	case opts.toPublicKey != "":
		data, err := fsafe.ReadHostFile(opts.toPublicKey, 64<<10)
		if err != nil {
			return nil, &Error{Code: ExitUsage, Summary: "cannot read --to-public-key " + opts.toPublicKey, Detail: err.Error()}
		}
		if _, err := sealed.ParseRSAPublicKey(data); err != nil {
			return nil, &Error{Code: ExitUsage, Summary: opts.toPublicKey + " is not an RSA public key", Detail: err.Error(),
				Hint: "give the PEM public key (`pipe secret keygen --type rsa` writes FILE.pub)"}
		}
		pem := append(bytes.TrimSpace(data), '\n')
		block, source = keyPairBlock(pem, keyEnv), "--to-public-key"
	case len(opts.toRecipients) > 0:
		if _, err := sealed.ParseAgeRecipients(strings.Join(opts.toRecipients, "\n")); err != nil {
			return nil, &Error{Code: ExitUsage, Summary: "invalid --to-recipient", Detail: err.Error(),
				Hint: "an age recipient is the public key `pipe secret keygen` prints (age1...)"}
		}
		block, source = ageBlock(opts.toRecipients, keyEnv), "--to-recipient"
	case opts.toKMSKey != "":
		var extra []*yaml.Node
		if cur.Type == config.SecretManagementAWSKMS && curCfg != nil {
			for i := 0; i+1 < len(curCfg.Content); i += 2 {
				if curCfg.Content[i].Value != "keyId" {
					extra = append(extra, curCfg.Content[i], curCfg.Content[i+1])
				}
			}
		}
		region := a.env.Getenv("AWS_REGION")
		if region == "" {
			region = a.env.Getenv("AWS_DEFAULT_REGION")
		}
		var err error
		if block, err = kmsBlock(opts.toKMSKey, extra, region); err != nil {
			return nil, err
		}
		source = "--to-kms-key"
	}
	return parseSchemeBlock(source, []byte(block))
}

// parseSchemeBlock reads a secretManagement block (as `pipe secret keygen`
// prints it) or a whole repository config (kind Pipe), checked as
// `pipe validate` checks .pipe/config.yaml.
func parseSchemeBlock(name string, data []byte) (*rotateTarget, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	bad := func(format string, args ...any) error {
		return &Error{Code: ExitUsage, Summary: fmt.Sprintf("%s: ", name) + fmt.Sprintf(format, args...),
			Hint: "give a file holding a `secretManagement:` block (as `pipe secret keygen` prints it) or a whole .pipe/config.yaml"}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, bad("not valid YAML: %v", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, bad("not a YAML mapping")
	}
	top := doc.Content[0]
	shift := 0
	if _, k := mappingValue(top, "kind"); k == nil {
		if _, sm := mappingValue(top, "secretManagement"); sm == nil || len(top.Content) != 2 {
			return nil, bad("holds neither a secretManagement block alone nor a config of kind Pipe")
		}
		// Wrap the block into a repository config, to check it as one.
		data = []byte("apiVersion: " + config.APIVersion + "\nkind: Pipe\nspec:\n" + indentLines(string(data), "  "))
		shift = 3
	}
	f := config.ParseFile(name, data)
	if spec, ok := f.Spec.(*config.PipeSpec); ok && f.Valid() {
		c := &config.Checker{File: f.Path, Kind: f.Kind, Positions: f.Positions, Ctx: config.CheckContext{FileDir: filepath.Dir(name)}}
		c.Walk(spec, "spec")
		f.Diags = append(f.Diags, c.Diags...)
	}
	if errs := f.Diags.Errors(); len(errs) > 0 {
		var lines []string
		for _, d := range errs {
			if d.Line > shift {
				d.Line -= shift
				if shift > 0 && d.Column > 2 {
					d.Column -= 2
				}
			}
			line := d.Position() + ": " + d.Message
			if d.Hint != "" {
				line += " (" + d.Hint + ")"
			}
			lines = append(lines, line)
		}
		return nil, &Error{Code: ExitUsage, Summary: "the new secretManagement is invalid", Detail: strings.Join(lines, "\n")}
	}
	spec, _ := f.Spec.(*config.PipeSpec)
	if f.Kind != config.KindPipe || spec == nil || spec.SecretManagement == nil {
		return nil, bad("has no spec.secretManagement")
	}
	// The block as the file writes it, comments included.
	var smNode *yaml.Node
	var full yaml.Node
	if yaml.Unmarshal(data, &full) == nil && len(full.Content) == 1 {
		if _, s := mappingValue(full.Content[0], "spec"); s != nil && s.Kind == yaml.MappingNode {
			_, smNode = mappingValue(s, "secretManagement")
		}
	}
	block := ""
	if smNode != nil {
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "secretManagement"}
		if err := enc.Encode(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{key, smNode}}); err == nil {
			block = indentLines(buf.String(), "  ")
		}
	}
	return &rotateTarget{sm: spec.SecretManagement, block: block}, nil
}
