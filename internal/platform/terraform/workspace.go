package terraform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/gitops-pipe/pipe/internal/config"
)

// DefaultWorkspace is the Terraform workspace used when input.workspace is
// empty.
const DefaultWorkspace = "default"

// Options configure how a Workspace runs the binary.
type Options struct {
	// Env is the base environment of every command, NAME=value. Nil means
	// the environment of this process. input.commandEnvs are added per
	// command (shared+init for init, shared+plan for plan, shared+apply for
	// apply). Variables terraform-exec manages (TF_LOG*, TF_INPUT,
	// TF_IN_AUTOMATION, TF_WORKSPACE, TF_VAR_*, TF_CLI_ARGS*...) are dropped:
	// pass variables with Vars / input.vars / input.varFiles.
	Env []string
	// Stdout and Stderr receive terraform's human output as it runs
	// (narration; nil discards it). pipe's stdout carries data, so callers
	// usually pass os.Stderr for both.
	Stdout, Stderr io.Writer
	// PluginCacheDir, when set, is the provider plugin cache
	// (TF_PLUGIN_CACHE_DIR). Init takes an exclusive file lock in the cache
	// directory (this one, or TF_PLUGIN_CACHE_DIR from the environment) so
	// two inits never fill one cache at once.
	PluginCacheDir string
	// Vars are -var assignments ("name=value") given before input.vars, so
	// input.vars win: the platform provider's vars.
	Vars []string
	// CreateWorkspace makes Init create input.workspace when it does not
	// exist instead of failing.
	CreateWorkspace bool
	// Secrets are extra values never to show in errors or logs.
	Secrets []string
	// Log receives one line per step pipe takes (commands with variable
	// names but never values). Nil discards.
	Log func(format string, args ...any)
}

// Workspace runs terraform for one application directory. Its methods must
// not be called concurrently on one Workspace; different Workspaces (even
// over one directory's copies) are independent.
type Workspace struct {
	bin       *Binary
	dir       string
	input     config.TerraformDeploymentInput
	opts      Options
	workspace string
	flags     map[string]*cmdFlags
	baseEnv   map[string]string
	redact    *redactor
	vars      []string
	varFiles  []string
	// planned are the saved plans read here: their sensitive values are
	// in redact.
	planned map[string]bool
}

// Open prepares running bin in the application directory dir with the
// application's input. It checks the input (flags pipe can pass, var
// files present, environment names) but runs nothing.
func Open(bin *Binary, dir string, in config.TerraformDeploymentInput, opts Options) (*Workspace, error) {
	if bin == nil || bin.Path == "" {
		return nil, fmt.Errorf("terraform.Open: no binary given; call FindBinary first")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("application directory %q: %v", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("application directory %s does not exist or is not a directory; check the application's path", abs)
	}
	flags, err := parseFlags(in.CommandFlags.Shared, in.CommandFlags.Init, in.CommandFlags.Plan, in.CommandFlags.Apply)
	if err != nil {
		return nil, err
	}
	w := &Workspace{bin: bin, dir: abs, input: in, opts: opts, flags: flags, redact: &redactor{}, planned: map[string]bool{}}
	w.workspace = strings.TrimSpace(in.Workspace)
	if w.workspace == "" {
		w.workspace = DefaultWorkspace
	}
	for _, s := range opts.Secrets {
		w.redact.add(s)
	}

	for _, l := range []struct {
		name string
		envs []string
	}{{"shared", in.CommandEnvs.Shared}, {"init", in.CommandEnvs.Init}, {"plan", in.CommandEnvs.Plan}, {"apply", in.CommandEnvs.Apply}} {
		for i, kv := range l.envs {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("input.commandEnvs.%s[%d]: not NAME=value; write e.g. \"TF_LOG=INFO\"", l.name, i)
			}
			if p := tfexec.ProhibitedEnv(map[string]string{k: v}); len(p) > 0 {
				hint := "pipe sets it itself"
				if strings.HasPrefix(k, "TF_VAR_") {
					hint = fmt.Sprintf("set the variable with input.vars (\"%s=...\") or input.varFiles instead", strings.TrimPrefix(k, "TF_VAR_"))
				} else if strings.HasPrefix(k, "TF_CLI_ARGS") {
					hint = "use input.commandFlags instead"
				} else if k == "TF_WORKSPACE" {
					hint = "use input.workspace instead"
				}
				return nil, fmt.Errorf("input.commandEnvs.%s[%d]: %s cannot be set: terraform-exec manages it; %s", l.name, i, k, hint)
			}
			if secretName().MatchString(k) {
				w.redact.add(v)
			}
		}
	}

	base := opts.Env
	if base == nil {
		base = os.Environ()
	}
	m, dropped := splitEnv(base)
	for k, v := range m {
		if secretName().MatchString(k) {
			w.redact.add(v)
		}
	}
	if opts.PluginCacheDir != "" {
		m["TF_PLUGIN_CACHE_DIR"] = opts.PluginCacheDir
	}
	w.baseEnv = m
	var notable []string
	for _, k := range dropped {
		if strings.HasPrefix(k, "TF_VAR_") || strings.HasPrefix(k, "TF_CLI_ARGS") || k == "TF_WORKSPACE" {
			notable = append(notable, k)
		}
	}
	if len(notable) > 0 {
		w.logf("not passing %s to %s: terraform-exec manages these; set variables with input.vars or input.varFiles, flags with input.commandFlags, the workspace with input.workspace", strings.Join(notable, ", "), bin.Flavor)
	}

	for i, v := range opts.Vars {
		k, val, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("platform provider vars[%d] %q is not name=value; write e.g. \"project=demo\"", i, flagName(v))
		}
		if secretName().MatchString(k) {
			w.redact.add(val)
		}
	}
	for i, v := range in.Vars {
		k, val, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("input.vars[%d] %q is not name=value; write e.g. \"image_id=ami-abc123\"", i, flagName(v))
		}
		if secretName().MatchString(k) {
			w.redact.add(val)
		}
	}
	w.vars = append(append([]string{}, opts.Vars...), in.Vars...)
	for i, f := range in.VarFiles {
		p := f
		if !filepath.IsAbs(p) {
			p = filepath.Join(abs, f)
		}
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			return nil, fmt.Errorf("input.varFiles[%d] %q: %s is not a file; var files are relative to the application directory", i, f, p)
		}
		w.varFiles = append(w.varFiles, p)
	}
	return w, nil
}

