package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/report"
)

type appsOptions struct {
	output  string
	changed bool
	base    string
	head    string
	kinds   []string
}

func (a *app) appsCommand() *cobra.Command {
	opts := &appsOptions{}
	cmd := &cobra.Command{
		Use:   "apps",
		Short: "List the applications of the repository, or those a change touches",
		Long: `List the applications of the repository: name, kind, directory and labels.

With --changed, list only the applications that the change between --base
and --head touches, by PipeCD's rules: a changed file under the app's
directory, or matching trigger.onCommit.paths and not trigger.onCommit.ignores;
apps with trigger.onCommit.disabled are left out.

-o github-matrix prints {"include":[{"app":...,"kind":...,"dir":...}]} on one
line for a GitHub Actions matrix (strategy.matrix: ${{ fromJSON(...) }});
-o gitlab-matrix prints a hidden job .pipe-apps with parallel:matrix for a
GitLab child pipeline: one entry per application with PIPE_APP and
PIPE_ENVIRONMENT (its env label, else its name), as the sync component
(templates/sync.yml) expects.`,
		Example: `  pipe apps
  pipe apps --changed --base origin/main --head HEAD
  echo "matrix=$(pipe apps --changed --base "$BASE" -o github-matrix)" >> "$GITHUB_OUTPUT"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := a.bind(cmd)
			opts.changed = v.GetBool("changed")
			opts.base = v.GetString("base")
			opts.head = v.GetString("head")
			opts.kinds = v.GetStringSlice("kind")
			var err error
			if opts.output, err = outputFormat(v, "text", "json", "github-matrix", "gitlab-matrix"); err != nil {
				return err
			}
			if !opts.changed && (cmd.Flags().Changed("base") || cmd.Flags().Changed("head")) {
				return usageError("--base and --head need --changed")
			}
			return a.runApps(opts)
		},
	}
	addOutputFlag(cmd, "text", "json", "github-matrix", "gitlab-matrix")
	cmd.Flags().Bool("changed", false, "only the apps touched between --base and --head")
	cmd.Flags().String("base", "", "base revision for --changed (default: the merge base with the PR's target branch in CI, else HEAD~1); env PIPE_BASE")
	cmd.Flags().String("head", "HEAD", "head revision for --changed; env PIPE_HEAD")
	cmd.Flags().StringSlice("kind", nil, "only apps of these kinds (e.g. KubernetesApp,TerraformApp)")
	return cmd
}

// appEntry is one app in `pipe apps` output; Reason is set with --changed.
type appEntry struct {
	Name   string            `json:"name"`
	Kind   config.Kind       `json:"kind"`
	Dir    string            `json:"dir"`
	File   string            `json:"file"`
	Labels map[string]string `json:"labels,omitempty"`
	Reason string            `json:"reason,omitempty"`
}

func (a *app) runApps(opts *appsOptions) error {
	root, repo, err := a.openRepo()
	if err != nil {
		return err
	}
	if ds := repo.Diagnostics().Errors(); len(ds) > 0 {
		fmt.Fprintf(a.err, "%s %s\n", a.style.Yellow("warning:"), a.style.Text(fmt.Sprintf("%d configuration errors; the apps of invalid files may be missing (run `pipe validate`)", len(ds))))
	}
	var entries []appEntry
	for _, ap := range repo.Apps {
		if len(opts.kinds) > 0 && !slices.ContainsFunc(opts.kinds, func(k string) bool { return strings.EqualFold(k, string(ap.Kind)) }) {
			continue
		}
		entries = append(entries, appEntry{Name: ap.Name, Kind: ap.Kind, Dir: ap.Dir, File: ap.File, Labels: ap.Labels})
	}
	if opts.changed {
		if entries, err = a.changedApps(root, repo, entries, opts); err != nil {
			return err
		}
	}
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].Name != entries[j].Name {
			return entries[i].Name < entries[j].Name
		}
		return entries[i].File < entries[j].File
	})
	switch opts.output {
	case "json":
		if entries == nil {
			entries = []appEntry{}
		}
		return writeJSON(a.out, entries)
	case "github-matrix":
		return writeGitHubMatrix(a.out, entries)
	case "gitlab-matrix":
		apps := make([]report.GitLabMatrixApp, 0, len(entries))
		for _, e := range entries {
			apps = append(apps, report.GitLabMatrixApp{Name: e.Name, Environment: e.Labels["env"]})
		}
		return report.WriteGitLabMatrix(a.out, apps)
	}
	if len(entries) == 0 {
		if opts.changed {
			fmt.Fprintln(a.err, "no application is touched by this change")
		} else {
			fmt.Fprintln(a.err, "no applications found")
		}
		return nil
	}
	tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	header := "NAME\tKIND\tDIR\tLABELS"
	if opts.changed {
		header += "\tREASON"
	}
	fmt.Fprintln(tw, header)
	for _, e := range entries {
		line := fmt.Sprintf("%s\t%s\t%s\t%s", e.Name, e.Kind, e.Dir, formatLabels(e.Labels))
		if opts.changed {
			line += "\t" + e.Reason
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

func formatLabels(l map[string]string) string {
	if len(l) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, ",")
}

type matrixEntry struct {
	App  string      `json:"app"`
	Kind config.Kind `json:"kind"`
	Dir  string      `json:"dir"`
	Env  string      `json:"env,omitempty"`
}

// writeGitHubMatrix prints the matrix on one line, ready for $GITHUB_OUTPUT.
// An empty change yields {"include":[]}, which a job guards with
// `if: fromJSON(needs.x.outputs.matrix).include[0] != null`.
func writeGitHubMatrix(w io.Writer, entries []appEntry) error {
	m := struct {
		Include []matrixEntry `json:"include"`
	}{Include: []matrixEntry{}}
	for _, e := range entries {
		m.Include = append(m.Include, matrixEntry{App: e.Name, Kind: e.Kind, Dir: e.Dir, Env: e.Labels["env"]})
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
