package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/deploy"
)

func TestFoldStages(t *testing.T) {
	now := time.Unix(1700000000, 0)
	evs := []deploy.Event{
		{Time: now, Message: "deployment D started"},
		{Time: now, Stage: "K8S_CANARY_ROLLOUT", Message: "started"},
		{Time: now, Stage: "K8S_CANARY_ROLLOUT", Message: "succeeded"},
		{Time: now, Stage: "WAIT", Message: "waiting 1m"},
		{Time: now, Message: "rolling back"},
		{Time: now, Stage: "ROLLBACK", Message: "succeeded"},
	}
	for _, c := range []struct {
		provider ci.Provider
		want     string
	}{
		{ci.None, "deployment D started\nstarted\nsucceeded\nwaiting 1m\nrolling back\nsucceeded\n"},
		{ci.GitHub, "deployment D started\n::group::K8S_CANARY_ROLLOUT\nstarted\nsucceeded\n::endgroup::\n::group::WAIT\nwaiting 1m\n::endgroup::\n" +
			"rolling back\n::group::ROLLBACK\nsucceeded\n::endgroup::\n"},
		{ci.GitLab, "deployment D started\n\x1b[0Ksection_start:1700000000:pipe_stage_1_k8s_canary_rollout[collapsed=true]\r\x1b[0KK8S_CANARY_ROLLOUT\nstarted\nsucceeded\n" +
			"\x1b[0Ksection_end:1700000000:pipe_stage_1_k8s_canary_rollout\r\x1b[0K\n"},
	} {
		var buf bytes.Buffer
		a := &app{err: &buf, ci: ci.Context{Provider: c.provider}, env: Env{Now: func() time.Time { return now }}}
		print := func(ev deploy.Event) { buf.WriteString(ev.Message + "\n") }
		events, end := a.foldStages(print)
		for _, ev := range evs {
			events(ev)
		}
		end()
		got := buf.String()
		if c.provider == ci.GitLab {
			got = got[:len(c.want)]
		}
		if got != c.want {
			t.Errorf("%s:\n%q\nwant\n%q", c.provider, got, c.want)
		}
	}
}
