package terraform

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// Terraform commands pipe runs with user flags.
const (
	cmdInit  = "init"
	cmdPlan  = "plan"
	cmdApply = "apply"
)

// cmdFlags are the user flags of one command (commandFlags.shared plus the
// command's own list) translated to terraform-exec options.
type cmdFlags struct {
	lock           *bool
	lockTimeout    string
	parallelism    int
	refresh        *bool
	upgrade        bool
	reconfigure    bool
	forceCopy      bool
	backend        *bool
	get            *bool
	backendConfigs []string
	pluginDirs     []string
	replace        []string
	targets        []string
	vars           []string
	varFiles       []string
}

// flagSpec describes one supported flag: the commands accepting it and how
// it is recorded.
type flagSpec struct {
	commands []string
	kind     string // "bool", "string", "duration", "int"
	set      func(f *cmdFlags, v string) error
}

func boolPtr(b bool) *bool { return &b }

var flagSpecs = map[string]flagSpec{
	// terraform-exec refuses -lock and -lock-timeout for init (>= 0.15).
	"lock": {[]string{cmdPlan, cmdApply}, "bool", func(f *cmdFlags, v string) error {
		b, err := strconv.ParseBool(v)
		f.lock = boolPtr(b)
		return err
	}},
	"lock-timeout": {[]string{cmdPlan, cmdApply}, "duration", func(f *cmdFlags, v string) error {
		if _, err := time.ParseDuration(v); err != nil {
			return fmt.Errorf("%q is not a duration like 30s or 5m", v)
		}
		f.lockTimeout = v
		return nil
	}},
	"parallelism": {[]string{cmdPlan, cmdApply}, "int", func(f *cmdFlags, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not a positive number", v)
		}
		f.parallelism = n
		return nil
	}},
	"refresh": {[]string{cmdPlan}, "bool", func(f *cmdFlags, v string) error {
		b, err := strconv.ParseBool(v)
		f.refresh = boolPtr(b)
		return err
	}},
	"upgrade": {[]string{cmdInit}, "bool", func(f *cmdFlags, v string) error {
		b, err := strconv.ParseBool(v)
		f.upgrade = b
		return err
	}},
	"reconfigure": {[]string{cmdInit}, "bool", func(f *cmdFlags, v string) error {
		b, err := strconv.ParseBool(v)
		f.reconfigure = b
		return err
	}},
	"force-copy": {[]string{cmdInit}, "bool", func(f *cmdFlags, v string) error {
		b, err := strconv.ParseBool(v)
		f.forceCopy = b
		return err
	}},
	"backend": {[]string{cmdInit}, "bool", func(f *cmdFlags, v string) error {
		b, err := strconv.ParseBool(v)
		f.backend = boolPtr(b)
		return err
	}},
	"get": {[]string{cmdInit}, "bool", func(f *cmdFlags, v string) error {
		b, err := strconv.ParseBool(v)
		f.get = boolPtr(b)
		return err
	}},
	"backend-config": {[]string{cmdInit}, "string", func(f *cmdFlags, v string) error {
		f.backendConfigs = append(f.backendConfigs, v)
		return nil
	}},
	"plugin-dir": {[]string{cmdInit}, "string", func(f *cmdFlags, v string) error {
		f.pluginDirs = append(f.pluginDirs, v)
		return nil
	}},
	"replace": {[]string{cmdPlan}, "string", func(f *cmdFlags, v string) error {
		f.replace = append(f.replace, v)
		return nil
	}},
	"target": {[]string{cmdPlan}, "string", func(f *cmdFlags, v string) error {
		f.targets = append(f.targets, v)
		return nil
	}},
	"var": {[]string{cmdPlan}, "string", func(f *cmdFlags, v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("write -var=name=value")
		}
		f.vars = append(f.vars, v)
		return nil
	}},
	"var-file": {[]string{cmdPlan}, "string", func(f *cmdFlags, v string) error {
		f.varFiles = append(f.varFiles, v)
		return nil
	}},
}

// ignoredFlags are flags pipe always sets itself; writing them is harmless.
var ignoredFlags = map[string]bool{"no-color": true, "input": true, "compact-warnings": true, "auto-approve": true, "detailed-exitcode": true}

func supportedFlags(cmd string) string {
	var names []string
	for _, n := range sortedKeys(flagSpecs) {
		for _, c := range flagSpecs[n].commands {
			if c == cmd {
				names = append(names, "-"+n)
			}
		}
	}
	return strings.Join(names, ", ")
}

