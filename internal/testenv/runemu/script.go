package runemu

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

const scriptUsage = `usage: runemu start [readyDelay] | service NAME | revisions NAME | fail-revision IMAGE MESSAGE... |
       set-traffic NAME REV:PCT... | calls METHOD PATHSUBSTRING`

// ScriptCmd is the testscript command that runs a Cloud Run emulator per script:
//
//	runemu start [readyDelay]        start one (ReadyDelay readyDelay, default 0); set
//	                                 PIPE_CLOUDRUN_ENDPOINT, PIPE_CLOUDRUN_PROJECT and
//	                                 GOOGLE_APPLICATION_CREDENTIALS (to a path under $WORK that
//	                                 does not exist)
//	runemu service NAME              print "ready=B gen=N image=I traffic=REV:PCT,..." (status order)
//	runemu revisions NAME            print "REV ready=B image=I" per revision, sorted
//	runemu fail-revision IMAGE MESSAGE...  make new revisions of IMAGE fail with MESSAGE ("" clears)
//	runemu set-traffic NAME REV:PCT...     change spec.traffic out of band (REV "latest" is
//	                                       latestRevision: true; REV may end in @TAG)
//	runemu calls METHOD PATHSUBSTRING      print how many METHOD requests had a path containing PATHSUBSTRING
func ScriptCmd() func(ts *testscript.TestScript, neg bool, args []string) {
	var mu sync.Mutex
	emus := map[*testscript.TestScript]*Emulator{}
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) == 0 {
			ts.Fatalf("%s", scriptUsage)
		}
		mu.Lock()
		e := emus[ts]
		mu.Unlock()
		if args[0] != "start" && e == nil {
			ts.Fatalf("runemu start first")
		}
		if neg && args[0] != "set-traffic" {
			ts.Fatalf("runemu %s does not support !", args[0])
		}
		want := func(n int) {
			if len(args) != n {
				ts.Fatalf("%s", scriptUsage)
			}
		}
		out := ts.Stdout()
		switch args[0] {
		case "start":
			if e != nil {
				ts.Fatalf("runemu already started")
			}
			if len(args) > 2 {
				ts.Fatalf("%s", scriptUsage)
			}
			var delay time.Duration
			if len(args) == 2 {
				d, err := time.ParseDuration(args[1])
				ts.Check(err)
				delay = d
			}
			emu, srv := Start(Options{ReadyDelay: delay})
			ts.Defer(srv.Close)
			ts.Defer(func() {
				mu.Lock()
				delete(emus, ts)
				mu.Unlock()
			})
			mu.Lock()
			emus[ts] = emu
			mu.Unlock()
			ts.Setenv("PIPE_CLOUDRUN_ENDPOINT", srv.URL)
			ts.Setenv("PIPE_CLOUDRUN_PROJECT", emu.Project())
			ts.Setenv("GOOGLE_APPLICATION_CREDENTIALS", ts.MkAbs("gcloud-credentials-do-not-exist.json"))
		case "service":
			want(2)
			s, ok := e.Service(args[1])
			if !ok {
				ts.Fatalf("no service %s", args[1])
			}
			fmt.Fprintln(out, FormatService(s))
		case "revisions":
			want(2)
			for _, r := range e.Revisions(args[1]) {
				fmt.Fprintf(out, "%s ready=%t image=%s\n", r.Name, r.Ready, r.Image)
			}
		case "fail-revision":
			if len(args) < 3 {
				ts.Fatalf("%s", scriptUsage)
			}
			e.FailRevision(args[1], strings.Join(args[2:], " "))
		case "set-traffic":
			if len(args) < 3 {
				ts.Fatalf("%s", scriptUsage)
			}
			var t []Traffic
			for _, a := range args[2:] {
				rev, pct, ok := strings.Cut(a, ":")
				n, err := strconv.ParseInt(pct, 10, 64)
				if !ok || err != nil {
					ts.Fatalf("set-traffic: %q is not REV:PCT", a)
				}
				tt := Traffic{RevisionName: rev, Percent: n}
				if r, tag, ok := strings.Cut(rev, "@"); ok {
					tt.RevisionName, tt.Tag = r, tag
				}
				if tt.RevisionName == "latest" {
					tt.RevisionName, tt.LatestRevision = "", true
				}
				t = append(t, tt)
			}
			err := e.SetTraffic(args[1], t)
			switch {
			case neg && err == nil:
				ts.Fatalf("set-traffic succeeded")
			case !neg && err != nil:
				ts.Fatalf("set-traffic: %v", err)
			case err != nil:
				fmt.Fprintln(ts.Stderr(), err)
			}
		case "calls":
			want(3)
			n := 0
			for _, r := range e.Requests() {
				if r.Method == args[1] && strings.Contains(r.Path, args[2]) {
					n++
				}
			}
			fmt.Fprintln(out, n)
		default:
			ts.Fatalf("%s", scriptUsage)
		}
	}
}

// FormatService is the line `runemu service` prints:
// ready=true gen=3 image=IMAGE traffic=REV:PCT,... (status order; a tag as REV@TAG:PCT).
func FormatService(s Service) string {
	var tr []string
	for _, t := range s.Traffic {
		name := t.RevisionName
		if t.Tag != "" {
			name += "@" + t.Tag
		}
		tr = append(tr, fmt.Sprintf("%s:%d", name, t.Percent))
	}
	return fmt.Sprintf("ready=%t gen=%d image=%s traffic=%s", s.Ready, s.Generation, s.Image, strings.Join(tr, ","))
}
