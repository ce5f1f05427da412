package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/sealed"
)

type keygenOptions struct {
	typ    string
	bits   int
	out    string
	keyEnv string
	output string
}

func (a *app) secretKeygenCommand() *cobra.Command {
	opts := &keygenOptions{}
	cmd := &cobra.Command{
		Use:   "keygen --out FILE",
		Short: "Create a key pair for the repository's secrets",
		Long: `Create a key pair: the private key goes to --out (a new file, mode 0600;
never overwritten) and stdout gets the public key with the secretManagement
block to add to .pipe/config.yaml, under spec:.

--type age (the default, recommended): an X25519 age identity; the block
lists its recipient (public key). --type rsa: an RSA key pair (--bits,
default 3072) for PipeCD's KEY_PAIR scheme; the public PEM is also written
to FILE.pub.

The private key is a CI secret: store it in the environment variable the
block names (--key-env, default PIPE_SECRET_KEY) of the jobs that plan and
sync, then delete the file or keep it in a password manager.

--out - writes the private key to stdout instead, for a pipe into a secret
store (never onto a terminal); the public part and the block then go to stderr.`,
		Example: `  pipe secret keygen --out pipe-secret.key
  pipe secret keygen --type rsa --bits 4096 --out pipe-rsa.pem
  pipe secret keygen --out - | gh secret set PIPE_SECRET_KEY`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := a.bind(cmd)
			opts.typ = strings.ToLower(v.GetString("type"))
			opts.bits = v.GetInt("bits")
			opts.out = v.GetString("out")
			opts.keyEnv = v.GetString("key-env")
			var err error
			if opts.output, err = outputFormat(v, "text", "json"); err != nil {
				return err
			}
			if opts.typ != "age" && opts.typ != "rsa" {
				return usageError("unknown key type %q; use age (recommended) or rsa", opts.typ)
			}
			if cmd.Flags().Changed("bits") && opts.typ != "rsa" {
				return usageError("--bits is for --type rsa; an age key has no size to choose")
			}
			return a.runKeygen(opts)
		},
	}
	addOutputFlag(cmd, "text", "json")
	cmd.Flags().String("type", "age", "key type: age (recommended) or rsa (PipeCD's KEY_PAIR)")
	cmd.Flags().Int("bits", 3072, "RSA key size: 2048, 3072 or 4096")
	cmd.Flags().String("out", "", "file to create with the private key (mode 0600), or - for stdout")
	cmd.Flags().String("key-env", defaultKeyEnv, "environment variable the block reads the private key from")
	return cmd
}

// keygenResult is the JSON shape of `pipe secret keygen -o json`.
type keygenResult struct {
	Type             string `json:"type"`
	Recipient        string `json:"recipient,omitempty"`
	PublicKey        string `json:"publicKey,omitempty"`
	PrivateKeyFile   string `json:"privateKeyFile"`
	PublicKeyFile    string `json:"publicKeyFile,omitempty"`
	KeyEnv           string `json:"keyEnv"`
	SecretManagement string `json:"secretManagement"`
}

var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (a *app) runKeygen(opts *keygenOptions) error {
	switch {
	case opts.out == "":
		return &Error{Code: ExitUsage, Summary: "--out is required: where to write the private key",
			Hint: "--out FILE creates FILE (mode 0600); --out - writes it to stdout for a pipe into your CI's secret store"}
	case opts.out == "-" && a.env.StdoutTTY:
		return &Error{Code: ExitUsage, Summary: "refusing to print a private key on a terminal",
			Hint: "pipe it into a secret store (`pipe secret keygen --out - | gh secret set PIPE_SECRET_KEY`), or use --out FILE"}
	case opts.out == "-" && opts.output == "json":
		return usageError("-o json needs --out FILE: with --out -, stdout carries the private key")
	case !envNameRe.MatchString(opts.keyEnv):
		return usageError("--key-env %q is not an environment variable name (letters, digits and _)", opts.keyEnv)
	case opts.typ == "rsa" && opts.bits != 2048 && opts.bits != 3072 && opts.bits != 4096:
		return usageError("--bits %d: use 2048, 3072 or 4096", opts.bits)
	}
	res := keygenResult{KeyEnv: opts.keyEnv}
	var private []byte
	if opts.typ == "age" {
		identity, recipient, err := sealed.GenerateAge()
		if err != nil {
			return err
		}
		res.Type, res.Recipient = config.SecretManagementAge, recipient
		res.SecretManagement = ageBlock([]string{recipient}, opts.keyEnv)
		private = fmt.Appendf(nil, "# created: %s\n# public key: %s\n%s\n", a.env.Now().UTC().Format(time.RFC3339), recipient, identity)
	} else {
		priv, pub, err := sealed.GenerateRSA(opts.bits)
		if err != nil {
			return err
		}
		res.Type, res.PublicKey, private = config.SecretManagementKeyPair, string(pub), priv
		res.SecretManagement = keyPairBlock(pub, opts.keyEnv)
	}
	defer clear(private)

	if opts.out == "-" {
		if _, err := a.out.Write(private); err != nil {
			return err
		}
		a.printKeygen(a.err, res)
		a.keygenAdvice(res, "")
		return nil
	}
	if err := createKeyFile(opts.out, private, 0o600); err != nil {
		return err
	}
	res.PrivateKeyFile = opts.out
	if res.PublicKey != "" {
		res.PublicKeyFile = opts.out + ".pub"
		if err := createKeyFile(res.PublicKeyFile, []byte(res.PublicKey), 0o644); err != nil {
			return err
		}
	}
	if opts.output == "json" {
		if err := writeJSON(a.out, res); err != nil {
			return err
		}
	} else {
		a.printKeygen(a.out, res)
	}
	a.keygenAdvice(res, opts.out)
	return nil
}

