package cli

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/gitops-pipe/pipe/internal/sealed"
)

type rotateOptions struct {
	apps         []string
	toConfig     string
	toPublicKey  string
	toRecipients []string
	toKMSKey     string
	keyEnv       string
	dryRun       bool
	output       string
}

func (a *app) secretRotateCommand() *cobra.Command {
	opts := &rotateOptions{}
	cmd := &cobra.Command{
		Use:   "rotate [APP...] (--to-config FILE | --to-public-key FILE | --to-recipient AGE1... | --to-kms-key KEY)",
		Short: "Re-encrypt the secrets of applications to a new key",
		Long: `Decrypt every encryptedSecrets value of the named applications (all of
them when none is named) with the repository's current secretManagement, and
re-encrypt each one to the new key, rewriting only the ciphertexts in the
application config files: comments, quoting, indentation and order stay as
they are (a multi-line block scalar becomes one line).

The new key is one of:
  --to-config FILE      a secretManagement block (as keygen prints it) or a
                        whole .pipe/config.yaml of kind Pipe
  --to-public-key FILE  an RSA public key (PEM): KEY_PAIR
  --to-recipient AGE1   age recipients (repeatable): AGE
  --to-kms-key KEY      an AWS KMS key id, ARN or alias: AWS_KMS

Run it before changing .pipe/config.yaml, with the current private key in its
environment variable. Every secret is decrypted before any file is written:
one that does not decrypt stops the rotation with nothing changed. Then put
the printed block into .pipe/config.yaml, update the CI secret holding the
private key, and commit it all together.`,
		Example: `  pipe secret keygen --out new.key > new-scheme.yaml
  pipe secret rotate --to-config new-scheme.yaml
  pipe secret rotate web api --to-recipient age1... --to-recipient age1... --dry-run
  pipe secret rotate --to-kms-key alias/pipe-secrets -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			opts.apps = args
			opts.toConfig, opts.toPublicKey = v.GetString("to-config"), v.GetString("to-public-key")
			opts.toRecipients, opts.toKMSKey = v.GetStringSlice("to-recipient"), v.GetString("to-kms-key")
			opts.keyEnv, opts.dryRun = v.GetString("key-env"), v.GetBool("dry-run")
			var err error
			if opts.output, err = outputFormat(v, "text", "json"); err != nil {
				return err
			}
			n := 0
			for _, set := range []bool{opts.toConfig != "", opts.toPublicKey != "", len(opts.toRecipients) > 0, opts.toKMSKey != ""} {
				if set {
					n++
				}
			}
			if n != 1 {
				return usageError("give the new key with one of --to-config, --to-public-key, --to-recipient or --to-kms-key")
			}
			if opts.toConfig != "" && opts.keyEnv != "" {
				return usageError("--key-env is for the blocks pipe writes; with --to-config, the file names the variable")
			}
			return a.runRotate(cmd, opts)
		},
	}
	addOutputFlag(cmd, "text", "json")
	f := cmd.Flags()
	f.String("to-config", "", "file holding the new secretManagement block, or a whole .pipe/config.yaml")
	f.String("to-public-key", "", "RSA public key file (PEM) to re-encrypt to (KEY_PAIR)")
	f.StringSlice("to-recipient", nil, "age recipient to re-encrypt to (AGE; repeatable)")
	f.String("to-kms-key", "", "AWS KMS key id, ARN or alias to re-encrypt to (AWS_KMS)")
	f.String("key-env", "", "environment variable the new block reads the private key from (default: the current one, else "+defaultKeyEnv+")")
	f.Bool("dry-run", false, "decrypt and re-encrypt, but write nothing: list what would change")
	return cmd
}

// rotatedApp is one rewritten app config in `pipe secret rotate -o json`.
type rotatedApp struct {
	App     string   `json:"app"`
	File    string   `json:"file"`
	Secrets []string `json:"secrets"`
	data    []byte
	mode    fs.FileMode
}

// rotateResult is the JSON shape of `pipe secret rotate -o json`.
type rotateResult struct {
	DryRun           bool         `json:"dryRun"`
	From             string       `json:"from"`
	To               string       `json:"to"`
	Secrets          int          `json:"secrets"`
	Apps             []rotatedApp `json:"apps"`
	SecretManagement string       `json:"secretManagement"`
}

func (a *app) runRotate(cmd *cobra.Command, opts *rotateOptions) error {
	ctx := cmd.Context()
	root, repo, cur, err := a.openSecretRepo()
	if err != nil {
		return err
	}
	target, err := a.resolveRotateTarget(opts, root, cur)
	if err != nil {
		return err
	}
	apps, err := rotateApps(repo, opts.apps)
	if err != nil {
		return err
	}
	dec, err := sealed.NewDecrypter(ctx, cur, a.sealedDeps())
	if err != nil {
		return keyError("decrypt the current secrets", cur, err)
	}
	enc, err := sealed.NewEncrypter(ctx, target.sm, a.sealedDeps())
	if err != nil {
		return &Error{Code: ExitUsage, Summary: "cannot encrypt with the new " + target.sm.Type + " secretManagement", Detail: err.Error(), Err: err}
	}

	// Decrypt everything first: a secret that does not decrypt stops the
	// rotation before any file is written.
	type pending struct {
		ap      *config.App
		data    []byte
		secrets []storedSecret
		plain   [][]byte
	}
	var work []pending
	var failures []string
	var firstErr error
	defer func() {
		for _, p := range work {
			for _, b := range p.plain {
				clear(b)
			}
		}
	}()
	for _, ap := range apps {
		data, secrets, err := readAppSecrets(root, ap)
		if err != nil {
			return err
		}
		if len(secrets) == 0 {
			if len(opts.apps) > 0 {
				fmt.Fprintf(a.err, "%s app %s (%s) has no encryptedSecrets\n", a.style.Yellow("warning:"), ap.Name, ap.File)
			}
			continue
		}
		p := pending{ap: ap, data: data, secrets: secrets}
		for _, s := range secrets {
			plain, err := dec.Decrypt(ctx, s.Value)
			if err != nil {
				failures = append(failures, fmt.Sprintf("%s: %v", secretRef(s.Name, ap.Name, ap.File, s.Line), err))
				firstErr = err
			}
			p.plain = append(p.plain, plain)
		}
		work = append(work, p)
	}
	if len(failures) > 0 {
		e := decryptFailure(fmt.Sprintf("%d secrets with the current %s secretManagement; nothing was changed", len(failures), cur.Type), cur, firstErr)
		if len(failures) == 1 {
			e.Summary = "cannot decrypt " + strings.SplitN(failures[0], ": ", 2)[0] + "; nothing was changed"
		}
		e.Detail = strings.Join(failures, "\n")
		key := cmp.Or(currentKeyEnv(currentSchemeNode(root)), "its key file")
		if cur.Type == config.SecretManagementAWSKMS {
			key = "AWS credentials allowed to decrypt with the key"
		}
		e.Hint = "the secrets must decrypt with the current secretManagement of " + config.RepoConfigFile +
			" (run rotate before changing it) and its private key (" + key + ")"
		return e
	}

	res := rotateResult{DryRun: opts.dryRun, From: cur.Type, To: target.sm.Type, SecretManagement: target.block, Apps: []rotatedApp{}}
	for _, p := range work {
		values := map[string]string{}
		ra := rotatedApp{App: p.ap.Name, File: p.ap.File}
		for i, s := range p.secrets {
			ct, err := enc.Encrypt(ctx, p.plain[i])
			if err != nil {
				return &Error{Code: ExitFailed, Summary: fmt.Sprintf("cannot encrypt %s with the new key; nothing was changed", secretRef(s.Name, p.ap.Name, p.ap.File, s.Line)),
					Detail: err.Error(), Err: err}
			}
			values[s.Name] = ct
			ra.Secrets = append(ra.Secrets, s.Name)
		}
		if ra.data, err = spliceSecrets(p.ap.File, p.data, p.secrets, values); err != nil {
			return &Error{Code: ExitUsage, Summary: "cannot rewrite the secrets of app " + p.ap.Name + "; nothing was changed", Detail: err.Error(), Err: err}
		}
		st, err := os.Lstat(joinRel(root, p.ap.File))
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return &Error{Code: ExitUsage, Summary: fmt.Sprintf("%s is %s; rotate rewrites regular files only; nothing was changed", p.ap.File, fsafe.FileType(st.Mode())),
				Hint: "re-encrypt the secrets of app " + p.ap.Name + " by hand in the file it points to"}
		}
		ra.mode = st.Mode().Perm()
		res.Secrets += len(ra.Secrets)
		res.Apps = append(res.Apps, ra)
	}
	if !opts.dryRun {
		for i, ra := range res.Apps {
			if err := writeFileAtomic(root, ra.File, ra.data, ra.mode); err != nil {
				var done []string
				for _, w := range res.Apps[:i] {
					done = append(done, w.File)
				}
				e := &Error{Code: ExitFailed, Summary: "cannot write " + ra.File, Detail: err.Error(), Err: err}
				if len(done) > 0 {
					e.Hint = "already rewritten: " + strings.Join(done, ", ") + "; fix the problem and run the rotation again for the other apps"
				}
				return e
			}
		}
	}
	if opts.output == "json" {
		return writeJSON(a.out, res)
	}
	a.printRotate(res)
	return nil
}

// rotateApps is the apps to rotate: those named, or every app of the
// repository (refused when a config file could not be read, which could
// hold secrets left behind).
func rotateApps(repo *config.Repo, names []string) ([]*config.App, error) {
	if len(names) == 0 {
		var broken []string
		for _, f := range repo.Files {
			if f.Spec == nil && config.IsAppConfigFile(path.Base(f.Path)) {
				broken = append(broken, f.Path)
			}
		}
		if len(broken) > 0 {
			return nil, &Error{Code: ExitUsage, Summary: "cannot read every application config; a rotation would leave their secrets behind",
				Detail: strings.Join(broken, "\n"), Hint: "fix them first (`pipe validate`), or name the apps to rotate"}
		}
		apps := append([]*config.App(nil), repo.Apps...)
		sort.Slice(apps, func(i, j int) bool { return apps[i].File < apps[j].File })
		return apps, nil
	}
	var apps []*config.App
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		ap, err := findApp(repo, n)
		if err != nil {
			return nil, err
		}
		apps = append(apps, ap)
	}
	return apps, nil
}

func (a *app) printRotate(res rotateResult) {
	verb := "re-encrypted"
	if res.DryRun {
		verb = "would re-encrypt"
	}
	fmt.Fprintf(a.out, "%s %s of %s from %s to %s\n", verb, plural(res.Secrets, "secret"), plural(len(res.Apps), "app"), res.From, res.To)
	tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	for _, ra := range res.Apps {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", ra.App, ra.File, strings.Join(ra.Secrets, ", "))
	}
	_ = tw.Flush()
	if res.SecretManagement != "" {
		fmt.Fprintf(a.out, "\n# in %s, under spec:, in the same commit\n%s", config.RepoConfigFile, res.SecretManagement)
	}
	if res.DryRun {
		fmt.Fprintln(a.err, "dry run: no file was written")
		return
	}
	fmt.Fprint(a.err, a.style.Text(fmt.Sprintf(`next steps:
  1. replace secretManagement in %s with the block above
  2. give the deployments the new private key (the CI secret the block names)
  3. review `+"`git diff`"+` (only ciphertexts changed) and commit everything together
`, config.RepoConfigFile)))
}

func joinRel(root, rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }

// writeFileAtomic replaces the file rel of root with data: a temporary
// file in the same directory, synced, then renamed over it, with mode.
func writeFileAtomic(root, rel string, data []byte, mode fs.FileMode) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(path.Dir(rel), "."+path.Base(rel)+".pipe-"+hex.EncodeToString(rnd[:]))
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode) // past the umask
	}
	if err == nil {
		err = f.Sync()
	}
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err == nil {
		err = r.Rename(tmp, rel)
	}
	if err != nil {
		_ = r.Remove(tmp)
	}
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
