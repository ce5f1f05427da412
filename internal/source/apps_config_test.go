package source

import (
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
)

// ChangedApps reads trigger.onCommit from the application's spec, and the
// deprecated triggerPaths when onCommit.paths is empty.
func TestChangedAppsReadsSpec(t *testing.T) {
	spec := func(oc config.OnCommit, legacy ...string) config.AppSpec {
		return &config.GenericApplicationSpec{Name: "x", Trigger: config.Trigger{OnCommit: oc}, TriggerPaths: legacy}
	}
	app := func(dir string, s config.AppSpec) *config.App {
		a := testApp(dir)
		a.Spec = s
		return a
	}
	paths := app("apps/paths", spec(config.OnCommit{Paths: []string{"charts/**"}}))
	legacy := app("apps/legacy", spec(config.OnCommit{}, "charts/*"))
	disabled := app("apps/disabled", spec(config.OnCommit{Disabled: true}))
	ignored := app("apps/ignored", spec(config.OnCommit{Ignores: []string{"**/*.md"}}))
	nospec := app("apps/nospec", nil)
	got, err := ChangedApps([]*config.App{paths, legacy, disabled, ignored, nospec},
		[]string{"apps/disabled/a", "apps/ignored/a", "apps/ignored/README.md", "apps/nospec/a", "charts/web/values.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range got {
		names = append(names, c.App.Name+":"+string(c.Rule))
	}
	want := "paths:trigger-path legacy:trigger-path nospec:app-dir"
	if s := strings.Join(names, " "); s != want {
		t.Errorf("changed apps = %s, want %s", s, want)
	}
}
