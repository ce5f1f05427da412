package config

import (
	"errors"
	"strings"
	"testing"
)

func TestPlatformProviderFor(t *testing.T) {
	spec := &PipeSpec{PlatformProviders: []PlatformProvider{
		{Name: "dev", Type: PlatformKubernetes, Labels: map[string]string{"env": "dev"}},
		{Name: "prod", Type: PlatformKubernetes, Labels: map[string]string{"env": "prod"}},
		{Name: "prod-2", Type: PlatformKubernetes, Labels: map[string]string{"env": "prod"}},
		{Name: "tf", Type: PlatformTerraform},
	}}
	app := func(labels map[string]string) *App { return &App{Name: "web", Labels: labels} }
	for _, tc := range []struct {
		name   string
		spec   *PipeSpec
		app    *App
		typ    string
		named  string
		want   string
		errHas string
	}{
		{name: "by labels", spec: spec, app: app(map[string]string{"env": "dev", "team": "a"}), typ: PlatformKubernetes, want: "dev"},
		{name: "none matches", spec: spec, app: app(map[string]string{"env": "qa"}), typ: PlatformKubernetes},
		{name: "no labels matches all labels-free", spec: spec, app: app(nil), typ: PlatformTerraform, want: "tf"},
		{name: "type is case-insensitive", spec: spec, app: app(nil), typ: "terraform", want: "tf"},
		{name: "named wins over labels", spec: spec, app: app(map[string]string{"env": "dev"}), typ: PlatformKubernetes, named: "prod", want: "prod"},
		{name: "two match", spec: spec, app: app(map[string]string{"env": "prod"}), typ: PlatformKubernetes, errHas: "2 KUBERNETES platform providers match web: prod, prod-2"},
		{name: "named of another type", spec: spec, app: app(nil), typ: PlatformKubernetes, named: "tf", errHas: `no KUBERNETES platform provider named "tf"`},
		{name: "no config, named", app: app(nil), typ: PlatformKubernetes, named: "x", errHas: "the repository has no .pipe/config.yaml"},
		{name: "no config", app: app(nil), typ: PlatformKubernetes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.spec.PlatformProviderFor(tc.app, tc.typ, tc.named)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) || !errors.Is(err, ErrProviderChoice) {
					t.Fatalf("err = %v, want %q (ErrProviderChoice)", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if p != nil {
				got = p.Name
			}
			if got != tc.want {
				t.Errorf("provider %q, want %q", got, tc.want)
			}
		})
	}
}
