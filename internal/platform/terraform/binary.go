package terraform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/terraform-exec/tfexec"
)

// Flavors of binary pipe drives.
const (
	FlavorTerraform = "terraform"
	FlavorTofu      = "tofu"
)

// Binary is a terraform or tofu executable whose version is known.
type Binary struct {
	// Path is the absolute path of the executable.
	Path string
	// Flavor is FlavorTerraform or FlavorTofu.
	Flavor string
	// Version is the version the binary reports (`version -json`).
	Version *version.Version
}

// String returns e.g. "terraform 1.11.4 at /usr/local/bin/terraform".
func (b *Binary) String() string {
	if b == nil {
		return "<no binary>"
	}
	v := "(unknown version)"
	if b.Version != nil {
		v = b.Version.String()
	}
	return fmt.Sprintf("%s %s at %s", b.Flavor, v, b.Path)
}

// FindOptions say which binary FindBinary looks for.
type FindOptions struct {
	// Binary is an explicit path ("/opt/tf/terraform", "./bin/tofu") or a
	// name looked up in PATH ("tofu", "terraform1.11"), e.g. from a flag or
	// the platform provider config. Empty means: look up "terraform" then
	// "tofu" in PATH (the reverse with PreferTofu).
	Binary string
	// BinarySource says where Binary was set (e.g. "--terraform-binary" or
	// "pipe.yaml platformProviders[0].config.binary"), for error messages.
	BinarySource string
	// PreferTofu looks up "tofu" before "terraform" in PATH.
	PreferTofu bool
	// VersionConstraint is input.terraformVersion: a version ("1.11.4") or
	// a go-version constraint ("~> 1.10", ">= 1.5, < 2"). Empty accepts any
	// version.
	VersionConstraint string
	// ConstraintSource says where VersionConstraint was written (e.g.
	// "apps/net/app.pipecd.yaml"), for error messages.
	ConstraintSource string
	// Env is the environment the binary runs with (its PATH is searched).
	// Nil means the environment of this process.
	Env []string
}

// ErrBinaryNotFound is matched (errors.Is) by the error FindBinary returns
// when no terraform/tofu executable is found.
var ErrBinaryNotFound = errors.New("terraform binary not found")

// ErrVersionMismatch is matched (errors.Is) by the error FindBinary returns
// when the binary found does not satisfy input.terraformVersion.
var ErrVersionMismatch = errors.New("terraform version does not satisfy input.terraformVersion")

// FindBinary finds the terraform or tofu executable to run and checks its
// version against opts.VersionConstraint. pipe never downloads binaries:
// a missing or unsuitable binary is an error saying what to install.
func FindBinary(ctx context.Context, opts FindOptions) (*Binary, error) {
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	var constraints version.Constraints
	if c := strings.TrimSpace(opts.VersionConstraint); c != "" {
		var err error
		constraints, err = parseConstraint(c)
		if err != nil {
			return nil, fmt.Errorf("input.terraformVersion %q%s is not a version or a version constraint: %v; write e.g. \"1.11.4\", \"~> 1.10\" or \">= 1.5, < 2\"",
				c, sourceSuffix(opts.ConstraintSource), err)
		}
	}

	var path string
	if opts.Binary != "" {
		p, err := lookPath(opts.Binary, envValue(env, "PATH"))
		if err != nil {
			from := ""
			if opts.BinarySource != "" {
				from = " (set by " + opts.BinarySource + ")"
			}
			return nil, fmt.Errorf("%w: %q%s: %v; install Terraform (https://developer.hashicorp.com/terraform/install) or OpenTofu (https://opentofu.org/docs/intro/install/), or fix the path", ErrBinaryNotFound, opts.Binary, from, err)
		}
		path = p
	} else {
		names := []string{"terraform", "tofu"}
		if opts.PreferTofu {
			names = []string{"tofu", "terraform"}
		}
		for _, n := range names {
			if p, err := lookPath(n, envValue(env, "PATH")); err == nil {
				path = p
				break
			}
		}
		if path == "" {
			return nil, fmt.Errorf("%w: neither %q nor %q is in PATH (%s); install Terraform (https://developer.hashicorp.com/terraform/install) or OpenTofu (https://opentofu.org/docs/intro/install/) and put it in PATH, or give its path explicitly; pipe never downloads binaries itself",
				ErrBinaryNotFound, names[0], names[1], shortPath(envValue(env, "PATH")))
		}
	}

	bin, err := inspectBinary(ctx, path, env)
	if err != nil {
		return nil, err
	}
	if constraints != nil && !constraints.Check(bin.Version.Core()) {
		return nil, &kindError{kind: ErrVersionMismatch, msg: fmt.Sprintf("%s does not satisfy input.terraformVersion %s%s: install a matching version and put it first in PATH, give its path explicitly, or change input.terraformVersion",
			bin, opts.VersionConstraint, sourceSuffix(opts.ConstraintSource))}
	}
	return bin, nil
}

