package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gitops-pipe/pipe/internal/platform/kubernetes"
)

// maxHelpWidth caps the width flag help is wrapped to: lines longer than
// this are hard to read even on a wide terminal.
const maxHelpWidth = 120

// connectionFlags are kubectl's connection flags (--kubeconfig, --context,
// --server, --token...) as the Kubernetes platform registers them on
// plan, sync, drift and cancel.
func connectionFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("kubectl", pflag.ContinueOnError)
	kubernetes.Kind().Flags(fs)
	fs.SortFlags = true
	return fs
}

// hideConnectionFlags hides kubectl's connection flags from the help of
// every command of the tree under root (they still work, as in kubectl)
// and returns the paths of the commands that take them, sorted.
func hideConnectionFlags(root *cobra.Command) []string {
	var names []string
	connectionFlags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	var takers []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		took := false
		// LocalNonPersistentFlags builds a new set on each call: once per
		// command, or it costs every run of pipe some 2 ms.
		local := c.LocalNonPersistentFlags()
		for _, name := range names {
			if f := local.Lookup(name); f != nil {
				f.Hidden = true
				took = true
			}
		}
		if took {
			takers = append(takers, strings.TrimPrefix(c.CommandPath(), root.Name()+" "))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	slices.Sort(takers)
	return takers
}

// takesConnectionFlags reports whether c takes kubectl's connection flags
// (hidden from its help).
func takesConnectionFlags(c *cobra.Command) bool {
	f := c.LocalNonPersistentFlags().Lookup("kubeconfig")
	return f != nil && f.Hidden
}

// optionsCommand is `pipe options`, kubectl's `kubectl options`: the
// connection flags that the help of the commands taking them leaves out.
func (a *app) optionsCommand(takers []string) *cobra.Command {
	list := joinWords(takers)
	return &cobra.Command{
		Use:   "options",
		Short: "List the kubectl connection flags of " + list,
		Long: `List kubectl's connection flags, with which ` + list + `
reach the cluster of KubernetesApp applications. The help of those commands
leaves them out, as kubectl's does.

A flag given on the command line wins over the setting of the app's
KUBERNETES platform provider in .pipe/config.yaml, which wins over the
kubeconfig ($KUBECONFIG, ~/.kube/config, or the in-cluster config).`,
		Example: `  pipe options
  pipe plan web --live --context staging
  pipe sync web --kubeconfig "$RUNNER_TEMP/kubeconfig" -n web`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(a.out, "The following options can be passed to %s:\n\n", list)
			_, err := io.WriteString(a.out, connectionFlags().FlagUsagesWrapped(a.helpWidth()))
			return err
		},
	}
}

// helpWidth is the width help text is wrapped to: the terminal's (or
// $COLUMNS, else 80), at most maxHelpWidth.
func (a *app) helpWidth() int {
	return min(terminalWidth(a.env.Stdout, a.env.Getenv)(), maxHelpWidth)
}

// usage writes a command's usage in cobra's layout, with the flag help
// wrapped to the terminal and, for a command taking kubectl's connection
// flags, where to find them.
func (a *app) usage(c *cobra.Command) error {
	var b strings.Builder
	b.WriteString("Usage:")
	if c.Runnable() {
		b.WriteString("\n  " + c.UseLine())
	}
	if c.HasAvailableSubCommands() {
		b.WriteString("\n  " + c.CommandPath() + " [command]")
	}
	if len(c.Aliases) > 0 {
		b.WriteString("\n\nAliases:\n  " + c.NameAndAliases())
	}
	if c.HasExample() {
		b.WriteString("\n\nExamples:\n" + c.Example)
	}
	if c.HasAvailableSubCommands() {
		b.WriteString("\n\nAvailable Commands:")
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				fmt.Fprintf(&b, "\n  %-*s %s", sub.NamePadding(), sub.Name(), sub.Short)
			}
		}
	}
	width := a.helpWidth()
	if c.HasAvailableLocalFlags() {
		b.WriteString("\n\nFlags:\n" + strings.TrimRight(c.LocalFlags().FlagUsagesWrapped(width), " \n"))
	}
	if c.HasAvailableInheritedFlags() {
		b.WriteString("\n\nGlobal Flags:\n" + strings.TrimRight(c.InheritedFlags().FlagUsagesWrapped(width), " \n"))
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "\n\nUse \"%s [command] --help\" for more information about a command.", c.CommandPath())
	}
	if takesConnectionFlags(c) {
		fmt.Fprintf(&b, "\n\nUse \"%s options\" for kubectl's connection flags (--kubeconfig, --context,\n"+
			"--namespace, --server, --token...), which this command also takes.", c.Root().Name())
	}
	b.WriteString("\n")
	_, err := io.WriteString(c.OutOrStderr(), b.String())
	return err
}

// joinWords joins "a", "a and b", "a, b and c".
func joinWords(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
