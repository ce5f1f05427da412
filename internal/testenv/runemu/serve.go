package runemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	run "google.golang.org/api/run/v1"
)

const maxBody = 8 << 20

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// ServeHTTP serves the Cloud Run Admin API v1.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			writeError(rec, &apiError{code: http.StatusInternalServerError, status: "INTERNAL", message: fmt.Sprintf("Internal error encountered: %v", p)})
		}
		e.mu.Lock()
		e.requests = append(e.requests, Request{Method: r.Method, Path: r.URL.Path, Status: rec.status})
		e.mu.Unlock()
	}()
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			writeError(rec, invalid("", "Could not read the request body: %v", err))
			return
		}
		if len(b) > maxBody {
			writeError(rec, &apiError{code: http.StatusRequestEntityTooLarge, status: "INVALID_ARGUMENT", message: "Request payload size exceeds the limit."})
			return
		}
		body = b
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settle()
	v, err := e.route(r, body)
	if err != nil {
		writeError(rec, err)
		return
	}
	rec.Header().Set("Content-Type", "application/json; charset=UTF-8")
	b, merr := json.Marshal(v)
	if merr != nil {
		writeError(rec, &apiError{code: http.StatusInternalServerError, status: "INTERNAL", message: merr.Error()})
		return
	}
	rec.WriteHeader(http.StatusOK)
	_, _ = rec.Write(b)
}

func writeError(w http.ResponseWriter, err *apiError) {
	e := map[string]any{"code": err.code, "message": err.message, "status": err.status}
	if len(err.details) > 0 {
		e["details"] = err.details
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(err.code)
	_, _ = w.Write(b)
}

func methodNotFound(r *http.Request) *apiError {
	return &apiError{code: http.StatusNotFound, status: "NOT_FOUND", message: fmt.Sprintf("Method not found: %s %s", r.Method, r.URL.Path)}
}

// route parses apis/serving.knative.dev/v1/namespaces/NS/KIND[/NAME] (and
// the regional v1/projects/P/locations/L/KIND[/NAME]) and serves it.
func (e *Emulator) route(r *http.Request, body []byte) (any, *apiError) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var ns, kind, name string
	switch {
	case len(parts) >= 5 && len(parts) <= 6 && parts[0] == "apis" && parts[1] == "serving.knative.dev" && parts[2] == "v1" && parts[3] == "namespaces":
		ns, kind = parts[4], ""
		if len(parts) == 6 {
			kind = parts[5]
		} else {
			return nil, methodNotFound(r)
		}
	case len(parts) == 7 && parts[0] == "apis" && parts[1] == "serving.knative.dev" && parts[2] == "v1" && parts[3] == "namespaces":
		ns, kind, name = parts[4], parts[5], parts[6]
	case (len(parts) == 6 || len(parts) == 7) && parts[0] == "v1" && parts[1] == "projects" && parts[3] == "locations":
		if parts[4] != e.opts.Region {
			return nil, notFound("LOCATION", parts[4], parts[4], parts[2])
		}
		ns, kind = parts[2], parts[5]
		if len(parts) == 7 {
			name = parts[6]
		}
	default:
		return nil, methodNotFound(r)
	}
	if ns != e.opts.Project && ns != e.opts.ProjectNumber {
		return nil, &apiError{code: http.StatusForbidden, status: "PERMISSION_DENIED",
			message: fmt.Sprintf("Permission denied on resource project %s.", ns)}
	}
	q := r.URL.Query()
	switch kind {
	case "services":
		switch {
		case name == "" && r.Method == http.MethodGet:
			return e.listServices(q.Get("labelSelector"))
		case name == "" && r.Method == http.MethodPost:
			return e.createService(body)
		case name != "" && r.Method == http.MethodGet:
			s, ok := e.services[name]
			if !ok {
				return nil, e.notFound("SERVICE", name)
			}
			return e.serviceObject(s), nil
		case name != "" && r.Method == http.MethodPut:
			return e.replaceService(name, body)
		case name != "" && r.Method == http.MethodDelete:
			return e.deleteService(name)
		}
	case "revisions":
		switch {
		case name == "" && r.Method == http.MethodGet:
			return e.listRevisions(q.Get("labelSelector"))
		case name != "" && r.Method == http.MethodGet:
			rv, ok := e.revisions[name]
			if !ok {
				return nil, e.notFound("REVISION", name)
			}
			return e.revisionObject(rv), nil
		case name != "" && r.Method == http.MethodDelete:
			return e.deleteRevision(name)
		}
	case "routes", "configurations":
		if r.Method != http.MethodGet {
			break
		}
		k := strings.ToUpper(strings.TrimSuffix(kind, "s"))
		obj := func(s *service) any {
			if kind == "routes" {
				return e.routeObject(s)
			}
			return e.configurationObject(s)
		}
		if name != "" {
			s, ok := e.services[name]
			if !ok {
				return nil, e.notFound(k, name)
			}
			return obj(s), nil
		}
		sel, err := parseSelector(q.Get("labelSelector"))
		if err != nil {
			return nil, err
		}
		if kind == "routes" {
			out := &run.ListRoutesResponse{ApiVersion: apiVersion, Kind: "RouteList", Metadata: e.listMeta("routes"), Items: []*run.Route{}}
			for _, n := range e.serviceNames() {
				if o := e.routeObject(e.services[n]); sel.matches(o.Metadata.Labels) {
					out.Items = append(out.Items, o)
				}
			}
			return out, nil
		}
		out := &run.ListConfigurationsResponse{ApiVersion: apiVersion, Kind: "ConfigurationList", Metadata: e.listMeta("configurations"), Items: []*run.Configuration{}}
		for _, n := range e.serviceNames() {
			if o := e.configurationObject(e.services[n]); sel.matches(o.Metadata.Labels) {
				out.Items = append(out.Items, o)
			}
		}
		return out, nil
	}
	return nil, methodNotFound(r)
}

