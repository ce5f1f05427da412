package cli

import (
	"fmt"
	"strings"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/deploy"
)

// foldStages wraps print so that in GitHub Actions (::group::) and GitLab
// CI (collapsible sections) each stage's lines fold under one header;
// lines about the deployment as a whole stay outside. end closes the last
// group. Elsewhere print is returned as is.
func (a *app) foldStages(print func(deploy.Event)) (events func(deploy.Event), end func()) {
	if a.ci.Provider != ci.GitHub && a.ci.Provider != ci.GitLab {
		return print, func() {}
	}
	open, section, n := "", "", 0
	closeGroup := func(ev deploy.Event) {
		if open == "" {
			return
		}
		if a.ci.Provider == ci.GitHub {
			fmt.Fprintln(a.err, "::endgroup::")
		} else {
			fmt.Fprintf(a.err, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", ev.Time.Unix(), section)
		}
		open = ""
	}
	events = func(ev deploy.Event) {
		if ev.Stage != open {
			closeGroup(ev)
			if ev.Stage != "" {
				n++
				open = ev.Stage
				if a.ci.Provider == ci.GitHub {
					fmt.Fprintf(a.err, "::group::%s\n", ev.Stage)
				} else {
					section = fmt.Sprintf("pipe_stage_%d_%s", n, strings.ToLower(strings.NewReplacer(" ", "_", "-", "_").Replace(ev.Stage)))
					fmt.Fprintf(a.err, "\x1b[0Ksection_start:%d:%s[collapsed=true]\r\x1b[0K%s\n", ev.Time.Unix(), section, ev.Stage)
				}
			}
		}
		print(ev)
	}
	return events, func() { closeGroup(deploy.Event{Time: a.env.Now()}) }
}
