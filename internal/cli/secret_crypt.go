package cli

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/gitops-pipe/pipe/internal/sealed"
)

type encryptOptions struct {
	file, app, name string
	base64          bool
	output          string
}

func (a *app) secretEncryptCommand() *cobra.Command {
	opts := &encryptOptions{}
	cmd := &cobra.Command{
		Use:   "encrypt [--file FILE] [--app APP --name NAME]",
		Short: "Encrypt a secret for the repository's key",
		Long: `Encrypt a value with the public side of the repository's secretManagement
(.pipe/config.yaml) and print the ciphertext; no private key is needed.

The value is read from stdin, or from --file, and encrypted byte for byte
as PipeCD does: a newline at its end is part of the secret. ` + "`echo`" + ` adds
one; use ` + "`printf %s`" + ` or ` + "`echo -n`" + `. At most 10 MiB.

--base64 encrypts the base64 of the value (PipeCD's --use-base64-encoding),
for the data: field of a Kubernetes Secret.

With --name, the output is the YAML to paste into an application config
(with --app, the app's file is named too); the template of a decryption
target uses it as {{ .encryptedSecrets.NAME }}. The value is never printed.`,
		Example: `  printf %s "$DB_PASSWORD" | pipe secret encrypt --app web --name db-password
  pipe secret encrypt --file tls.key --base64 --app web --name tls-key
  echo -n s3cr3t | pipe secret encrypt -o json | jq -r .ciphertext`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := a.bind(cmd)
			opts.file, opts.app, opts.name = v.GetString("file"), v.GetString("app"), v.GetString("name")
			opts.base64 = v.GetBool("base64")
			var err error
			if opts.output, err = outputFormat(v, "text", "json"); err != nil {
				return err
			}
			if opts.app != "" && opts.name == "" {
				return usageError("--app needs --name: the name the secret is stored under")
			}
			return a.runEncrypt(cmd, opts)
		},
	}
	addOutputFlag(cmd, "text", "json")
	cmd.Flags().String("file", "", "read the value from FILE instead of stdin")
	cmd.Flags().Bool("base64", false, "encrypt the base64 encoding of the value (for a Kubernetes Secret's data:)")
	cmd.Flags().String("app", "", "the application the secret is for: prints the YAML for its config file")
	cmd.Flags().String("name", "", "the secret's name in encryptedSecrets")
	return cmd
}

// encryptResult is the JSON shape of `pipe secret encrypt -o json`.
type encryptResult struct {
	Ciphertext string `json:"ciphertext"`
	Name       string `json:"name,omitempty"`
	App        string `json:"app,omitempty"`
	File       string `json:"file,omitempty"`
	Scheme     string `json:"scheme"`
}

// templateName is a secret name usable as {{ .encryptedSecrets.NAME }}.
var templateName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (a *app) runEncrypt(cmd *cobra.Command, opts *encryptOptions) error {
	root, repo, sm, err := a.openSecretRepo()
	if err != nil {
		return err
	}
	res := encryptResult{Name: opts.name, Scheme: sm.Type}
	var existing *storedSecret
	if opts.app != "" {
		ap, err := findApp(repo, opts.app)
		if err != nil {
			return err
		}
		res.App, res.File = ap.Name, ap.File
		if _, secrets, err := readAppSecrets(root, ap); err == nil {
			for i := range secrets {
				if secrets[i].Name == opts.name {
					existing = &secrets[i]
				}
			}
		}
	}
	enc, err := sealed.NewEncrypter(cmd.Context(), sm, a.sealedDeps())
	if err != nil {
		return keyError("encrypt", sm, err)
	}
	var plain []byte
	if opts.file != "" {
		if plain, err = fsafe.ReadHostFile(opts.file, maxSecretInput); err != nil {
			return &Error{Code: ExitUsage, Summary: "cannot read --file " + opts.file, Detail: err.Error()}
		}
	} else {
		if a.stdinIsTerminal() {
			fmt.Fprintln(a.err, "type or paste the secret, then press Ctrl-D (a newline typed before it is part of the secret):")
		}
		if plain, err = readLimited(a.env.Stdin, maxSecretInput, "the secret on stdin"); err != nil {
			return err
		}
	}
	defer clear(plain)
	if len(plain) == 0 {
		return &Error{Code: ExitUsage, Summary: "the secret is empty",
			Hint: "pipe the value in (`printf %s \"$VALUE\" | pipe secret encrypt`) or give --file"}
	}
	if opts.base64 {
		b := make([]byte, base64.StdEncoding.EncodedLen(len(plain)))
		base64.StdEncoding.Encode(b, plain)
		clear(plain)
		plain = b
	}
	if res.Ciphertext, err = enc.Encrypt(cmd.Context(), plain); err != nil {
		return &Error{Code: ExitFailed, Summary: "cannot encrypt the secret with the " + sm.Type + " secretManagement", Detail: err.Error(), Err: err}
	}
	if opts.output == "json" {
		return writeJSON(a.out, res)
	}
	switch {
	case opts.name == "":
		fmt.Fprintln(a.out, res.Ciphertext)
	case opts.app != "":
		fmt.Fprintf(a.out, "# %s\nspec:\n  encryption:\n    encryptedSecrets:\n      %s: %s\n",
			res.File, yamlScalar(opts.name, 0), yamlScalar(res.Ciphertext, 0))
	default:
		fmt.Fprintf(a.out, "%s: %s\n", yamlScalar(opts.name, 0), yamlScalar(res.Ciphertext, 0))
	}
	if existing != nil {
		fmt.Fprintf(a.err, "note: replaces the value of %q at %s:%d\n", opts.name, res.File, existing.Line)
	}
	if opts.name != "" {
		ref := "{{ .encryptedSecrets." + opts.name + " }}"
		if !templateName.MatchString(opts.name) {
			ref = fmt.Sprintf("{{ index .encryptedSecrets %q }}", opts.name)
		}
		fmt.Fprintf(a.err, "use it as %s in a file listed in spec.encryption.decryptionTargets\n", ref)
	}
	return nil
}

