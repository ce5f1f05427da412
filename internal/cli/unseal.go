package cli

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/platform"
	"github.com/gitops-pipe/pipe/internal/sealed"
	"github.com/gitops-pipe/pipe/internal/source"
	"github.com/gitops-pipe/pipe/internal/unseal"
)

// unsealer renders the applications' decryption targets and attachments
// for one run. The key (the repository's secretManagement) is read only
// when an application first has secrets to decrypt, and every decrypted
// value joins the run's redactor before it is written anywhere. An
// unreviewed change (untrusted) is planned with its secrets sealed: its
// templates could print a value in a form no redactor knows, so no key is
// read, and each secret renders as a placeholder of its ciphertext.
func (a *app) unsealer(root string, repo *config.Repo, untrusted bool) *unseal.Unsealer {
	u := &unseal.Unsealer{Sealed: untrusted, Register: a.secrets.Add}
	if repo.Config != nil && repo.Config.SecretManagement != nil {
		sm := repo.Config.SecretManagement
		u.Key = func(ctx context.Context) (unseal.Decrypter, error) {
			return sealed.NewDecrypter(ctx, sm, sealed.Deps{
				Getenv:   a.env.Getenv,
				Editable: platform.Editable(root, untrusted),
			})
		}
	}
	return u
}

// driftTrees copies the working tree for each drift check of an
// application that renders files, and renders them there.
func driftTrees(git *source.Repo, head source.Revision, u *unseal.Unsealer) func(ctx context.Context, root string, app *config.App) (string, func(), error) {
	var mu sync.Mutex // one export of the repository at a time
	return func(ctx context.Context, root string, app *config.App) (string, func(), error) {
		if !unseal.Needed(app) {
			return root, func() {}, nil
		}
		dir, err := os.MkdirTemp("", config.ExportDirPrefix)
		if err != nil {
			return "", nil, err
		}
		done := func() { os.RemoveAll(dir) }
		mu.Lock()
		err = git.ExportWorkTree(head, dir)
		mu.Unlock()
		if err == nil {
			err = u.Apply(ctx, dir, app)
		}
		if err != nil {
			done()
			return "", nil, err
		}
		return dir, done, nil
	}
}

// sealedNotices says, for each application of an unreviewed change with
// encrypted secrets, that they are planned sealed (narrated, and noticed
// in the plan's JSON and comment).
func (a *app) sealedNotices(apps []*config.App) []string {
	var out []string
	for _, ap := range apps {
		if enc := ap.Spec.Generic().Encryption; enc != nil && len(enc.EncryptedSecrets) > 0 && unseal.Needed(ap) {
			n := fmt.Sprintf("%s: its secrets are planned sealed: in an unreviewed change, each renders as a placeholder of its ciphertext (a changed ciphertext shows as a change); the values are decrypted once the change is merged", ap.Name)
			fmt.Fprintf(a.err, "%s %s\n", a.style.Yellow("notice:"), n)
			out = append(out, n)
		}
	}
	return out
}
