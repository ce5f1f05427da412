// Package runemu is a stateful local emulator of the Google Cloud Run Admin
// API v1, the Knative-shaped one (apis/serving.knative.dev/v1/namespaces/
// {project}/services, revisions, routes, configurations), for tests and the
// dev cloud. The client it is written for is Google's generated
// google.golang.org/api/run/v1 pointed at it with option.WithEndpoint and
// option.WithoutAuthentication; what it serves is checked against the API's
// discovery document (schema_test.go).
//
// A service's template change creates a revision; revisions become Ready
// after Options.ReadyDelay, or fail (FailRevision) with the message Cloud
// Run gives; spec.traffic is validated like Cloud Run does and resolved
// into status.traffic once the revisions it names are Ready, the service
// keeping its previous traffic otherwise.
package runemu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	run "google.golang.org/api/run/v1"
)

// DefaultProject and DefaultRegion are the project and region of an
// emulator whose Options leave them empty; DefaultProjectNumber is the
// project's number (metadata.namespace of what it serves, as Cloud Run does).
const (
	DefaultProject       = "pipe-emulator"
	DefaultRegion        = "us-central1"
	DefaultProjectNumber = "123456789012"
)

// Options configure an Emulator.
type Options struct {
	Project string // the project ID (namespace); DefaultProject when empty
	Region  string // DefaultRegion when empty
	// ProjectNumber is the project's number, also accepted as the
	// namespace and served as metadata.namespace; DefaultProjectNumber when empty.
	ProjectNumber string
	// ReadyDelay is how long a new revision stays Ready=Unknown.
	ReadyDelay time.Duration
	Now        func() time.Time // time.Now when nil
}

// Traffic is one traffic target.
type Traffic struct {
	RevisionName   string
	Percent        int64
	LatestRevision bool
	Tag            string
}

// Service is a copy of a service's state.
type Service struct {
	Name          string
	Generation    int64
	Ready         bool   // the Ready condition is True
	ReadyMessage  string // the Ready condition's message
	Image         string // the first container of the template
	Labels        map[string]string
	Traffic       []Traffic // status.traffic
	SpecTraffic   []Traffic // spec.traffic
	LatestReady   string
	LatestCreated string
	JSON          []byte // the service as served
}

// Revision is a copy of a revision's state.
type Revision struct {
	Name       string
	Image      string
	Ready      bool
	Message    string // the Ready condition's message when it failed
	Labels     map[string]string
	Generation int64 // the configuration generation that created it
}

// Request is one request served.
type Request struct {
	Method string
	Path   string
	Status int
}

// Emulator is the emulated Cloud Run of one project and region.
type Emulator struct {
	opts Options

	mu        sync.Mutex
	services  map[string]*service
	revisions map[string]*revision
	failures  map[string]string // image -> message
	requests  []Request
	version   int64 // resourceVersion counter
	uids      int
}

type service struct {
	name        string
	uid         string
	created     time.Time
	generation  int64
	version     int64
	labels      map[string]string
	annotations map[string]string
	spec        *run.ServiceSpec // defaulted
	template    string           // canonical JSON of spec.template
	configGen   int64            // template generations
	revs        []string         // in creation order
	traffic     []*run.TrafficTarget
	trafficSet  bool // traffic resolved at least once
	routeGen    int64
	transitions map[string]time.Time
	lastCond    map[string]string
}

type revision struct {
	name      string
	service   string
	uid       string
	created   time.Time
	readyAt   time.Time
	configGen int64
	template  string
	labels    map[string]string
	annots    map[string]string
	spec      *run.RevisionSpec
	failMsg   string
	version   int64
}

// New returns an emulator.
func New(opts Options) *Emulator {
	if opts.Project == "" {
		opts.Project = DefaultProject
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.ProjectNumber == "" {
		opts.ProjectNumber = DefaultProjectNumber
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Emulator{
		opts:      opts,
		services:  map[string]*service{},
		revisions: map[string]*revision{},
		failures:  map[string]string{},
	}
}

// Start starts an emulator on a local httptest server; close it when done.
func Start(opts Options) (*Emulator, *httptest.Server) {
	e := New(opts)
	return e, httptest.NewServer(e)
}

// Project returns the emulator's project ID.
func (e *Emulator) Project() string { return e.opts.Project }

// Region returns the emulator's region.
func (e *Emulator) Region() string { return e.opts.Region }

// FailRevision makes the revisions created from now on with a container of
// image fail with message; message "" clears it.
func (e *Emulator) FailRevision(image, message string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if message == "" {
		delete(e.failures, image)
		return
	}
	e.failures[image] = message
}

// Service returns a copy of the named service's state.
func (e *Emulator) Service(name string) (Service, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settle()
	s, ok := e.services[name]
	if !ok {
		return Service{}, false
	}
	obj := e.serviceObject(s)
	out := Service{
		Name:          s.name,
		Generation:    s.generation,
		Labels:        copyMap(s.labels),
		Traffic:       fromTargets(obj.Status.Traffic),
		SpecTraffic:   fromTargets(s.spec.Traffic),
		LatestReady:   obj.Status.LatestReadyRevisionName,
		LatestCreated: obj.Status.LatestCreatedRevisionName,
	}
	if cs := s.spec.Template.Spec.Containers; len(cs) > 0 {
		out.Image = cs[0].Image
	}
	for _, c := range obj.Status.Conditions {
		if c.Type == "Ready" {
			out.Ready = c.Status == "True"
			out.ReadyMessage = c.Message
		}
	}
	out.JSON, _ = json.Marshal(obj)
	return out, true
}

// Revisions returns the service's revisions, sorted by name.
func (e *Emulator) Revisions(svc string) []Revision {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settle()
	var out []Revision
	now := e.opts.Now()
	for _, r := range e.revisions {
		if r.service != svc {
			continue
		}
		rv := Revision{Name: r.name, Labels: copyMap(r.labels), Generation: r.configGen}
		if len(r.spec.Containers) > 0 {
			rv.Image = r.spec.Containers[0].Image
		}
		switch r.state(now) {
		case "True":
			rv.Ready = true
		case "False":
			rv.Message = r.failMsg
		}
		out = append(out, rv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SetTraffic changes a service's spec.traffic out of band, as someone in
// the console would.
func (e *Emulator) SetTraffic(svc string, t []Traffic) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settle()
	s, ok := e.services[svc]
	if !ok {
		return fmt.Errorf("no service %s", svc)
	}
	targets := toTargets(t)
	if err := e.validateTraffic(s.name, targets, ""); err != nil {
		return err
	}
	s.spec.Traffic = targets
	s.generation++
	e.version++
	s.version = e.version
	e.settle()
	return nil
}

// Requests returns the requests served so far.
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.requests)
}

func (r *revision) state(now time.Time) string {
	if now.Before(r.readyAt) {
		return "Unknown"
	}
	if r.failMsg != "" {
		return "False"
	}
	return "True"
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func fromTargets(ts []*run.TrafficTarget) []Traffic {
	var out []Traffic
	for _, t := range ts {
		out = append(out, Traffic{RevisionName: t.RevisionName, Percent: t.Percent, LatestRevision: t.LatestRevision, Tag: t.Tag})
	}
	return out
}

func toTargets(ts []Traffic) []*run.TrafficTarget {
	var out []*run.TrafficTarget
	for _, t := range ts {
		out = append(out, &run.TrafficTarget{RevisionName: t.RevisionName, Percent: t.Percent, LatestRevision: t.LatestRevision, Tag: t.Tag})
	}
	return out
}

// hashN is a short stable suffix, like the ones Cloud Run puts in names and URLs.
func hashN(n int, parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	s := hex.EncodeToString(h[:])
	// Cloud Run's suffixes are letters and digits; keep hex, lowercase.
	return s[:n]
}

func regionCode(region string) string {
	known := map[string]string{
		"us-central1": "uc", "us-east1": "ue", "us-east4": "uk", "us-west1": "uw",
		"europe-west1": "ew", "europe-west4": "ez", "asia-northeast1": "an", "asia-east1": "de",
	}
	if c, ok := known[region]; ok {
		return c
	}
	parts := strings.Split(region, "-")
	c := ""
	for _, p := range parts {
		if p != "" {
			c += p[:1]
		}
	}
	return c
}

func (e *Emulator) serviceURL(name, tag string) string {
	host := name + "-" + hashN(10, e.opts.Project, e.opts.Region) + "-" + regionCode(e.opts.Region) + ".a.run.app"
	if tag != "" {
		host = tag + "---" + host
	}
	return "https://" + host
}
