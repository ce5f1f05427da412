package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gitops-pipe/pipe/internal/testenv/charts"
)

// fileServer is one script's static HTTP server and the paths it was asked
// for.
type fileServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []string
}

// requests returns the requests since the last call, and forgets them.
func (fs *fileServer) requests() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	reqs := fs.reqs
	fs.reqs = nil
	return reqs
}

// printRequestLog prints "N requests", then each request on a line: the
// output of the servers' "requests" subcommands.
func printRequestLog(ts *testscript.TestScript, reqs []string) {
	_, _ = fmt.Fprintf(ts.Stdout(), "%d requests\n", len(reqs))
	for _, r := range reqs {
		_, _ = fmt.Fprintln(ts.Stdout(), r)
	}
}

// fileServerCmd is the script command that serves a directory of the
// script over plain HTTP on 127.0.0.1 (chart repositories, values files):
//
//	fileserver start DIR   serve $WORK/DIR; set FILES_URL (no trailing slash)
//	fileserver requests    print "N requests", then "METHOD PATH" of each
//	                       request since the last call
//	fileserver stop        stop serving (later requests fail to connect)
func fileServerCmd() func(*testscript.TestScript, bool, []string) {
	var running perScript[*fileServer]
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if neg {
			ts.Fatalf("fileserver cannot be negated")
		}
		if len(args) == 0 {
			ts.Fatalf("usage: fileserver start DIR | requests | stop")
		}
		switch args[0] {
		case "start":
			if len(args) != 2 {
				ts.Fatalf("usage: fileserver start DIR")
			}
			if running.get(ts) != nil {
				ts.Fatalf("fileserver start: one server per script")
			}
			fs := &fileServer{}
			files := http.FileServer(http.Dir(filepath.Join(ts.Getenv("WORK"), args[1])))
			fs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fs.mu.Lock()
				fs.reqs = append(fs.reqs, r.Method+" "+r.URL.Path)
				fs.mu.Unlock()
				files.ServeHTTP(w, r)
			}))
			ts.Defer(fs.srv.Close)
			running.set(ts, fs)
			ts.Setenv("FILES_URL", fs.srv.URL)
		case "requests":
			fs := running.get(ts)
			if fs == nil {
				ts.Fatalf("fileserver requests: no server started")
			}
			printRequestLog(ts, fs.requests())
		case "stop":
			if fs := running.get(ts); fs != nil {
				fs.srv.Close()
			}
		default:
			ts.Fatalf("unknown fileserver command %q", args[0])
		}
	}
}

// helmChartCmd is the script command that makes chart repositories:
//
//	helmchart package SRC OUTDIR   package $WORK/SRC like `helm package`
//	                               into $WORK/OUTDIR
//	helmchart index DIR            write $WORK/DIR/index.yaml like `helm
//	                               repo index`
func helmChartCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("helmchart cannot be negated")
	}
	work := func(p string) string { return filepath.Join(ts.Getenv("WORK"), p) }
	switch {
	case len(args) == 3 && args[0] == "package":
		p, _, err := charts.Package(work(args[1]), work(args[2]))
		ts.Check(err)
		ts.Logf("packaged %s", p)
	case len(args) == 2 && args[0] == "index":
		ts.Check(charts.WriteIndex(work(args[1])))
	default:
		ts.Fatalf("usage: helmchart package SRC OUTDIR | helmchart index DIR")
	}
}

// ociRegistryCmd is the script command that runs an OCI registry
// (go-containerregistry's) on 127.0.0.1:
//
//	ociregistry start [USER PASS]        start it, with basic auth when given;
//	                                     set OCI_HOST (127.0.0.1:port)
//	ociregistry push ARCHIVE REPO:TAG    push $WORK/ARCHIVE like `helm push`
//	ociregistry requests                 print "N requests", then "METHOD PATH"
//	                                     of each request since the last call
//	ociregistry stop                     stop it
func ociRegistryCmd() func(*testscript.TestScript, bool, []string) {
	var running perScript[*charts.Registry]
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if neg {
			ts.Fatalf("ociregistry cannot be negated")
		}
		if len(args) == 0 {
			ts.Fatalf("usage: ociregistry start [USER PASS] | push ARCHIVE REPO:TAG | requests | stop")
		}
		reg := running.get(ts)
		if args[0] != "start" && reg == nil {
			ts.Fatalf("ociregistry %s: no registry started", args[0])
		}
		switch {
		case args[0] == "start" && (len(args) == 1 || len(args) == 3):
			if reg != nil {
				ts.Fatalf("ociregistry start: one registry per script")
			}
			user, pass := "", ""
			if len(args) == 3 {
				user, pass = args[1], args[2]
			}
			reg = charts.StartRegistry(user, pass)
			ts.Defer(reg.Close)
			running.set(ts, reg)
			ts.Setenv("OCI_HOST", reg.Host)
		case args[0] == "push" && len(args) == 3:
			repo, tag, ok := strings.Cut(args[2], ":")
			if !ok {
				ts.Fatalf("usage: ociregistry push ARCHIVE REPO:TAG")
			}
			_, err := reg.Push(filepath.Join(ts.Getenv("WORK"), args[1]), repo, tag)
			ts.Check(err)
		case args[0] == "requests" && len(args) == 1:
			printRequestLog(ts, reg.Requests())
		case args[0] == "stop" && len(args) == 1:
			reg.Close()
		default:
			ts.Fatalf("usage: ociregistry start [USER PASS] | push ARCHIVE REPO:TAG | requests | stop")
		}
	}
}
