package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/gitops-pipe/pipe/internal/sealed"
)

// defaultKeyEnv is the environment variable the secretManagement blocks
// pipe writes read the private key from (a CI secret).
const defaultKeyEnv = "PIPE_SECRET_KEY"

// maxSecretInput bounds what `pipe secret encrypt` reads, like PipeCD's
// pipectl encrypt (10 MiB).
const maxSecretInput = sealed.MaxPlaintextSize

func (a *app) secretCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Generate keys, encrypt, decrypt and rotate the secrets of application configs",
		Long: `Secrets live in application configs encrypted, as PipeCD's sealed secrets:

  spec:
    encryption:
      encryptedSecrets:
        db-password: <ciphertext>
      decryptionTargets: [secret.yaml]   # files that use {{ .encryptedSecrets.db-password }}

The scheme is the repository's: secretManagement in .pipe/config.yaml
(AGE, recommended; KEY_PAIR, PipeCD's RSA scheme; or AWS_KMS). Encrypting
needs only its public side, so anyone can add a secret; deployments decrypt
with the private key, held in a CI secret.

  keygen   create a key pair and print the secretManagement block
  encrypt  encrypt a value (stdin or --file) for the repository's key
  decrypt  decrypt a value, for an operator holding the key (not in CI)
  rotate   re-encrypt every secret to a new key, in place`,
		Example: `  pipe secret keygen --out pipe-secret.key
  printf %s "$DB_PASSWORD" | pipe secret encrypt --app web --name db-password
  pipe secret decrypt --app web --name db-password
  pipe secret rotate --to-recipient age1...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.secretKeygenCommand(), a.secretEncryptCommand(), a.secretDecryptCommand(), a.secretRotateCommand())
	return cmd
}

// openSecretRepo opens the repository and its secretManagement, as the
// secret commands need them.
func (a *app) openSecretRepo() (string, *config.Repo, *config.SecretManagement, error) {
	root, repo, err := a.openRepo()
	if err != nil {
		return "", nil, nil, err
	}
	sm, err := secretScheme(repo)
	if err != nil {
		return "", nil, nil, err
	}
	return root, repo, sm, nil
}

// secretScheme is the repository's secretManagement, refused (exit 2)
// when it is missing or invalid.
func secretScheme(repo *config.Repo) (*config.SecretManagement, error) {
	var diags []string
	for _, f := range repo.Files {
		if f.Path != config.RepoConfigFile {
			continue
		}
		for _, d := range f.Diags.Errors() {
			if d.Path == "" || strings.HasPrefix(d.Path, "spec.secretManagement") {
				diags = append(diags, d.Position()+": "+d.Message)
			}
		}
	}
	if len(diags) > 0 {
		return nil, &Error{Code: ExitUsage, Summary: "the secretManagement of " + config.RepoConfigFile + " is invalid",
			Detail: strings.Join(diags, "\n"), Hint: "fix it (`pipe validate` shows every problem)"}
	}
	if repo.Config == nil || repo.Config.SecretManagement == nil {
		return nil, &Error{Code: ExitUsage, Summary: "the repository has no secretManagement in " + config.RepoConfigFile,
			Hint: "create a key with `pipe secret keygen --out FILE` and add the block it prints under spec:"}
	}
	return repo.Config.SecretManagement, nil
}

// sealedDeps is what the sealed schemes take from the environment. An
// operator's command trusts the repository it is run in.
func (a *app) sealedDeps() sealed.Deps {
	return sealed.Deps{Getenv: a.env.Getenv}
}

// keyError turns a failure to set up a scheme's key into a usage error.
func keyError(what string, sm *config.SecretManagement, err error) error {
	return &Error{Code: ExitUsage, Summary: fmt.Sprintf("cannot %s with the %s secretManagement of %s", what, sm.Type, config.RepoConfigFile),
		Detail: err.Error(), Err: err}
}

// secretRef names a stored secret in errors: `secret "db" of app web
// (apps/web/app.pipecd.yaml:12)`.
func secretRef(name, appName, file string, line int) string {
	return fmt.Sprintf("secret %q of app %s (%s:%d)", name, appName, file, line)
}

