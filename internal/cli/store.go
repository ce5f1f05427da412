package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/state"
)

// addStoreFlags adds the flags of commands that read or write deployment
// records. Their defaults come, in order, from the flag, PIPE_* variables,
// then the repository config (.pipe/config.yaml spec.git).
func addStoreFlags(cmd *cobra.Command, writes bool) {
	cmd.Flags().String("remote", "origin", "Git remote records are fetched from (and pushed to); env PIPE_REMOTE; config spec.git.remote")
	cmd.Flags().Bool("offline", false, "read and write local records only: no fetch, no push; env PIPE_OFFLINE")
	if writes {
		cmd.Flags().Bool("no-push", false, "keep written records and locks local (a dry run); env PIPE_NO_PUSH")
	}
}

// repoConfig reads .pipe/config.yaml of the repository at root, if any, and
// layers its settings under the flags and environment in v (viper's config
// layer). A config with errors is a configuration error: nothing is done.
func (a *app) repoConfig(root string, v *viper.Viper) (*config.PipeSpec, error) {
	p := filepath.Join(root, filepath.FromSlash(config.RepoConfigFile))
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	f := config.ReadFile(p, config.RepoConfigFile)
	if !f.Valid() {
		return nil, &Error{Code: ExitUsage, Summary: config.RepoConfigFile + " is invalid", Detail: f.Diags.Errors().Error(),
			Hint: "run `pipe validate` for details"}
	}
	spec, ok := f.Spec.(*config.PipeSpec)
	if !ok {
		return nil, &Error{Code: ExitUsage, Summary: fmt.Sprintf("%s must be of kind Pipe, got %s", config.RepoConfigFile, f.Kind)}
	}
	layer := map[string]any{}
	if spec.Git.Remote != "" {
		layer["remote"] = spec.Git.Remote
	}
	if err := v.MergeConfigMap(layer); err != nil {
		return nil, err
	}
	return spec, nil
}

// openStore opens the deployment record store of the repository. A
// read-only command in a repository without the remote reads the local
// records (with a note); a command that writes needs the remote, or
// --no-push for a local dry run.
func (a *app) openStore(v *viper.Viper, writes bool) (*state.GitStore, string, error) {
	root, err := config.FindRoot(a.repoDir)
	if err != nil {
		return nil, "", &Error{Code: ExitUsage, Summary: "cannot open " + a.repoDir, Detail: err.Error()}
	}
	cfg, err := a.repoConfig(root, v)
	if err != nil {
		return nil, "", err
	}
	remote := v.GetString("remote")
	url, _ := state.RemoteURL(root, remote)
	opts := state.Options{
		Remote:      remote,
		Credentials: state.CredentialsFromEnv(a.env.Getenv, url),
		NoPush:      v.GetBool("no-push"),
		Offline:     v.GetBool("offline"),
		Now:         a.env.Now,
		// The run's secret values never reach a note or a lock.
		Mask: a.secrets.MaskBytes,
		Notify: func(n state.Notice) {
			switch {
			case n.Level >= state.LevelWarn:
				fmt.Fprintf(a.err, "%s %s\n", a.style.Yellow("warning:"), state.SafeText(n.Msg))
			case n.Level == state.LevelInfo:
				fmt.Fprintf(a.err, "%s\n", state.SafeText(n.Msg))
			}
		},
	}
	if url == "" && !writes && !opts.Offline {
		fmt.Fprintf(a.err, "no remote %q: showing the records of this clone only\n", remote)
		opts.Offline = true
	}
	if cfg != nil {
		opts.NotesRef = cfg.Git.NotesRef
		opts.Committer = state.Identity{Name: cfg.Git.Author.Name, Email: cfg.Git.Author.Email}
	}
	st, err := state.Open(root, opts)
	if err != nil {
		return nil, "", stateError(err)
	}
	return st, root, nil
}

// stateError maps state errors to exit codes, keeping their hints.
func stateError(err error) error {
	var locked *state.LockedError
	if errors.As(err, &locked) {
		return &Error{Code: ExitLocked, Summary: locked.Error(), Hint: locked.Hint(), Err: err}
	}
	var se *state.Error
	if errors.As(err, &se) {
		code := ExitFailed
		if errors.Is(err, state.ErrNotFound) {
			code = ExitUsage
		}
		return &Error{Code: code, Summary: se.Error(), Hint: se.Hint, Err: err}
	}
	return err
}