// parseFlags translates commandFlags.shared and commandFlags.<cmd> into the
// flags of each command. A shared flag goes to every command accepting it.
func parseFlags(shared, initF, planF, applyF []string) (map[string]*cmdFlags, error) {
	out := map[string]*cmdFlags{cmdInit: {}, cmdPlan: {}, cmdApply: {}}
	for i, raw := range shared {
		name, val, err := splitFlag(raw)
		if err != nil {
			return nil, fmt.Errorf("input.commandFlags.shared[%d] %q: %v", i, raw, err)
		}
		if ignoredFlags[name] {
			continue
		}
		spec, ok := flagSpecs[name]
		if !ok {
			return nil, fmt.Errorf("input.commandFlags.shared[%d] %q: pipe runs terraform through terraform-exec, which does not pass this flag; supported: init %s; plan %s; apply %s",
				i, flagName(raw), supportedFlags(cmdInit), supportedFlags(cmdPlan), supportedFlags(cmdApply))
		}
		for _, c := range spec.commands {
			if err := setFlag(out[c], spec, val); err != nil {
				return nil, fmt.Errorf("input.commandFlags.shared[%d] %q: %v", i, flagName(raw), err)
			}
		}
	}
	for _, l := range []struct {
		cmd   string
		flags []string
	}{{cmdInit, initF}, {cmdPlan, planF}, {cmdApply, applyF}} {
		for i, raw := range l.flags {
			name, val, err := splitFlag(raw)
			if err != nil {
				return nil, fmt.Errorf("input.commandFlags.%s[%d] %q: %v", l.cmd, i, raw, err)
			}
			if ignoredFlags[name] {
				continue
			}
			spec, ok := flagSpecs[name]
			accepted := false
			for _, c := range spec.commands {
				accepted = accepted || c == l.cmd
			}
			if !ok || !accepted {
				return nil, fmt.Errorf("input.commandFlags.%s[%d] %q: pipe runs terraform through terraform-exec, which does not pass this flag to %s; supported: %s",
					l.cmd, i, flagName(raw), l.cmd, supportedFlags(l.cmd))
			}
			if err := setFlag(out[l.cmd], spec, val); err != nil {
				return nil, fmt.Errorf("input.commandFlags.%s[%d] %q: %v", l.cmd, i, flagName(raw), err)
			}
		}
	}
	return out, nil
}

func setFlag(f *cmdFlags, spec flagSpec, val *string) error {
	if val == nil {
		if spec.kind != "bool" {
			return fmt.Errorf("needs a value: write it -name=value in one list item")
		}
		v := "true"
		val = &v
	}
	if err := spec.set(f, *val); err != nil {
		return err
	}
	return nil
}

// splitFlag splits "-name=value" / "--name=value" / "-name".
func splitFlag(raw string) (string, *string, error) {
	s := strings.TrimSpace(raw)
	if !strings.HasPrefix(s, "-") {
		return "", nil, fmt.Errorf("not a flag: flags start with - (e.g. -lock-timeout=60s); write the flag and its value in one item")
	}
	s = strings.TrimLeft(s, "-")
	name, val, ok := strings.Cut(s, "=")
	if name == "" {
		return "", nil, fmt.Errorf("empty flag name")
	}
	if !ok {
		return name, nil, nil
	}
	return name, &val, nil
}

// flagName is the flag without its value (values may be secret).
func flagName(raw string) string {
	n, _, _ := strings.Cut(strings.TrimSpace(raw), "=")
	return n
}

func (f *cmdFlags) initOptions() []tfexec.InitOption {
	var o []tfexec.InitOption
	if f.upgrade {
		o = append(o, tfexec.Upgrade(true))
	}
	if f.reconfigure {
		o = append(o, tfexec.Reconfigure(true))
	}
	if f.forceCopy {
		o = append(o, tfexec.ForceCopy(true))
	}
	if f.backend != nil {
		o = append(o, tfexec.Backend(*f.backend))
	}
	if f.get != nil {
		o = append(o, tfexec.Get(*f.get))
	}
	for _, b := range f.backendConfigs {
		o = append(o, tfexec.BackendConfig(b))
	}
	for _, p := range f.pluginDirs {
		o = append(o, tfexec.PluginDir(p))
	}
	return o
}

func (f *cmdFlags) planOptions() []tfexec.PlanOption {
	var o []tfexec.PlanOption
	if f.lock != nil {
		o = append(o, tfexec.Lock(*f.lock))
	}
	if f.lockTimeout != "" {
		o = append(o, tfexec.LockTimeout(f.lockTimeout))
	}
	if f.parallelism > 0 {
		o = append(o, tfexec.Parallelism(f.parallelism))
	}
	if f.refresh != nil {
		o = append(o, tfexec.Refresh(*f.refresh))
	}
	for _, r := range f.replace {
		o = append(o, tfexec.Replace(r))
	}
	for _, t := range f.targets {
		o = append(o, tfexec.Target(t))
	}
	for _, v := range f.varFiles {
		o = append(o, tfexec.VarFile(v))
	}
	for _, v := range f.vars {
		o = append(o, tfexec.Var(v))
	}
	return o
}

func (f *cmdFlags) applyOptions() []tfexec.ApplyOption {
	var o []tfexec.ApplyOption
	if f.lock != nil {
		o = append(o, tfexec.Lock(*f.lock))
	}
	if f.lockTimeout != "" {
		o = append(o, tfexec.LockTimeout(f.lockTimeout))
	}
	if f.parallelism > 0 {
		o = append(o, tfexec.Parallelism(f.parallelism))
	}
	return o
}
