package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/redact"
)

// app is the state shared by the commands of one invocation: the injected
// environment and what was derived from it. It is built per call of Main,
// never kept in package variables.
type app struct {
	env   Env
	out   io.Writer
	err   io.Writer
	style style // for stderr
	ostyl style // for stdout
	ci    ci.Context
	// secrets are the run's secret values (decrypted ones, credentials):
	// masked in out and err, the files, notes and reports the run writes
	// and the requests it sends to CI systems and notification receivers.
	secrets *redact.Set
	// global options
	repoDir string
	noColor bool
	// atEnd are run when the command returns (servers the run started).
	atEnd []func()
	// afterRun are run after atEnd unless the run was interrupted
	// (housekeeping such as trimming the download cache).
	afterRun []func()
}

// Main runs pipe with the given environment and returns the exit code.
//
// The first SIGINT or SIGTERM cancels the run's context: a sync rolls
// back, records and unlocks within its grace. A second one exits at once
// (130), saying what may be left behind: CI systems send it when the first
// was not enough, and a user pressing Ctrl-C twice means it.
func Main(env Env) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		cancel(fmt.Errorf("%w: %v", context.Canceled, sig))
		sig = <-sigs
		fmt.Fprintf(env.Stderr, "\npipe: second %v: exiting now; a deployment in progress may be left RUNNING with its lock held: %s\n",
			sig, style{}.Text("`pipe status` shows it, `pipe sync APP --resume` or `pipe cancel APP` finishes it"))
		os.Exit(ExitInterrupted)
	}()
	return run(ctx, env)
}

func run(ctx context.Context, env Env) int {
	return runWith(ctx, env, redact.NewSet())
}

// runWith is run with the registry of the run's secret values given.
func runWith(ctx context.Context, env Env, secrets *redact.Set) int {
	stdout, stderr := maskedStream(secrets, env.Stdout), maskedStream(secrets, env.Stderr)
	// Every return passes on what the writers hold back.
	defer stderr.Flush()
	defer stdout.Flush()
	a := &app{env: env, out: stdout, err: stderr, secrets: secrets}
	ciCtx, warn := ci.Detect(env.Getenv, env.ReadFile)
	a.ci = ciCtx
	root := a.rootCommand()
	root.SetArgs(env.Args)
	root.SetIn(env.Stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	// Colour is decided once flags are parsed (--no-color).
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		a.style = a.styleFor(env.Stderr, env.StderrTTY)
		a.ostyl = a.styleFor(env.Stdout, env.StdoutTTY)
		if warn != nil {
			fmt.Fprintf(a.err, "%s %s\n", a.style.Yellow("warning:"), a.style.Text(warn.Error()))
		}
		return nil
	}
	err := a.execute(ctx, root)
	for i := len(a.atEnd) - 1; i >= 0; i-- {
		a.atEnd[i]()
	}
	if ctx.Err() == nil {
		for _, f := range a.afterRun {
			f()
		}
	}
	if err == nil {
		return ExitOK
	}
	e := toError(err)
	if ctx.Err() != nil && e.Code == ExitFailed {
		e.Code = ExitInterrupted
	}
	if e.Code == ExitUsage && !e.Quiet {
		pointToHelp(e, root, env.Args)
	}
	stdout.Flush() // the results before the error
	renderTo(a.err, e, a.styleFor(env.Stderr, env.StderrTTY))
	return e.Code
}

// pointToHelp names, in the hint of a usage error that names none, the
// help of the command that was run (args): the list of its commands when
// the error is an unknown one.
func pointToHelp(e *Error, root *cobra.Command, args []string) {
	unknown := strings.Contains(e.Summary, "unknown command")
	if !unknown && e.Hint != commandHelpHint && e.Hint != rootHelpHint {
		return
	}
	c, _, _ := root.Find(args) // the deepest command found, even with an error
	if c == nil {
		c = root
	}
	if unknown && c.HasAvailableSubCommands() {
		e.Hint = fmt.Sprintf("run `%s --help` for the list of commands", c.CommandPath())
		return
	}
	e.Hint = fmt.Sprintf("see `%s --help`", c.CommandPath())
}