// Dir is the application directory terraform runs in.
func (w *Workspace) Dir() string { return w.dir }

// Name is the Terraform workspace selected by Init.
func (w *Workspace) Name() string { return w.workspace }

// Binary is the binary the workspace runs.
func (w *Workspace) Binary() *Binary { return w.bin }

func (w *Workspace) logf(format string, args ...any) {
	if w.opts.Log != nil {
		w.opts.Log("%s", w.redact.apply(fmt.Sprintf(format, args...)))
	}
}

// phaseEnv is the environment of a command: base + commandEnvs.shared +
// commandEnvs.<phase> ("" for shared only).
func (w *Workspace) phaseEnv(phase string) map[string]string {
	env := make(map[string]string, len(w.baseEnv)+8)
	for k, v := range w.baseEnv {
		env[k] = v
	}
	add := func(l []string) {
		for _, kv := range l {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
	}
	add(w.input.CommandEnvs.Shared)
	switch phase {
	case cmdInit:
		add(w.input.CommandEnvs.Init)
	case cmdPlan:
		add(w.input.CommandEnvs.Plan)
	case cmdApply:
		add(w.input.CommandEnvs.Apply)
	}
	return env
}

// tf returns a terraform-exec handle for one command and a function to
// call when the command is done (it flushes the narration). narrate
// streams terraform's human output to Options.Stdout/Stderr; JSON commands
// do not.
func (w *Workspace) tf(phase string, narrate bool) (*tfexec.Terraform, func(), error) {
	tf, err := tfexec.NewTerraform(w.dir, w.bin.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("running %s in %s: %v", w.bin.Flavor, w.dir, err)
	}
	if err := tf.SetEnv(w.phaseEnv(phase)); err != nil {
		return nil, nil, fmt.Errorf("environment for %s %s: %v", w.bin.Flavor, phase, err)
	}
	var writers []*redactWriter
	if narrate {
		// terraform-exec checks the version (`version -json`) before its
		// first command, through the same writers: check it now, quietly,
		// so that the JSON is not narrated (the result is cached).
		if _, _, err := tf.Version(context.Background(), false); err != nil {
			return nil, nil, fmt.Errorf("running %s in %s: %v", w.bin.Flavor, w.dir, err)
		}
		if w.opts.Stdout != nil {
			rw := &redactWriter{w: w.opts.Stdout, r: w.redact}
			writers = append(writers, rw)
			tf.SetStdout(rw)
		}
		if w.opts.Stderr != nil {
			rw := &redactWriter{w: w.opts.Stderr, r: w.redact}
			writers = append(writers, rw)
			tf.SetStderr(rw)
		}
	}
	return tf, func() {
		for _, rw := range writers {
			rw.flush()
		}
	}, nil
}

// Init runs `init -input=false` with commandFlags.shared+init and
// commandEnvs.shared+init, holding the plugin cache lock when a cache is
// configured, then selects input.workspace (creating it only with
// Options.CreateWorkspace).
func (w *Workspace) Init(ctx context.Context) error {
	tf, done, err := w.tf(cmdInit, true)
	if err != nil {
		return err
	}
	defer done()
	cache := w.phaseEnv(cmdInit)["TF_PLUGIN_CACHE_DIR"]
	if cache != "" {
		w.logf("waiting for the plugin cache lock in %s", cache)
		unlock, err := lockDir(ctx, cache)
		if err != nil {
			return fmt.Errorf("%s init in %s: locking the plugin cache %s: %v", w.bin.Flavor, w.dir, cache, err)
		}
		defer unlock()
	}
	w.logf("%s init -input=false in %s", w.bin.Flavor, w.dir)
	if err := tf.Init(ctx, w.flags[cmdInit].initOptions()...); err != nil {
		return w.translate(cmdInit, err)
	}
	return w.selectWorkspace(ctx)
}

func (w *Workspace) selectWorkspace(ctx context.Context) error {
	tf, done, err := w.tf("", false)
	if err != nil {
		return err
	}
	defer done()
	list, current, err := tf.WorkspaceList(ctx)
	if err != nil {
		return w.translate("workspace list", err)
	}
	if current == w.workspace {
		return nil
	}
	if slices.Contains(list, w.workspace) {
		w.logf("%s workspace select %s", w.bin.Flavor, w.workspace)
		if err := tf.WorkspaceSelect(ctx, w.workspace); err != nil {
			return w.translate("workspace select", err)
		}
		return nil
	}
	if !w.opts.CreateWorkspace {
		sort.Strings(list)
		return &Error{Command: "workspace select", Dir: w.dir, Kind: ErrNoWorkspace,
			Message: fmt.Sprintf("workspace %q (input.workspace) does not exist (existing: %s); create it with `%s workspace new %s` in %s, or set Options.CreateWorkspace",
				w.workspace, strings.Join(list, ", "), w.bin.Flavor, w.workspace, w.dir)}
	}
	w.logf("%s workspace new %s", w.bin.Flavor, w.workspace)
	if err := tf.WorkspaceNew(ctx, w.workspace); err != nil {
		return w.translate("workspace new", err)
	}
	return nil
}

// ErrStalePlan is matched (errors.Is) by Apply's error when the saved plan
// no longer matches the state (another operation changed it since).
var ErrStalePlan = errors.New("saved plan is stale")

// Apply applies exactly the saved plan planFile (-input=false,
// commandFlags.shared+apply, commandEnvs.shared+apply). A plan made before
// the state changed fails with ErrStalePlan: plan again.
func (w *Workspace) Apply(ctx context.Context, planFile string) error {
	if planFile == "" {
		return fmt.Errorf("%s apply in %s: no saved plan file given; run Plan first", w.bin.Flavor, w.dir)
	}
	abs, err := filepath.Abs(planFile)
	if err != nil {
		return fmt.Errorf("saved plan %q: %v", planFile, err)
	}
	if fi, err := os.Stat(abs); err != nil || fi.IsDir() {
		return fmt.Errorf("%s apply in %s: saved plan %s does not exist; run Plan again", w.bin.Flavor, w.dir, abs)
	}
	if !w.planned[abs] {
		// Learn the plan's sensitive values so that the narration and
		// errors of apply hide them.
		if _, err := w.ReadPlan(ctx, abs); err != nil {
			return err
		}
	}
	tf, done, err := w.tf(cmdApply, true)
	if err != nil {
		return err
	}
	defer done()
	w.logf("%s apply -input=false %s in %s", w.bin.Flavor, abs, w.dir)
	opts := append(w.flags[cmdApply].applyOptions(), tfexec.DirOrPlan(abs))
	if err := tf.Apply(ctx, opts...); err != nil {
		return w.translate(cmdApply, err)
	}
	return nil
}

// redactWriter removes secrets from narration line by line.
type redactWriter struct {
	w   io.Writer
	r   *redactor
	buf []byte
}

func (rw *redactWriter) Write(p []byte) (int, error) {
	if len(rw.r.secrets) == 0 {
		return rw.w.Write(p)
	}
	rw.buf = append(rw.buf, p...)
	for {
		i := strings.IndexByte(string(rw.buf), '\n')
		if i < 0 {
			break
		}
		line := rw.r.apply(string(rw.buf[:i+1]))
		rw.buf = rw.buf[i+1:]
		if _, err := io.WriteString(rw.w, line); err != nil {
			return len(p), err
		}
	}
	// Flush long unterminated output so progress is not held back forever.
	if len(rw.buf) > 64<<10 {
		rw.flush()
	}
	return len(p), nil
}

func (rw *redactWriter) flush() {
	if len(rw.buf) == 0 {
		return
	}
	_, _ = io.WriteString(rw.w, rw.r.apply(string(rw.buf)))
	rw.buf = rw.buf[:0]
}
