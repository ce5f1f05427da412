package awsemu

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serveControl serves /_awsemu/: failure injection and state for people
// running the emulator out of process (make dev-cloud), and the code
// download URLs GetFunction returns.
func (e *Emulator) serveControl(w http.ResponseWriter, r *http.Request, c *call) {
	q := queryValues(r)
	path := strings.TrimPrefix(r.URL.Path, "/_awsemu/")
	bad := func(msg string) { http.Error(w, msg, http.StatusBadRequest) }
	switch {
	case path == "state" && r.Method == http.MethodGet:
		c.operation = "State"
		writeJSON(w, http.StatusOK, e.Snapshot())
		return
	case strings.HasPrefix(path, "code/") && r.Method == http.MethodGet:
		c.operation = "DownloadCode"
		name, version, _ := strings.Cut(strings.TrimPrefix(path, "code/"), "/")
		c.function = name
		e.mu.Lock()
		var f *Function
		if fn := e.lookup(name); fn != nil {
			f, _ = e.resolve(fn, version)
		}
		var data []byte
		if f != nil {
			data = append(data, f.Code...)
		}
		e.mu.Unlock()
		if f == nil {
			http.Error(w, "no such function version", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/zip")
		_, _ = w.Write(data)
		return
	case r.Method != http.MethodPost:
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	switch path {
	case "fail-next-update":
		c.operation = "FailNextUpdate"
		if q.Get("function") == "" || q.Get("reason") == "" {
			bad("function and reason are required")
			return
		}
		e.FailNextUpdate(q.Get("function"), q.Get("reason"))
	case "throttle":
		c.operation = "Throttle"
		n, err := strconv.Atoi(q.Get("n"))
		if err != nil || n < 0 {
			bad("n must be a non-negative integer")
			return
		}
		e.Throttle(n)
	case "deny":
		c.operation = "Deny"
		e.Deny(q.Get("action"))
	case "fail-tasks":
		c.operation = "FailTasks"
		e.FailTasks(q.Get("image"), q.Get("reason"))
	case "set-desired":
		c.operation = "SetDesiredCount"
		n, err := strconv.Atoi(q.Get("n"))
		if err != nil || n < 0 || n > 1<<20 {
			bad("n must be a non-negative integer")
			return
		}
		if !e.SetDesiredCount(q.Get("cluster"), q.Get("service"), int32(n)) {
			http.Error(w, "no such active service", http.StatusNotFound)
			return
		}
	case "delay":
		c.operation = "Delay"
		d, err := time.ParseDuration(q.Get("d"))
		if err != nil || d < 0 {
			bad("d must be a duration such as 2s")
			return
		}
		e.SetUpdateDelay(d)
	default:
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