// styleFor is the style of one output stream, w, a terminal when tty is
// set: see colorPolicy for the rules.
func (a *app) styleFor(w io.Writer, tty bool) style {
	p := colorPolicy{noColorFlag: a.noColor, getenv: a.env.Getenv,
		ciLog: a.ci.Provider == ci.GitHub || a.ci.Provider == ci.GitLab}
	return style{color: p.enabled(tty, isRegularFile(w))}
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "pipe",
		Short: "GitOps continuous delivery from your CI jobs, with no server",
		Long: `pipe plans and syncs the applications of a Git repository (PipeCD-style
app.pipecd.yaml configs) from CI jobs: quick syncs or progressive pipelines
with analysis and automated rollback, with every deployment recorded in Git
notes. It needs no server and no database.

Stdout carries results (use -o json on data commands); stderr carries progress.
Colour follows NO_COLOR, --no-color, FORCE_COLOR, CLICOLOR_FORCE and CLICOLOR,
and is on in GitHub Actions and GitLab CI logs. -v is --version, and only that.

` + exitCodeHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
	}
	root.SetVersionTemplate("pipe {{.Version}}\n")
	// -v is --version, on the top command only (cobra's default, made
	// explicit): no command uses -v for anything else, so it never means
	// two things.
	root.Flags().BoolP("version", "v", false, "print pipe's version and exit (pipe version -o json for details)")
	root.PersistentFlags().StringVarP(&a.repoDir, "repo", "C", ".", "the repository: its `dir` or a path inside it; env PIPE_REPO")
	root.PersistentFlags().BoolVar(&a.noColor, "no-color", false, "disable colour (also NO_COLOR=1)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &Error{Code: ExitUsage, Summary: err.Error(), Hint: fmt.Sprintf("see `%s --help`", c.CommandPath())}
	})
	root.SetUsageFunc(a.usage)
	root.AddCommand(
		a.validateCommand(),
		a.appsCommand(),
		a.schemaCommand(),
		a.versionCommand(),
		a.planCommand(),
		a.syncCommand(),
		a.historyCommand(),
		a.statusCommand(),
		a.unlockCommand(),
		a.gcCommand(),
		a.approveCommand(),
		a.cancelCommand(),
		a.driftCommand(),
		a.insightsCommand(),
		a.notifyCommand(),
		a.completionCommand(),
		a.secretCommand(),
		a.eventCommand(),
	)
	root.AddCommand(a.optionsCommand(hideConnectionFlags(root)))
	return root
}

// bind layers the sources of a command's options, highest first: flags
// set on the command line, PIPE_* environment variables, then the flag
// defaults. Commands read their options from the returned viper.
//
// Only the flags whose help says so ("env PIPE_OUTPUT") read the
// environment: where to find the repository and report, never what to do
// to live systems. A job-level variable must not turn on --fix, --force,
// --allow-dirty or --force-conflicts unseen.
func (a *app) bind(cmd *cobra.Command) *viper.Viper {
	v := viper.New()
	flags := pflag.NewFlagSet("all", pflag.ContinueOnError)
	flags.AddFlagSet(cmd.Flags())
	flags.AddFlagSet(cmd.InheritedFlags())
	flags.VisitAll(func(f *pflag.Flag) {
		_ = v.BindPFlag(f.Name, f)
		if name := flagEnv(f); name != "" {
			_ = v.BindEnv(f.Name, name)
		}
	})
	a.repoDir = v.GetString("repo")
	if v.IsSet("no-color") {
		a.noColor = v.GetBool("no-color")
	}
	return v
}

// flagEnv is the environment variable a flag reads, or "" when it reads
// none: a flag reads PIPE_<NAME> exactly when its help says "env PIPE_<NAME>",
// so --help is the list.
func flagEnv(f *pflag.Flag) string {
	name := "PIPE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
	i := strings.Index(f.Usage, "env "+name)
	if i < 0 {
		return ""
	}
	if rest := f.Usage[i+len("env "+name):]; rest != "" && (rest[0] == '_' || rest[0] >= 'A' && rest[0] <= 'Z') {
		return ""
	}
	return name
}

// outputFormat validates -o against the formats a command supports.
func outputFormat(v *viper.Viper, allowed ...string) (string, error) {
	o := v.GetString("output")
	if o == "" {
		o = allowed[0]
	}
	if !slices.Contains(allowed, o) {
		return "", usageError("unsupported output format %q; use one of: %s", o, strings.Join(allowed, ", "))
	}
	return o, nil
}

func addOutputFlag(cmd *cobra.Command, allowed ...string) {
	cmd.Flags().StringP("output", "o", allowed[0], "output format: "+strings.Join(allowed, "|")+"; env PIPE_OUTPUT")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return allowed, cobra.ShellCompDirectiveNoFileComp
	})
}

// writeJSON writes v as indented JSON with a final newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