// parseConstraint accepts a bare version ("1.11.4", "v1.11.4") as "= 1.11.4".
func parseConstraint(c string) (version.Constraints, error) {
	if v, err := version.NewVersion(c); err == nil {
		return version.NewConstraint("= " + v.String())
	}
	return version.NewConstraint(c)
}

func inspectBinary(ctx context.Context, path string, env []string) (*Binary, error) {
	tf, err := tfexec.NewTerraform(os.TempDir(), path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBinaryNotFound, path, err)
	}
	if err := tf.SetEnv(cleanEnvMap(env)); err != nil {
		return nil, fmt.Errorf("preparing the environment of %s: %v", path, err)
	}
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, _, err := tf.Version(vctx, true)
	if err != nil {
		return nil, fmt.Errorf("%s is not a working terraform/tofu binary: `%s version -json` failed: %s; reinstall it or choose another binary",
			path, filepath.Base(path), firstLines(err.Error(), 3))
	}
	return &Binary{Path: path, Flavor: detectFlavor(vctx, path, env), Version: v}, nil
}

// detectFlavor tells OpenTofu from Terraform by the product name the binary
// prints first in `version` (the JSON form does not carry it).
func detectFlavor(ctx context.Context, path string, env []string) string {
	cmd := exec.CommandContext(ctx, path, "version")
	cmd.Env = append(tfexecSafeEnv(env), "CHECKPOINT_DISABLE=1")
	out, err := cmd.Output()
	if err == nil && bytes.HasPrefix(bytes.TrimSpace(out), []byte("OpenTofu")) {
		return FlavorTofu
	}
	if err != nil && strings.Contains(strings.ToLower(filepath.Base(path)), "tofu") {
		return FlavorTofu
	}
	return FlavorTerraform
}

// lookPath resolves name like exec.LookPath but against the given PATH.
func lookPath(name, pathEnv string) (string, error) {
	if strings.ContainsRune(name, os.PathSeparator) || strings.ContainsRune(name, '/') {
		abs, err := filepath.Abs(name)
		if err != nil {
			return "", err
		}
		if err := checkExecutable(abs); err != nil {
			return "", err
		}
		return abs, nil
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if checkExecutable(p) == nil {
			abs, err := filepath.Abs(p)
			if err != nil {
				return "", err
			}
			return abs, nil
		}
	}
	return "", fmt.Errorf("not found in PATH (%s)", shortPath(pathEnv))
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s does not exist", p)
		}
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", p)
	}
	if fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not executable (chmod +x it)", p)
	}
	return nil
}

func shortPath(p string) string {
	if p == "" {
		return "PATH is empty"
	}
	if len(p) > 300 {
		return p[:300] + "..."
	}
	return p
}

func sourceSuffix(src string) string {
	if src == "" {
		return ""
	}
	return " (" + src + ")"
}

func envValue(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " ")
}

// kindError is a message matching (errors.Is) a sentinel without repeating
// the sentinel's text.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }
