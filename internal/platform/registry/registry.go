// Package registry maps each application kind to its platform: the one
// place that knows every platform package. Adding a kind is one line in
// kinds.
package registry

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/platform"
	"github.com/gitops-pipe/pipe/internal/platform/cloudrun"
	"github.com/gitops-pipe/pipe/internal/platform/ecs"
	"github.com/gitops-pipe/pipe/internal/platform/kubernetes"
	"github.com/gitops-pipe/pipe/internal/platform/lambda"
	"github.com/gitops-pipe/pipe/internal/platform/terraform"
)

// kinds are the platform kinds of this build, one line each.
func kinds() []platform.Kind {
	return []platform.Kind{
		kubernetes.Kind(),
		terraform.Kind(),
		lambda.Kind(),
		ecs.Kind(),
		cloudrun.Kind(),
	}
}

// Kinds returns the application kinds this build can deploy, in the
// registry's order.
func Kinds() []config.Kind {
	var out []config.Kind
	for _, k := range kinds() {
		out = append(out, k.Kind)
	}
	return out
}

// Flags are the command-line flags of every kind on one command.
type Flags struct {
	provider string
	values   map[config.Kind]any
}

// AddFlags adds to fs the flags of every kind (how to reach its platform)
// and --platform-provider.
func AddFlags(fs *pflag.FlagSet) *Flags {
	f := &Flags{values: map[config.Kind]any{}}
	for _, k := range kinds() {
		if k.Flags != nil {
			f.values[k.Kind] = k.Flags(fs)
		}
	}
	fs.StringVar(&f.provider, "platform-provider", "", "the platform provider of .pipe/config.yaml to deploy to (default: the one of the app's kind whose labels match the app's)")
	return f
}

// Platforms are the platforms of one run, each built when first needed.
type Platforms struct {
	env   platform.Env
	flags *Flags

	mu    sync.Mutex
	built map[config.Kind]*built
}

type built struct {
	p   platform.Platform
	err error
}

// New returns the platforms of one run; flags may be nil (a command
// without platform flags).
func New(env platform.Env, flags *Flags) *Platforms {
	if flags != nil && env.Provider == "" {
		env.Provider = flags.provider
	}
	return &Platforms{env: env, flags: flags, built: map[config.Kind]*built{}}
}

// ErrUnsupported is wrapped by For's error for a kind no platform
// deploys.
var ErrUnsupported = errors.New("not supported by this version of pipe")

// For returns the platform of a kind.
func (p *Platforms) For(kind config.Kind) (platform.Platform, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.built[kind]; b != nil {
		return b.p, b.err
	}
	b := &built{err: fmt.Errorf("%s %s is %w: it deploys %s applications", article(string(kind)), kind, ErrUnsupported, joinAnd(kindNames()))}
	for _, k := range kinds() {
		if k.Kind != kind {
			continue
		}
		var fv any
		if p.flags != nil {
			fv = p.flags.values[kind]
		}
		b.p, b.err = k.New(p.env, fv)
	}
	p.built[kind] = b
	return b.p, b.err
}

func kindNames() []string {
	var out []string
	for _, k := range Kinds() {
		out = append(out, string(k))
	}
	return out
}

// article is "a" or "an" for a word.
func article(word string) string {
	if word != "" && strings.ContainsRune("AEIOUaeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// joinAnd joins "A", "A and B", "A, B and C".
func joinAnd(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// Check reads the files an application's config names as its kind would
// (platform.Kind.Check); nil for kinds without such files.
func Check(root string, app *config.App) config.Diagnostics {
	for _, k := range kinds() {
		if k.Kind == app.Kind && k.Check != nil {
			return k.Check(root, app)
		}
	}
	return nil
}
