package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/report"
)

func TestDriftOutputs(t *testing.T) {
	rep := &drift.Report{Apps: []drift.AppResult{
		{App: "web", Status: drift.OutOfSync},
		{App: "api", Status: drift.InSync},
		{App: "db", Status: drift.Failed},
		{App: "fn", Status: drift.Skipped},
		{App: `we"ird`, Status: drift.OutOfSync},
	}}
	outs := driftOutputs(rep)
	dir := t.TempDir()
	env := filepath.Join(dir, "drift.env")
	if err := report.WriteDotenv(env, outs); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(env)
	want := `PIPE_DRIFTED=true
PIPE_DRIFTED_APPS=["web","we\"ird"]
PIPE_FAILED_APPS=["db"]
PIPE_CHECKED_COUNT=5
PIPE_IN_SYNC_COUNT=1
PIPE_DRIFTED_COUNT=2
PIPE_FAILED_COUNT=1
PIPE_SKIPPED_COUNT=1
`
	if string(got) != want {
		t.Errorf("dotenv:\n%s\nwant:\n%s", got, want)
	}
	gh := filepath.Join(dir, "outputs")
	if err := report.WriteGitHubOutputs(gh, githubOutputNames(outs)); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(gh)
	want = `drifted=true
drifted-apps=["web","we\"ird"]
failed-apps=["db"]
checked-count=5
in-sync-count=1
drifted-count=2
failed-count=1
skipped-count=1
`
	if string(got) != want {
		t.Errorf("step outputs:\n%s\nwant:\n%s", got, want)
	}

	// Nothing checked: false and empty arrays, never null.
	outs = driftOutputs(&drift.Report{})
	if outs[0].Value != "false" || outs[1].Value != "[]" || outs[2].Value != "[]" || outs[3].Value != "0" {
		t.Errorf("empty report: %+v", outs)
	}
}