// decryptFailure explains a ciphertext that did not decrypt.
func decryptFailure(ref string, sm *config.SecretManagement, err error) *Error {
	e := &Error{Code: ExitUsage, Summary: "cannot decrypt " + ref, Detail: err.Error(), Err: err}
	switch {
	case errors.Is(err, sealed.ErrWrongKey):
		e.Hint = "it was encrypted for another key (or altered): the private key given must be the one of the current " +
			sm.Type + " secretManagement; re-encrypt the value with `pipe secret encrypt` if the key was lost"
	case errors.Is(err, sealed.ErrMalformed):
		e.Hint = "the value is not a " + sm.Type + " ciphertext (truncated when pasted, or made for another scheme?)"
	}
	return e
}

// appsByName indexes the repository's apps; a name may be used by several
// files (an error `pipe validate` reports), so each maps to a list.
func appsByName(repo *config.Repo) map[string][]*config.App {
	m := map[string][]*config.App{}
	for _, ap := range repo.Apps {
		m[ap.Name] = append(m[ap.Name], ap)
	}
	return m
}

// findApp is the one app named name, or a usage error listing the names.
func findApp(repo *config.Repo, name string) (*config.App, error) {
	byName := appsByName(repo)
	switch aps := byName[name]; len(aps) {
	case 1:
		return aps[0], nil
	case 0:
		return nil, &Error{Code: ExitUsage, Summary: fmt.Sprintf("no application named %q", name),
			Hint: "the applications are: " + strings.Join(slices.Sorted(maps.Keys(byName)), ", ")}
	default:
		files := make([]string, len(aps))
		for i, ap := range aps {
			files[i] = ap.File
		}
		return nil, &Error{Code: ExitUsage, Summary: fmt.Sprintf("%d applications are named %q: %s", len(aps), name, strings.Join(files, ", ")),
			Hint: "give each application a name of its own (`pipe validate` reports it)"}
	}
}

// readAppSecrets reads an app config and locates its encryptedSecrets.
func readAppSecrets(root string, ap *config.App) ([]byte, []storedSecret, error) {
	data, err := fsafe.ReadFileIn(root, ap.File, config.MaxFileSize)
	if err != nil {
		return nil, nil, &Error{Code: ExitUsage, Summary: "cannot read the config of app " + ap.Name, Detail: err.Error()}
	}
	secrets, err := locateSecrets(ap.File, data)
	if err != nil {
		return nil, nil, &Error{Code: ExitUsage, Summary: "cannot read the secrets of app " + ap.Name, Detail: err.Error(), Err: err}
	}
	return data, secrets, nil
}

// appSecret is the stored secret name of app appName.
func appSecret(root string, repo *config.Repo, appName, name string) (*config.App, storedSecret, error) {
	ap, err := findApp(repo, appName)
	if err != nil {
		return nil, storedSecret{}, err
	}
	_, secrets, err := readAppSecrets(root, ap)
	if err != nil {
		return nil, storedSecret{}, err
	}
	i := slices.IndexFunc(secrets, func(s storedSecret) bool { return s.Name == name })
	if i < 0 {
		names := make([]string, len(secrets))
		for j, s := range secrets {
			names[j] = s.Name
		}
		hint := "it has no spec.encryption.encryptedSecrets"
		if len(names) > 0 {
			hint = "its secrets are: " + strings.Join(names, ", ")
		}
		return nil, storedSecret{}, &Error{Code: ExitUsage, Summary: fmt.Sprintf("app %s (%s) has no secret %q", ap.Name, ap.File, name), Hint: hint}
	}
	return ap, secrets[i], nil
}

// readLimited reads all of r, refusing more than max bytes.
func readLimited(r io.Reader, max int64, what string) ([]byte, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", what, err)
	}
	if n > max {
		return nil, &Error{Code: ExitUsage, Summary: fmt.Sprintf("%s is over the %s limit of a secret", what, fsafe.Bytes(max)),
			Hint: "a secret is a password, a token or a key; keep large files out of encryptedSecrets"}
	}
	return buf.Bytes(), nil
}

// stdinIsTerminal reports whether the command reads a terminal.
func (a *app) stdinIsTerminal() bool {
	f, ok := a.env.Stdin.(*os.File)
	return ok && isTerminal(f)
}
