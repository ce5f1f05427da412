package registry

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/platform"
)

func TestForEveryRegisteredKind(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	flags := AddFlags(fs)
	for _, name := range []string{"kubeconfig", "context", "namespace", "terraform-binary", "mask-all-env", "platform-provider"} {
		if fs.Lookup(name) == nil {
			t.Errorf("no --%s flag", name)
		}
	}
	if err := fs.Parse([]string{"--platform-provider", "prod"}); err != nil {
		t.Fatal(err)
	}
	pfs := New(platform.Env{Root: t.TempDir()}, flags)
	if pfs.env.Provider != "prod" {
		t.Errorf("provider %q", pfs.env.Provider)
	}
	if got := Kinds(); len(got) != 5 || got[0] != config.KindKubernetesApp || got[1] != config.KindTerraformApp || got[2] != config.KindLambdaApp || got[3] != config.KindECSApp || got[4] != config.KindCloudRunApp {
		t.Errorf("kinds %v", got)
	}
	for _, k := range Kinds() {
		p, err := pfs.For(k)
		if err != nil || p == nil {
			t.Errorf("%s: %v", k, err)
		}
		if again, _ := pfs.For(k); again != p {
			t.Errorf("%s: a second platform was built", k)
		}
	}
	_, err := pfs.For(config.Kind("NomadApp"))
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "a NomadApp is not supported by this version of pipe: it deploys KubernetesApp, TerraformApp, LambdaApp, ECSApp and CloudRunApp applications") {
		t.Errorf("err = %v", err)
	}
}