func (e *Emulator) notFound(kind, name string) *apiError {
	return notFound(kind, name, e.opts.Region, e.opts.Project)
}

func (e *Emulator) listMeta(kind string) *run.ListMeta {
	return &run.ListMeta{ResourceVersion: resourceVersion(e.version), SelfLink: "/apis/serving.knative.dev/v1/namespaces/" + e.opts.ProjectNumber + "/" + kind}
}

func (e *Emulator) serviceNames() []string {
	var names []string
	for n := range e.services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// decodeService reads a Service body strictly, as the real API does
// (unknown fields and wrong types are INVALID_ARGUMENT).
func decodeService(body []byte) (*run.Service, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid("", "Invalid JSON payload received. The request body is empty.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var s run.Service
	if err := dec.Decode(&s); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, invalid(te.Field, "Invalid JSON payload received. Invalid value at 'service.%s' (%s): %s", te.Field, te.Value, err)
		}
		if strings.Contains(err.Error(), "unknown field") {
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return nil, invalid(field, "Invalid JSON payload received. Unknown name %q at 'service': Cannot find field.", field)
		}
		return nil, invalid("", "Invalid JSON payload received. %v", err)
	}
	if dec.More() {
		return nil, invalid("", "Invalid JSON payload received. Unexpected data after the object.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid("", "Invalid JSON payload received. Unexpected data after the object.")
	}
	return &s, nil
}

func (e *Emulator) createService(body []byte) (any, *apiError) {
	in, err := decodeService(body)
	if err != nil {
		return nil, err
	}
	if err := e.validateService(in, ""); err != nil {
		return nil, err
	}
	if _, ok := e.services[in.Metadata.Name]; ok {
		return nil, &apiError{code: http.StatusConflict, status: "ALREADY_EXISTS",
			message: fmt.Sprintf("Resource '%s' already exists.", in.Metadata.Name),
			details: []any{map[string]any{"@type": "type.googleapis.com/google.rpc.ResourceInfo", "resourceType": "service", "resourceName": in.Metadata.Name}}}
	}
	s, err := e.put(in, nil)
	if err != nil {
		return nil, err
	}
	return e.serviceObject(s), nil
}

func (e *Emulator) replaceService(name string, body []byte) (any, *apiError) {
	in, err := decodeService(body)
	if err != nil {
		return nil, err
	}
	if err := e.validateService(in, name); err != nil {
		return nil, err
	}
	s, ok := e.services[name]
	if !ok {
		return nil, e.notFound("SERVICE", name)
	}
	if rv := in.Metadata.ResourceVersion; rv != "" && rv != resourceVersion(s.version) {
		return nil, &apiError{code: http.StatusConflict, status: "ABORTED",
			message: fmt.Sprintf("Conflict for resource '%s': version '%s' was specified but current version is '%s'.", name, rv, resourceVersion(s.version))}
	}
	s, err = e.put(in, s)
	if err != nil {
		return nil, err
	}
	return e.serviceObject(s), nil
}

func (e *Emulator) deleteService(name string) (any, *apiError) {
	s, ok := e.services[name]
	if !ok {
		return nil, e.notFound("SERVICE", name)
	}
	for _, rn := range s.revs {
		delete(e.revisions, rn)
	}
	delete(e.services, name)
	e.version++
	return &run.Status{Status: "Success", Details: &run.StatusDetails{Name: name, Group: "serving.knative.dev", Kind: "services", Uid: s.uid}}, nil
}

func (e *Emulator) deleteRevision(name string) (any, *apiError) {
	r, ok := e.revisions[name]
	if !ok {
		return nil, e.notFound("REVISION", name)
	}
	if s := e.services[r.service]; s != nil {
		serving := false
		for _, t := range s.traffic {
			serving = serving || t.RevisionName == name
		}
		for _, t := range s.spec.Traffic {
			serving = serving || t.RevisionName == name
		}
		if serving {
			return nil, &apiError{code: http.StatusBadRequest, status: "FAILED_PRECONDITION",
				message: fmt.Sprintf("Revision '%s' is receiving traffic and cannot be deleted.", name)}
		}
		if lc := e.latestCreated(s); lc != nil && lc.name == name {
			return nil, &apiError{code: http.StatusBadRequest, status: "FAILED_PRECONDITION",
				message: fmt.Sprintf("Revision '%s' is the latest created revision of service '%s' and cannot be deleted.", name, s.name)}
		}
		s.revs = removeString(s.revs, name)
	}
	delete(e.revisions, name)
	e.version++
	return &run.Status{Status: "Success", Details: &run.StatusDetails{Name: name, Group: "serving.knative.dev", Kind: "revisions", Uid: r.uid}}, nil
}

func (e *Emulator) listServices(selector string) (any, *apiError) {
	sel, err := parseSelector(selector)
	if err != nil {
		return nil, err
	}
	out := &run.ListServicesResponse{ApiVersion: apiVersion, Kind: "ServiceList", Metadata: e.listMeta("services"), Items: []*run.Service{}}
	for _, n := range e.serviceNames() {
		if s := e.services[n]; sel.matches(s.labels) {
			out.Items = append(out.Items, e.serviceObject(s))
		}
	}
	return out, nil
}

func (e *Emulator) listRevisions(selector string) (any, *apiError) {
	sel, err := parseSelector(selector)
	if err != nil {
		return nil, err
	}
	var names []string
	for n, r := range e.revisions {
		if sel.matches(r.labels) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := &run.ListRevisionsResponse{ApiVersion: apiVersion, Kind: "RevisionList", Metadata: e.listMeta("revisions"), Items: []*run.Revision{}}
	for _, n := range names {
		out.Items = append(out.Items, e.revisionObject(e.revisions[n]))
	}
	return out, nil
}

// selector is a Kubernetes label selector: k=v, k==v, k!=v, k, !k,
// k in (a,b), k notin (a,b), comma-separated.
type selector []func(map[string]string) bool

func (s selector) matches(labels map[string]string) bool {
	for _, f := range s {
		if !f(labels) {
			return false
		}
	}
	return true
}

func parseSelector(s string) (selector, *apiError) {
	var out selector
	s = strings.TrimSpace(s)
	if s == "" {
		return out, nil
	}
	bad := func() *apiError { return invalid("labelSelector", "labelSelector: Unable to parse %q.", s) }
	// Split on commas outside parentheses.
	var reqs []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				reqs = append(reqs, s[start:i])
				start = i + 1
			}
		}
	}
	reqs = append(reqs, s[start:])
	for _, req := range reqs {
		req = strings.TrimSpace(req)
		switch {
		case req == "":
			return nil, bad()
		case strings.Contains(req, "!="):
			k, v, _ := strings.Cut(req, "!=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			out = append(out, func(l map[string]string) bool { return l[k] != v })
		case strings.Contains(req, "="):
			k, v, _ := strings.Cut(req, "=")
			v = strings.TrimPrefix(v, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if k == "" {
				return nil, bad()
			}
			out = append(out, func(l map[string]string) bool { x, ok := l[k]; return ok && x == v })
		case strings.Contains(req, " in ") || strings.Contains(req, " notin "):
			not := strings.Contains(req, " notin ")
			sep := " in "
			if not {
				sep = " notin "
			}
			k, rest, _ := strings.Cut(req, sep)
			k, rest = strings.TrimSpace(k), strings.TrimSpace(rest)
			if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
				return nil, bad()
			}
			set := map[string]bool{}
			for _, v := range strings.Split(rest[1:len(rest)-1], ",") {
				set[strings.TrimSpace(v)] = true
			}
			out = append(out, func(l map[string]string) bool {
				x, ok := l[k]
				if not {
					return !ok || !set[x]
				}
				return ok && set[x]
			})
		case strings.HasPrefix(req, "!"):
			k := strings.TrimSpace(req[1:])
			out = append(out, func(l map[string]string) bool { _, ok := l[k]; return !ok })
		default:
			if strings.ContainsAny(req, " ()") {
				return nil, bad()
			}
			k := req
			out = append(out, func(l map[string]string) bool { _, ok := l[k]; return ok })
		}
	}
	return out, nil
}
