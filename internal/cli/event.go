package cli

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/go-git/go-git/v5"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/gitops-pipe/pipe/internal/eventwatch"
	"github.com/gitops-pipe/pipe/internal/state"
)

func (a *app) eventCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "event",
		Short: "Register events and apply them to the repository's files (PipeCD's event watcher)",
		Long: `Events carry a value from another repository's CI into this GitOps
repository: an image build registers "web-image = v1.4.2", and the
watchers configured for that event (an application's eventWatcher, or a
.pipe/ EventWatcher file) write the value into the files they name, in a
commit or a pull request, which the usual pipe sync then deploys.

Events and what each watcher did with them are kept in the notes ref
refs/notes/pipe/events: no server and no database. See docs/events.md.`,
	}
	cmd.AddCommand(a.eventRegisterCommand(), a.eventWatchCommand(), a.eventListCommand(), a.eventGCCommand())
	return cmd
}

// maxEventValue bounds an event's value: values are image tags, digests,
// versions; a file's worth is a mistake.
const maxEventValue = 64 << 10

func (a *app) eventRegisterCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "register NAME VALUE",
		Short: "Record an event (a name, labels and a value) in the GitOps repository",
		Long: `Record an event in the GitOps repository's events notes ref; the next
` + "`pipe event watch`" + ` applies it. Run it in the CI of the repository that
produces the value, with --repo-url naming the GitOps repository and a
token that can push to it (PIPE_GIT_TOKEN, GITHUB_TOKEN or GITLAB_TOKEN), or
inside a clone of the GitOps repository.

An event's identity is its name and its exact labels: a newer event of the
same identity supersedes an older one that was not handled yet. In CI, the
--commit-* fields default to the CI's commit and its URL.`,
		Example: `  pipe event register web-image v1.4.2 --labels env=prod \
    --repo-url https://github.com/acme/gitops.git
  pipe event register web-image "$IMAGE_DIGEST" --contexts Build-Url=$RUN_URL`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			output, err := outputFormat(v, "text", "json")
			if err != nil {
				return err
			}
			ev, err := a.eventFromFlags(v, args[0], args[1])
			if err != nil {
				return err
			}
			st, cleanup, err := a.openEventStore(v, true)
			if err != nil {
				return err
			}
			defer cleanup()
			if err := st.RegisterEvent(cmd.Context(), ev, v.GetString("branch")); err != nil {
				return stateError(err)
			}
			if output == "json" {
				return writeJSON(a.out, struct {
					*state.RegisteredEvent
					On string `json:"on"`
				}{ev, ev.On})
			}
			fmt.Fprintf(a.out, "registered event %s%s = %s (id %s, on %s)\n", state.SafeText(ev.Name), labelSuffix(ev.Labels),
				strconv.Quote(ev.Value), ev.ID, ev.On[:12])
			return nil
		},
	}
	f := cmd.Flags()
	addOutputFlag(cmd, "text", "json")
	f.StringToString("labels", nil, "labels of the event, k=v,k2=v2: a watcher's labels must match them exactly")
	f.StringToString("contexts", nil, "extra key=values, written as trailers of the commits the event makes (keys: letters, digits, dashes)")
	f.String("commit-hash", "", "the commit that produced the value (default: the CI's commit)")
	f.String("commit-title", "", "its title")
	f.String("commit-message", "", "its message")
	f.String("commit-url", "", "its web URL (default: the CI's commit URL)")
	f.String("commit-author", "", "its author")
	f.Int64("commit-timestamp", 0, "its time, in Unix seconds")
	f.String("repo-url", "", "the GitOps repository to register into, instead of this clone's remote; env PIPE_REPO_URL")
	f.String("branch", "", "the GitOps repository's branch the event is for (default: its default branch); env PIPE_BRANCH")
	f.String("notes-ref", "", "the notes ref prefix of the GitOps repository with --repo-url (default refs/notes/pipe; spec.git.notesRef)")
	addStoreFlags(cmd, true)
	return cmd
}

