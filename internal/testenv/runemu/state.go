package runemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	run "google.golang.org/api/run/v1"
)

const (
	apiVersion = "serving.knative.dev/v1"
	creator    = "pipe@pipe-emulator.iam.gserviceaccount.com"
)

var dnsLabel = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

// apiError is an error as Google APIs return them.
type apiError struct {
	code    int
	status  string
	message string
	details []any
}

func (e *apiError) Error() string { return e.message }

func invalid(field, format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	err := &apiError{code: http.StatusBadRequest, status: "INVALID_ARGUMENT", message: msg}
	if field != "" {
		err.details = []any{map[string]any{
			"@type":           "type.googleapis.com/google.rpc.BadRequest",
			"fieldViolations": []any{map[string]any{"field": field, "description": msg}},
		}}
	}
	return err
}

func notFound(kind, name, region, project string) *apiError {
	return &apiError{
		code:    http.StatusNotFound,
		status:  "NOT_FOUND",
		message: fmt.Sprintf("Resource '%s' of kind '%s' in region '%s' in project '%s' does not exist.", name, kind, region, project),
		details: []any{map[string]any{
			"@type":        "type.googleapis.com/google.rpc.ResourceInfo",
			"resourceType": strings.ToLower(kind),
			"resourceName": name,
		}},
	}
}

func (e *Emulator) newUID() string {
	e.uids++
	h := hashN(32, e.opts.Project, strconv.Itoa(e.uids))
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (e *Emulator) defaultTemplate(t *run.RevisionTemplate) {
	if t.Metadata == nil {
		t.Metadata = &run.ObjectMeta{}
	}
	sp := t.Spec
	if sp.ContainerConcurrency == 0 {
		sp.ContainerConcurrency = 80
	}
	if sp.TimeoutSeconds == 0 {
		sp.TimeoutSeconds = 300
	}
	if sp.ServiceAccountName == "" {
		sp.ServiceAccountName = e.opts.ProjectNumber + "-compute@developer.gserviceaccount.com"
	}
	for i, c := range sp.Containers {
		if i == 0 && len(c.Ports) == 0 {
			c.Ports = []*run.ContainerPort{{Name: "http1", ContainerPort: 8080}}
		}
		if c.Resources == nil {
			c.Resources = &run.ResourceRequirements{}
		}
		if c.Resources.Limits == nil {
			c.Resources.Limits = map[string]string{"cpu": "1000m", "memory": "512Mi"}
		}
	}
}

func canonical(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// validateService checks what create and replace receive, and defaults its template.
func (e *Emulator) validateService(in *run.Service, pathName string) *apiError {
	if in.ApiVersion != "" && in.ApiVersion != apiVersion {
		return invalid("apiVersion", "apiVersion: Unsupported API version %q, want %q.", in.ApiVersion, apiVersion)
	}
	if in.Kind != "" && in.Kind != "Service" {
		return invalid("kind", "kind: Unsupported kind %q, want \"Service\".", in.Kind)
	}
	if in.Metadata == nil || in.Metadata.Name == "" {
		return invalid("metadata.name", "metadata.name: Required field is not set.")
	}
	name := in.Metadata.Name
	if pathName != "" && name != pathName {
		return invalid("metadata.name", "metadata.name: Name %q does not match the name in the request URL %q.", name, pathName)
	}
	if len(name) > 49 || !dnsLabel.MatchString(name) {
		return invalid("metadata.name", "metadata.name: Resource name must use only lowercase letters, numbers and '-'. Must begin with a letter and cannot end with a '-'. Maximum length is 49 characters.")
	}
	if in.Metadata.Namespace != "" && in.Metadata.Namespace != e.opts.Project && in.Metadata.Namespace != e.opts.ProjectNumber {
		return invalid("metadata.namespace", "metadata.namespace: Namespace %q does not match the project %q.", in.Metadata.Namespace, e.opts.Project)
	}
	if in.Spec == nil || in.Spec.Template == nil || in.Spec.Template.Spec == nil || len(in.Spec.Template.Spec.Containers) == 0 {
		return invalid("spec.template.spec.containers", "spec.template.spec.containers: Required field is not set.")
	}
	for i, c := range in.Spec.Template.Spec.Containers {
		if c == nil || c.Image == "" {
			return invalid(fmt.Sprintf("spec.template.spec.containers[%d].image", i), "spec.template.spec.containers[%d].image: Required field is not set.", i)
		}
		for _, env := range c.Env {
			if env == nil || env.Name == "" {
				return invalid(fmt.Sprintf("spec.template.spec.containers[%d].env", i), "spec.template.spec.containers[%d].env: name is required.", i)
			}
			if env.Name == "PORT" || env.Name == "K_SERVICE" || env.Name == "K_REVISION" || env.Name == "K_CONFIGURATION" {
				return invalid(fmt.Sprintf("spec.template.spec.containers[%d].env", i), "The following reserved env names were provided: %s. These values are automatically set by the system.", env.Name)
			}
		}
	}
	if in.Spec.Template.Metadata != nil {
		if rn := in.Spec.Template.Metadata.Name; rn != "" && (!strings.HasPrefix(rn, name+"-") || len(rn) > 63 || !dnsLabel.MatchString(rn)) {
			return invalid("spec.template.metadata.name", "spec.template.metadata.name: Revision name must be prefixed by the name of the enclosing Service or Configuration (%q) followed by a dash, use only lowercase letters, numbers and '-', and be at most 63 characters.", name)
		}
	}
	e.defaultTemplate(in.Spec.Template)
	return nil
}

// validateTraffic checks spec.traffic like Cloud Run does; pending is the
// name of the revision the same request creates.
func (e *Emulator) validateTraffic(svc string, ts []*run.TrafficTarget, pending string) *apiError {
	if len(ts) == 0 {
		return nil
	}
	var sum int64
	seen := map[string]bool{}
	tags := map[string]bool{}
	for i, t := range ts {
		field := fmt.Sprintf("spec.traffic[%d]", i)
		if t == nil {
			return invalid(field, "%s: Traffic target must not be null.", field)
		}
		if t.ConfigurationName != "" {
			return invalid(field+".configurationName", "%s.configurationName: Traffic targets cannot name a configuration; use revisionName or latestRevision.", field)
		}
		if t.Url != "" {
			return invalid(field+".url", "%s.url: Output only field must not be set.", field)
		}
		if (t.RevisionName == "") == !t.LatestRevision {
			return invalid(field, "%s: Exactly one of revisionName or latestRevision: true must be set.", field)
		}
		if t.Percent < 0 || t.Percent > 100 {
			return invalid(field+".percent", "%s.percent: Traffic percent must be between 0 and 100, got %d.", field, t.Percent)
		}
		sum += t.Percent
		key := t.RevisionName
		if t.LatestRevision {
			key = "@latest"
		}
		if seen[key+"\x00"+t.Tag] {
			return invalid(field, "%s: Duplicate traffic target for %s.", field, describeTarget(t))
		}
		seen[key+"\x00"+t.Tag] = true
		if t.Tag != "" {
			if !dnsLabel.MatchString(t.Tag) || len(t.Tag) > 46 {
				return invalid(field+".tag", "%s.tag: Tag %q must use only lowercase letters, numbers and '-', begin with a letter and not end with '-'.", field, t.Tag)
			}
			if tags[t.Tag] {
				return invalid(field+".tag", "%s.tag: Multiple definitions for tag %q.", field, t.Tag)
			}
			tags[t.Tag] = true
		}
		if t.RevisionName != "" && t.RevisionName != pending {
			r, ok := e.revisions[t.RevisionName]
			if !ok || r.service != svc {
				return invalid(field+".revisionName", "%s.revisionName: Revision '%s' does not exist in service '%s'.", field, t.RevisionName, svc)
			}
		}
	}
	if sum != 100 {
		return invalid("spec.traffic", "spec.traffic: Traffic targets sum to %d, want 100.", sum)
	}
	return nil
}

func describeTarget(t *run.TrafficTarget) string {
	if t.LatestRevision {
		return "the latest revision"
	}
	return "revision '" + t.RevisionName + "'"
}

// put creates (existing nil) or replaces a service from a validated body.
func (e *Emulator) put(in *run.Service, s *service) (*service, *apiError) {
	now := e.opts.Now()
	name := in.Metadata.Name
	tmpl := canonical(in.Spec.Template)
	var newRev *revision
	reuse := ""
	if s == nil || tmpl != s.template {
		rn := in.Spec.Template.Metadata.Name
		gen := int64(1)
		if s != nil {
			gen = s.configGen + 1
		}
		if rn != "" {
			if r, ok := e.revisions[rn]; ok {
				if r.service != name || r.template != tmpl {
					return nil, &apiError{code: http.StatusConflict, status: "ALREADY_EXISTS",
						message: fmt.Sprintf("Revision named '%s' with different configuration already exists.", rn),
						details: []any{map[string]any{"@type": "type.googleapis.com/google.rpc.ResourceInfo", "resourceType": "revision", "resourceName": rn}}}
				}
				reuse = rn
			}
		} else {
			for {
				rn = fmt.Sprintf("%s-%05d-%s", name, gen, hashN(3, name, strconv.FormatInt(gen, 10), tmpl, strconv.Itoa(len(e.revisions))))
				if _, taken := e.revisions[rn]; !taken {
					break
				}
				gen++
			}
		}
		if reuse == "" {
			newRev = &revision{name: rn, service: name, created: now, readyAt: now.Add(e.opts.ReadyDelay), configGen: gen, template: tmpl}
		}
	}
	pending := ""
	if newRev != nil {
		pending = newRev.name
	}
	if err := e.validateTraffic(name, in.Spec.Traffic, pending); err != nil {
		return nil, err
	}
	// Commit.
	if s == nil {
		s = &service{name: name, uid: e.newUID(), created: now, transitions: map[string]time.Time{}}
	}
	spec := canonical(in.Spec)
	if s.spec == nil || canonical(s.spec) != spec {
		s.generation++
	}
	s.spec = in.Spec
	s.template = tmpl
	s.labels = copyMap(in.Metadata.Labels)
	s.labels["cloud.googleapis.com/location"] = e.opts.Region
	s.annotations = copyMap(in.Metadata.Annotations)
	if _, ok := s.annotations["serving.knative.dev/creator"]; !ok || s.version == 0 {
		s.annotations["serving.knative.dev/creator"] = creator
	}
	s.annotations["serving.knative.dev/lastModifier"] = creator
	if s.annotations["run.googleapis.com/ingress"] == "" {
		s.annotations["run.googleapis.com/ingress"] = "all"
	}
	s.annotations["run.googleapis.com/ingress-status"] = s.annotations["run.googleapis.com/ingress"]
	e.version++
	s.version = e.version
	if newRev != nil {
		s.configGen = newRev.configGen
		newRev.uid = e.newUID()
		newRev.spec = in.Spec.Template.Spec
		newRev.labels = copyMap(in.Spec.Template.Metadata.Labels)
		newRev.labels["serving.knative.dev/service"] = name
		newRev.labels["serving.knative.dev/configuration"] = name
		newRev.labels["serving.knative.dev/configurationGeneration"] = strconv.FormatInt(newRev.configGen, 10)
		newRev.labels["serving.knative.dev/serviceUid"] = s.uid
		newRev.labels["cloud.googleapis.com/location"] = e.opts.Region
		newRev.annots = copyMap(in.Spec.Template.Metadata.Annotations)
		newRev.annots["serving.knative.dev/creator"] = creator
		for _, c := range newRev.spec.Containers {
			if msg, ok := e.failures[c.Image]; ok {
				newRev.failMsg = msg
				break
			}
		}
		newRev.version = e.version
		e.revisions[newRev.name] = newRev
		s.revs = append(s.revs, newRev.name)
	} else if reuse != "" && s.revs[len(s.revs)-1] != reuse {
		s.revs = append(removeString(s.revs, reuse), reuse)
	}
	e.services[name] = s
	e.settleService(s, now)
	return s, nil
}

func removeString(ss []string, s string) []string {
	var out []string
	for _, x := range ss {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// settle brings every service's status up to date with the clock.
func (e *Emulator) settle() {
	now := e.opts.Now()
	for _, s := range e.services {
		e.settleService(s, now)
	}
}

func (e *Emulator) latestReady(s *service, now time.Time) string {
	for i := len(s.revs) - 1; i >= 0; i-- {
		if r, ok := e.revisions[s.revs[i]]; ok && r.state(now) == "True" {
			return r.name
		}
	}
	return ""
}

func (e *Emulator) latestCreated(s *service) *revision {
	if len(s.revs) == 0 {
		return nil
	}
	return e.revisions[s.revs[len(s.revs)-1]]
}

func notServing(r *revision) string {
	return fmt.Sprintf("Revision '%s' is not ready and cannot serve traffic. %s", r.name, r.failMsg)
}

// settleService resolves spec.traffic into status.traffic when the
// revisions it names are Ready, and computes the conditions.
func (e *Emulator) settleService(s *service, now time.Time) {
	latest := e.latestReady(s, now)
	targets := s.spec.Traffic
	if len(targets) == 0 {
		targets = []*run.TrafficTarget{{LatestRevision: true, Percent: 100}}
	}
	var resolved []*run.TrafficTarget
	var failed *revision
	ok := true
	for _, t := range targets {
		name := t.RevisionName
		if t.LatestRevision {
			name = latest
		}
		r := e.revisions[name]
		if r == nil || r.state(now) != "True" {
			ok = false
			if r != nil && r.state(now) == "False" && failed == nil {
				failed = r
			}
			continue
		}
		rt := &run.TrafficTarget{RevisionName: name, Percent: t.Percent, LatestRevision: t.LatestRevision, Tag: t.Tag}
		if t.Tag != "" {
			rt.Url = e.serviceURL(s.name, t.Tag)
		}
		resolved = append(resolved, rt)
	}
	changed := false
	if ok && (s.routeGen != s.generation || !reflect.DeepEqual(resolved, s.traffic)) {
		s.traffic = resolved
		s.routeGen = s.generation
		s.trafficSet = true
		changed = true
	}

	type cond struct{ status, reason, message string }
	conds := map[string]cond{}
	cfg := cond{status: "Unknown"}
	if lc := e.latestCreated(s); lc != nil {
		switch lc.state(now) {
		case "True":
			cfg = cond{status: "True"}
		case "False":
			cfg = cond{status: "False", reason: "HealthCheckContainerError", message: notServing(lc)}
		}
	}
	conds["ConfigurationsReady"] = cfg
	route := cond{status: "Unknown"}
	switch {
	case ok && s.routeGen == s.generation:
		route = cond{status: "True"}
	case failed != nil:
		route = cond{status: "False", reason: "RevisionFailed", message: notServing(failed)}
	}
	conds["RoutesReady"] = route
	ready := cond{status: "True"}
	for _, c := range []cond{cfg, route} {
		if c.status == "False" {
			ready = c
			break
		}
		if c.status == "Unknown" {
			ready = c
		}
	}
	conds["Ready"] = ready
	if s.lastCond == nil {
		s.lastCond = map[string]string{}
	}
	for k, c := range conds {
		v := c.status + "\x00" + c.reason + "\x00" + c.message
		if s.lastCond[k] != v {
			s.lastCond[k] = v
			s.transitions[k] = now
			changed = true
		}
	}
	if changed {
		e.version++
		s.version = e.version
	}
}

func (e *Emulator) timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

func (e *Emulator) selfLink(kind, name string) string {
	return "/apis/serving.knative.dev/v1/namespaces/" + e.opts.ProjectNumber + "/" + kind + "/" + name
}

func resourceVersion(v int64) string {
	return "AAY" + strconv.FormatInt(1_000_000+v, 36)
}

func clone[T any](v T) T {
	var out T
	b, _ := json.Marshal(v)
	_ = json.Unmarshal(b, &out)
	return out
}

func (e *Emulator) conditions(s *service) []*run.GoogleCloudRunV1Condition {
	var out []*run.GoogleCloudRunV1Condition
	for _, k := range []string{"Ready", "ConfigurationsReady", "RoutesReady"} {
		parts := strings.SplitN(s.lastCond[k], "\x00", 3)
		if len(parts) != 3 {
			continue
		}
		out = append(out, &run.GoogleCloudRunV1Condition{Type: k, Status: parts[0], Reason: parts[1], Message: parts[2],
			LastTransitionTime: e.timestamp(s.transitions[k])})
	}
	return out
}

func (e *Emulator) serviceObject(s *service) *run.Service {
	spec := clone(s.spec)
	url := e.serviceURL(s.name, "")
	st := &run.ServiceStatus{
		ObservedGeneration:      s.generation,
		Conditions:              e.conditions(s),
		Url:                     url,
		Address:                 &run.Addressable{Url: url},
		Traffic:                 clone(s.traffic),
		LatestReadyRevisionName: e.latestReady(s, e.opts.Now()),
	}
	if lc := e.latestCreated(s); lc != nil {
		st.LatestCreatedRevisionName = lc.name
	}
	return &run.Service{
		ApiVersion: apiVersion,
		Kind:       "Service",
		Metadata: &run.ObjectMeta{
			Name:              s.name,
			Namespace:         e.opts.ProjectNumber,
			Uid:               s.uid,
			Generation:        s.generation,
			ResourceVersion:   resourceVersion(s.version),
			CreationTimestamp: e.timestamp(s.created),
			Labels:            copyMap(s.labels),
			Annotations:       copyMap(s.annotations),
			SelfLink:          e.selfLink("services", s.name),
		},
		Spec:   spec,
		Status: st,
	}
}

func (e *Emulator) revisionObject(r *revision) *run.Revision {
	now := e.opts.Now()
	st := r.state(now)
	ready := &run.GoogleCloudRunV1Condition{Type: "Ready", Status: st, LastTransitionTime: e.timestamp(r.created)}
	healthy := &run.GoogleCloudRunV1Condition{Type: "ContainerHealthy", Status: st, LastTransitionTime: e.timestamp(r.created)}
	if st != "Unknown" {
		ready.LastTransitionTime = e.timestamp(r.readyAt)
		healthy.LastTransitionTime = ready.LastTransitionTime
	}
	if st == "False" {
		ready.Reason, ready.Message = "HealthCheckContainerError", r.failMsg
		healthy.Reason, healthy.Message = "HealthCheckContainerError", r.failMsg
	}
	s := e.services[r.service]
	var owner []*run.OwnerReference
	if s != nil {
		owner = []*run.OwnerReference{{ApiVersion: apiVersion, Kind: "Configuration", Name: s.name, Uid: s.uid, Controller: true, BlockOwnerDeletion: true}}
	}
	annots := copyMap(r.annots)
	return &run.Revision{
		ApiVersion: apiVersion,
		Kind:       "Revision",
		Metadata: &run.ObjectMeta{
			Name:              r.name,
			Namespace:         e.opts.ProjectNumber,
			Uid:               r.uid,
			Generation:        1,
			ResourceVersion:   resourceVersion(r.version),
			CreationTimestamp: e.timestamp(r.created),
			Labels:            copyMap(r.labels),
			Annotations:       annots,
			SelfLink:          e.selfLink("revisions", r.name),
			OwnerReferences:   owner,
		},
		Spec: clone(r.spec),
		Status: &run.RevisionStatus{
			ObservedGeneration: 1,
			Conditions:         []*run.GoogleCloudRunV1Condition{ready, healthy},
			ServiceName:        r.service,
			LogUrl: fmt.Sprintf("https://console.cloud.google.com/logs/viewer?project=%s&resource=cloud_run_revision/service_name/%s/revision_name/%s",
				e.opts.Project, r.service, r.name),
		},
	}
}

// readyAs is the service's condition of type typ as the Ready condition
// of the child object it stands for.
func readyAs(conds []*run.GoogleCloudRunV1Condition, typ string) []*run.GoogleCloudRunV1Condition {
	var out []*run.GoogleCloudRunV1Condition
	for _, c := range conds {
		if c.Type == typ {
			c := *c
			c.Type = "Ready"
			out = append(out, &c)
		}
	}
	return out
}

func (e *Emulator) routeObject(s *service) *run.Route {
	svc := e.serviceObject(s)
	return &run.Route{
		ApiVersion: apiVersion,
		Kind:       "Route",
		Metadata:   e.childMeta(svc, "routes"),
		Spec:       &run.RouteSpec{Traffic: svc.Spec.Traffic},
		Status: &run.RouteStatus{
			ObservedGeneration: svc.Metadata.Generation,
			Conditions:         readyAs(svc.Status.Conditions, "RoutesReady"),
			Traffic:            svc.Status.Traffic,
			Url:                svc.Status.Url,
			Address:            svc.Status.Address,
		},
	}
}

func (e *Emulator) configurationObject(s *service) *run.Configuration {
	svc := e.serviceObject(s)
	return &run.Configuration{
		ApiVersion: apiVersion,
		Kind:       "Configuration",
		Metadata:   e.childMeta(svc, "configurations"),
		Spec:       &run.ConfigurationSpec{Template: svc.Spec.Template},
		Status: &run.ConfigurationStatus{
			ObservedGeneration:        s.configGen,
			Conditions:                readyAs(svc.Status.Conditions, "ConfigurationsReady"),
			LatestCreatedRevisionName: svc.Status.LatestCreatedRevisionName,
			LatestReadyRevisionName:   svc.Status.LatestReadyRevisionName,
		},
	}
}

func (e *Emulator) childMeta(svc *run.Service, kind string) *run.ObjectMeta {
	m := clone(svc.Metadata)
	m.Uid = hashN(8, m.Uid, kind) + m.Uid[8:]
	m.SelfLink = e.selfLink(kind, m.Name)
	m.Labels["serving.knative.dev/service"] = m.Name
	m.OwnerReferences = []*run.OwnerReference{{ApiVersion: apiVersion, Kind: "Service", Name: svc.Metadata.Name, Uid: svc.Metadata.Uid, Controller: true, BlockOwnerDeletion: true}}
	if kind == "configurations" {
		m.Generation = e.services[svc.Metadata.Name].configGen
	}
	return m
}
