package source

import (
	"errors"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
)

func testApp(dir string) *config.App {
	return &config.App{Name: path.Base(dir), Kind: config.KindKubernetesApp, Dir: dir, File: dir + "/app.pipecd.yaml"}
}

// triggers maps an app to its onCommit settings, standing in for the config.
func triggers(t map[*config.App]onCommit) func(*config.App) onCommit {
	return func(a *config.App) onCommit { return t[a] }
}

// PipeCD's TestIsTouchedByChangedFiles (pkg/app/piped/trigger), case for case.
func TestChangedAppsPipeCD(t *testing.T) {
	for _, tc := range []struct {
		name               string
		appDir             string
		includes, excludes []string
		changed            []string
		want               bool
	}{
		{name: "not touched", appDir: "app/demo",
			changed: []string{"app/hello.txt", "app/foo/deployment.yaml"}},
		{name: "not touched in dir whose name does not match exactly", appDir: "app/demo",
			changed: []string{"app/demo-2"}},
		{name: "touched in app dir", appDir: "app/demo",
			changed: []string{"app/hello.txt", "app/demo/deployment.yaml"}, want: true},
		{name: "touched in app dir while not in includes", appDir: "app/demo",
			includes: []string{"charts/demo", "charts/bar/*"},
			changed:  []string{"app/hello.txt", "app/demo/deployment.yaml"}, want: true},
		{name: "touched in app dir but listed in excluded", appDir: "app/demo",
			excludes: []string{"*/hello.txt"},
			changed:  []string{"app/hello.txt", "app/demo/deployment.yaml"}},
		{name: "touched in the includes", appDir: "app/demo",
			includes: []string{"charts/demo", "charts/bar/*"},
			changed:  []string{"app/hello.txt", "charts/bar/deployment.yaml"}, want: true},
		{name: "touched in the includes, not excludes", appDir: "app/demo",
			excludes: []string{"foo/*"}, includes: []string{"charts/demo", "charts/bar/*"},
			changed: []string{"app/hello.txt", "charts/bar/deployment.yaml"}, want: true},
		{name: "touched in the excludes", appDir: "app/demo",
			excludes: []string{"charts/demo", "charts/bar/*"},
			changed:  []string{"app/hello.txt", "charts/bar/deployment.yaml"}},
		{name: "touched in both the excludes and includes", appDir: "app/demo",
			excludes: []string{"charts/demo", "charts/bar/*"}, includes: []string{"charts/bar/deployment.yaml"},
			changed: []string{"app/hello.txt", "charts/bar/deployment.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := testApp(tc.appDir)
			got, err := changedApps([]*config.App{app}, tc.changed,
				triggers(map[*config.App]onCommit{app: {paths: tc.includes, ignores: tc.excludes}}))
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != tc.want {
				t.Errorf("touched = %v, want %v (%+v)", len(got) == 1, tc.want, got)
			}
		})
	}
}

func TestChangedAppsRules(t *testing.T) {
	web, api, root, off, odd := testApp("apps/web"), testApp("apps/api"), testApp("."), testApp("apps/off"), testApp("apps/odd")
	root.File = ".pipe.yaml"
	odd.File = "configs/odd.pipecd.yaml" // a config file outside the app directory
	tr := triggers(map[*config.App]onCommit{
		api: {paths: []string{"libs/api-client/**", "charts/**"}},
		off: {disabled: true},
	})
	changed := []string{"apps/web/b.yaml", "apps/web/a.yaml", "apps/web/app.pipecd.yaml", "apps/web/sub/c.yaml",
		"charts/x/values.yaml", "apps/off/a.yaml", "configs/odd.pipecd.yaml"}
	got, err := changedApps([]*config.App{web, api, root, off, odd}, changed, tr)
	if err != nil {
		t.Fatal(err)
	}
	want := []AppChange{
		{App: web, Rule: RuleAppDir, Files: []string{"apps/web/a.yaml", "apps/web/app.pipecd.yaml", "apps/web/b.yaml"},
			Count: 4, Reason: "4 files changed under apps/web/"},
		{App: api, Rule: RuleTriggerPath, Pattern: "charts/**", Files: []string{"charts/x/values.yaml"}, Count: 1,
			Reason: "matches trigger path charts/**"},
		{App: root, Rule: RuleAppDir, Files: []string{"apps/off/a.yaml", "apps/web/a.yaml", "apps/web/app.pipecd.yaml"},
			Count: 7, Reason: "7 files changed in the repository"},
		{App: odd, Rule: RuleConfigFile, Files: []string{"configs/odd.pipecd.yaml"}, Count: 1,
			Reason: "its configuration file configs/odd.pipecd.yaml changed"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d changes, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.App != w.App || g.Rule != w.Rule || g.Pattern != w.Pattern || !slices.Equal(g.Files, w.Files) ||
			g.Count != w.Count || g.Reason != w.Reason {
			t.Errorf("change %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if c, _ := changedApps([]*config.App{web}, []string{"apps/web/only.yaml"}, tr); c[0].Reason != "1 file changed under apps/web/" {
		t.Errorf("singular reason: %q", c[0].Reason)
	}
}

func TestChangedAppsInvalidPattern(t *testing.T) {
	good, bad := testApp("apps/good"), testApp("apps/bad")
	// The first ignore matches, which vetoes the change; the second is still checked.
	tr := triggers(map[*config.App]onCommit{bad: {paths: []string{"ok/**"}, ignores: []string{"apps/bad/**", "[x-"}}})
	got, err := changedApps([]*config.App{good, bad}, []string{"apps/good/a", "apps/bad/a"}, tr)
	if len(got) != 1 || got[0].App != good {
		t.Errorf("changes = %+v; want only the valid app", got)
	}
	if !errors.Is(err, path.ErrBadPattern) || !strings.Contains(err.Error(), `apps/bad/app.pipecd.yaml: application bad: trigger.onCommit.ignores[1] "[x-"`) {
		t.Errorf("error = %v; want the file, app and pattern named", err)
	}
}
