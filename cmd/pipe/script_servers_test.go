package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

// fileServer is one script's static HTTP server and the paths it was asked
// for.
type fileServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []string
}

// fileServerCmd is the script command that serves a directory of the
// script over plain HTTP on 127.0.0.1 (chart repositories, values files):
//
//	fileserver start DIR   serve $WORK/DIR; set FILES_URL (no trailing slash)
//	fileserver requests    print "METHOD PATH" of every request so far, and
//	                       forget them
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
			fs.mu.Lock()
			for _, r := range fs.reqs {
				_, _ = ts.Stdout().Write([]byte(r + "\n"))
			}
			fs.reqs = nil
			fs.mu.Unlock()
		case "stop":
			if fs := running.get(ts); fs != nil {
				fs.srv.Close()
			}
		default:
			ts.Fatalf("unknown fileserver command %q", args[0])
		}
	}
}