// createKeyFile writes a new file, refusing to replace one.
func createKeyFile(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return &Error{Code: ExitUsage, Summary: path + " already exists; pipe never overwrites a key",
			Hint: "move it away first, or choose another --out"}
	}
	if err != nil {
		return &Error{Code: ExitUsage, Summary: "cannot create " + path, Detail: err.Error()}
	}
	_, err = f.Write(data)
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// printKeygen writes the public part and the block, as YAML.
func (a *app) printKeygen(w io.Writer, res keygenResult) {
	if res.Recipient != "" {
		fmt.Fprintf(w, "# public key: %s\n", res.Recipient)
	} else {
		fmt.Fprintln(w, "# public key:")
		for _, l := range strings.Split(strings.TrimSpace(res.PublicKey), "\n") {
			fmt.Fprintf(w, "#   %s\n", l)
		}
	}
	fmt.Fprintf(w, "# in %s, under spec:\n%s", config.RepoConfigFile, res.SecretManagement)
}

// keygenAdvice says on stderr what to do with the keys.
func (a *app) keygenAdvice(res keygenResult, file string) {
	w, st := a.err, a.style
	src := "the private key"
	if file != "" {
		fmt.Fprintf(w, "%s wrote the private key to %s (mode 0600): keep it secret, never commit it\n", st.Green("✓"), file)
		if res.PublicKeyFile != "" {
			fmt.Fprintf(w, "%s wrote the public key to %s\n", st.Green("✓"), res.PublicKeyFile)
		}
		if inGitWorkTree(file) {
			fmt.Fprintf(w, "%s %s is inside a Git working tree: move it out, or make sure it is never added\n", st.Yellow("warning:"), file)
		}
		src = file
	}
	gh := "`pipe secret keygen --out - | gh secret set " + res.KeyEnv + "`"
	if file != "" {
		gh = "`gh secret set " + res.KeyEnv + " < " + file + "`"
	}
	fmt.Fprintf(w, `next steps:
  1. add the secretManagement block to .pipe/config.yaml (under spec:) and commit it
  2. store %[1]s as the CI secret %[2]s, given to the jobs that plan and sync as the
     environment variable %[2]s: in GitHub Actions, %[3]s and
     env: {%[2]s: ${{ secrets.%[2]s }}}; in GitLab, a protected CI/CD variable %[2]s
`, src, res.KeyEnv, gh)
	if res.Type == config.SecretManagementKeyPair {
		fmt.Fprintf(w, "     (a masked GitLab variable is one line: store `base64 -w0 FILE`; %s may hold the PEM or its base64)\n", res.KeyEnv)
	}
	fmt.Fprintf(w, "  3. encrypt secrets: printf %%s \"$VALUE\" | pipe secret encrypt --app APP --name NAME\n")
	if file != "" {
		fmt.Fprintf(w, "  4. then delete %s, or keep it in a password manager\n", file)
	}
}

// inGitWorkTree reports whether path lies under a directory holding .git.
func inGitWorkTree(path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	for d := filepath.Dir(abs); ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return false
		}
		d = parent
	}
}