// eventFromFlags builds and checks the event to register.
func (a *app) eventFromFlags(v *viper.Viper, name, value string) (*state.RegisteredEvent, error) {
	if strings.TrimSpace(name) == "" || strings.IndexFunc(name, unicode.IsControl) >= 0 || len(name) > 256 {
		return nil, usageError("the event name %q must be 1 to 256 characters, without control characters", name)
	}
	if len(value) > maxEventValue {
		return nil, usageError("the event value is %d bytes, over the limit of %d: events carry a tag, digest or version, not a file", len(value), maxEventValue)
	}
	if err := eventwatch.CheckValue(value); err != nil {
		return nil, usageError("%v", err)
	}
	ev := &state.RegisteredEvent{Name: name, Value: value, Labels: v.GetStringMapString("labels"), Contexts: v.GetStringMapString("contexts")}
	for k, val := range ev.Labels {
		if k == "" || strings.IndexFunc(k+val, unicode.IsControl) >= 0 {
			return nil, usageError("--labels: invalid label %q=%q", k, val)
		}
	}
	for k := range ev.Contexts {
		if !eventwatch.ContextKey.MatchString(k) {
			return nil, &Error{Code: ExitUsage, Summary: fmt.Sprintf("--contexts: key %q is not a valid trailer key", k),
				Hint: "use letters, digits and single dashes, e.g. Build-Url"}
		}
	}
	c := &state.EventCommit{Hash: v.GetString("commit-hash"), Title: v.GetString("commit-title"), Message: v.GetString("commit-message"),
		URL: v.GetString("commit-url"), Author: v.GetString("commit-author"), Timestamp: v.GetInt64("commit-timestamp")}
	if c.Hash == "" && a.ci.SHA != "" {
		c.Hash = a.ci.SHA
		if c.URL == "" {
			c.URL = a.ci.CommitURL(c.Hash)
		}
	}
	if *c != (state.EventCommit{}) {
		ev.Commit = c
	}
	ev.By = a.ci.RunURL
	if ev.By == "" {
		ev.By = a.actor()
	}
	return ev, nil
}

// openEventStore opens the events of the GitOps repository: this clone's
// (like every other command), or with --repo-url a repository reached over
// the network, through an empty bare repository made for the run. A
// command that only reads (writes false) reads a clone without the remote
// locally, as `pipe history` does.
func (a *app) openEventStore(v *viper.Viper, writes bool) (*state.GitStore, func(), error) {
	url := v.GetString("repo-url")
	if url == "" {
		st, _, err := a.openStore(v, writes)
		if err != nil {
			return nil, nil, err
		}
		if nr := v.GetString("notes-ref"); nr != "" {
			st.Close()
			return nil, nil, usageError("--notes-ref is for --repo-url; in a clone, spec.git.notesRef of .pipe/config.yaml says it")
		}
		return st, func() { st.Close() }, nil
	}
	dir, err := os.MkdirTemp("", "pipe-event-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	if _, err := git.PlainInit(dir, true); err != nil {
		cleanup()
		return nil, nil, err
	}
	st, err := state.Open(dir, state.Options{
		RemoteURL: url, Credentials: state.CredentialsFromEnv(a.env.Getenv, url), Now: a.env.Now,
		NotesRef: v.GetString("notes-ref"), Mask: a.secrets.MaskBytes,
		Notify: func(n state.Notice) {
			if n.Level >= state.LevelInfo {
				fmt.Fprintf(a.err, "%s\n", state.SafeText(n.Msg))
			}
		},
	})
	if err != nil {
		cleanup()
		return nil, nil, stateError(err)
	}
	return st, func() { st.Close(); cleanup() }, nil
}

// labelSuffix renders labels as " (k=v,k2=v2)", "" when none.
func labelSuffix(l map[string]string) string {
	if len(l) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+l[k])
	}
	return " (" + state.SafeText(strings.Join(parts, ",")) + ")"
}