type decryptOptions struct {
	app, name string
	force     bool
}

func (a *app) secretDecryptCommand() *cobra.Command {
	opts := &decryptOptions{}
	cmd := &cobra.Command{
		Use:   "decrypt [CIPHERTEXT | --app APP --name NAME]",
		Short: "Decrypt a secret, for an operator holding the private key",
		Long: `Decrypt a ciphertext (the argument, stdin, or the secret NAME of app APP)
with the private key of the repository's secretManagement and print the
plaintext on stdout, byte for byte.

It is for an operator checking a value on their machine: in CI (CI=true,
GitHub Actions, GitLab CI) it is refused, since the plaintext would land in
the job's log; deployments decrypt their secrets themselves. --force
overrides that.`,
		Example: `  PIPE_SECRET_KEY="$(cat pipe-secret.key)" pipe secret decrypt --app web --name db-password
  pipe secret decrypt "$CIPHERTEXT" | base64 -d`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			opts.app, opts.name, opts.force = v.GetString("app"), v.GetString("name"), v.GetBool("force")
			switch {
			case (opts.app == "") != (opts.name == ""):
				return usageError("--app and --name go together: the secret NAME of app APP")
			case opts.app != "" && len(args) > 0:
				return usageError("give either a CIPHERTEXT or --app and --name, not both")
			}
			return a.runDecrypt(cmd, opts, args)
		},
	}
	cmd.Flags().String("app", "", "the application whose secret to decrypt")
	cmd.Flags().String("name", "", "the secret's name in the app's encryptedSecrets")
	cmd.Flags().Bool("force", false, "decrypt even in CI (the plaintext goes to the job's log)")
	return cmd
}

func (a *app) runDecrypt(cmd *cobra.Command, opts *decryptOptions, args []string) error {
	if (a.ci.IsCI() || strings.EqualFold(a.env.Getenv("CI"), "true")) && !opts.force {
		return &Error{Code: ExitUsage, Summary: "pipe secret decrypt does not run in CI: the plaintext would land in the job's log",
			Hint: "deployments decrypt secrets themselves (decryptionTargets); run it on your machine, or add --force if you really mean it"}
	}
	root, repo, sm, err := a.openSecretRepo()
	if err != nil {
		return err
	}
	ref, ciphertext := "the ciphertext", ""
	switch {
	case opts.app != "":
		ap, s, err := appSecret(root, repo, opts.app, opts.name)
		if err != nil {
			return err
		}
		ref, ciphertext = secretRef(s.Name, ap.Name, ap.File, s.Line), s.Value
	case len(args) == 1:
		ciphertext = args[0]
	default:
		b, err := readLimited(a.env.Stdin, sealed.MaxCiphertextSize, "the ciphertext on stdin")
		if err != nil {
			return err
		}
		ciphertext = string(bytes.TrimSpace(b))
	}
	if strings.TrimSpace(ciphertext) == "" {
		return usageError("no ciphertext: give it as the argument, on stdin, or as --app APP --name NAME")
	}
	dec, err := sealed.NewDecrypter(cmd.Context(), sm, a.sealedDeps())
	if err != nil {
		return keyError("decrypt", sm, err)
	}
	plain, err := dec.Decrypt(cmd.Context(), ciphertext)
	if err != nil {
		return decryptFailure(ref, sm, err)
	}
	defer clear(plain)
	if a.env.StdoutTTY {
		fmt.Fprintln(a.err, a.style.Yellow("warning:")+" printing the plaintext on your terminal")
	}
	if _, err := a.out.Write(plain); err != nil {
		return err
	}
	if a.env.StdoutTTY && !bytes.HasSuffix(plain, []byte("\n")) {
		fmt.Fprintln(a.out)
	}
	return nil
}
