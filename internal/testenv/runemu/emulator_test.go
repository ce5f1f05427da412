package runemu

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	run "google.golang.org/api/run/v1"
)

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClient(t *testing.T, url string, hc *http.Client) *run.APIService {
	t.Helper()
	opts := []option.ClientOption{option.WithEndpoint(url + "/"), option.WithoutAuthentication()}
	if hc != nil {
		opts = []option.ClientOption{option.WithEndpoint(url + "/"), option.WithHTTPClient(hc)}
	}
	c, err := run.NewService(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func svcBody(name, image string) *run.Service {
	return &run.Service{
		ApiVersion: "serving.knative.dev/v1",
		Kind:       "Service",
		Metadata:   &run.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: &run.ServiceSpec{Template: &run.RevisionTemplate{
			Metadata: &run.ObjectMeta{Labels: map[string]string{"pipe.dev/commit": "abc"}},
			Spec:     &run.RevisionSpec{Containers: []*run.Container{{Image: image}}},
		}},
	}
}

func apiCode(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

func TestLifecycle(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	e, srv := Start(Options{ReadyDelay: 10 * time.Second, Now: clk.Now})
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	ns := "namespaces/" + DefaultProject
	created, err := c.Namespaces.Services.Create(ns, svcBody("hello", "img:v1")).Do()
	if err != nil {
		t.Fatal(err)
	}
	if created.Metadata.Generation != 1 || created.Status.LatestCreatedRevisionName == "" || created.Status.LatestReadyRevisionName != "" {
		t.Fatalf("created: %+v %+v", created.Metadata, created.Status)
	}
	v1 := created.Status.LatestCreatedRevisionName
	if !strings.HasPrefix(v1, "hello-00001-") {
		t.Fatalf("revision name %q", v1)
	}
	if s, _ := e.Service("hello"); s.Ready || s.Image != "img:v1" {
		t.Fatalf("before ReadyDelay: %+v", s)
	}
	clk.Add(10 * time.Second)
	s, _ := e.Service("hello")
	if !s.Ready || s.LatestReady != v1 || len(s.Traffic) != 1 || s.Traffic[0].RevisionName != v1 || s.Traffic[0].Percent != 100 {
		t.Fatalf("after ReadyDelay: %+v", s)
	}
	if _, err := c.Namespaces.Services.Create(ns, svcBody("hello", "img:v1")).Do(); apiCode(err) != 409 {
		t.Fatalf("second create: %v", err)
	}

	// Replace with a named revision and a 10/90 split.
	got, err := c.Namespaces.Services.Get(ns + "/services/hello").Do()
	if err != nil {
		t.Fatal(err)
	}
	got.Spec.Template.Metadata.Name = "hello-v2"
	got.Spec.Template.Spec.Containers[0].Image = "img:v2"
	got.Spec.Traffic = []*run.TrafficTarget{{RevisionName: "hello-v2", Percent: 10}, {RevisionName: v1, Percent: 90}}
	rep, err := c.Namespaces.Services.ReplaceService(ns+"/services/hello", got).Do()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Metadata.Generation != 2 || rep.Status.LatestCreatedRevisionName != "hello-v2" {
		t.Fatalf("replaced: %+v %+v", rep.Metadata, rep.Status)
	}
	s, _ = e.Service("hello")
	if s.Ready || len(s.Traffic) != 1 || s.Traffic[0].RevisionName != v1 {
		t.Fatalf("split pending: %+v", s)
	}
	clk.Add(10 * time.Second)
	s, _ = e.Service("hello")
	if !s.Ready || len(s.Traffic) != 2 || s.Traffic[0].RevisionName != "hello-v2" || s.Traffic[0].Percent != 10 {
		t.Fatalf("split: %+v", s)
	}
	// A stale resourceVersion conflicts.
	if _, err := c.Namespaces.Services.ReplaceService(ns+"/services/hello", got).Do(); apiCode(err) != 409 {
		t.Fatalf("stale replace: %v", err)
	}

	// Same name, different template: 409.
	got, _ = c.Namespaces.Services.Get(ns + "/services/hello").Do()
	got.Spec.Template.Spec.Containers[0].Image = "img:v3"
	if _, err := c.Namespaces.Services.ReplaceService(ns+"/services/hello", got).Do(); apiCode(err) != 409 || !strings.Contains(err.Error(), "different configuration") {
		t.Fatalf("reused revision name: %v", err)
	}

	// A failing revision: Ready=False with its message, traffic kept.
	msg := "The user-provided container failed to start and listen on the port defined provided by the PORT=8080 environment variable."
	e.FailRevision("img:bad", msg)
	got, _ = c.Namespaces.Services.Get(ns + "/services/hello").Do()
	got.Spec.Template.Metadata.Name = "hello-v3"
	got.Spec.Template.Spec.Containers[0].Image = "img:bad"
	got.Spec.Traffic = []*run.TrafficTarget{{RevisionName: "hello-v3", Percent: 100}}
	if _, err := c.Namespaces.Services.ReplaceService(ns+"/services/hello", got).Do(); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	s, _ = e.Service("hello")
	if s.Ready || !strings.Contains(s.ReadyMessage, msg) || len(s.Traffic) != 2 || s.LatestReady != "hello-v2" || s.LatestCreated != "hello-v3" {
		t.Fatalf("failed revision: %+v", s)
	}
	revs := e.Revisions("hello")
	if len(revs) != 3 || revs[2].Name != "hello-v3" || revs[2].Ready || revs[2].Message != msg {
		t.Fatalf("revisions: %+v", revs)
	}
	list, err := c.Namespaces.Revisions.List(ns).LabelSelector("serving.knative.dev/service=hello").Do()
	if err != nil || len(list.Items) != 3 {
		t.Fatalf("list revisions: %v %v", list, err)
	}
	if list.Items[0].Metadata.Labels["serving.knative.dev/configurationGeneration"] == "" || list.Items[0].Metadata.Labels["pipe.dev/commit"] != "abc" {
		t.Fatalf("revision labels: %v", list.Items[0].Metadata.Labels)
	}
	// Deleting a revision serving traffic is refused.
	if _, err := c.Namespaces.Revisions.Delete(ns + "/revisions/" + v1).Do(); apiCode(err) != 400 {
		t.Fatalf("delete serving revision: %v", err)
	}
	// Out of band traffic.
	if err := e.SetTraffic("hello", []Traffic{{RevisionName: "hello-v2", Percent: 100}}); err != nil {
		t.Fatal(err)
	}
	if err := e.SetTraffic("hello", []Traffic{{RevisionName: "hello-v2", Percent: 50}}); err == nil {
		t.Fatal("SetTraffic summing to 50 succeeded")
	}
	s, _ = e.Service("hello")
	if len(s.Traffic) != 1 || s.Traffic[0].RevisionName != "hello-v2" {
		t.Fatalf("after SetTraffic: %+v", s)
	}
	if _, err := c.Namespaces.Revisions.Delete(ns + "/revisions/" + v1).Do(); err != nil {
		t.Fatalf("delete idle revision: %v", err)
	}
	if _, err := c.Namespaces.Routes.Get(ns + "/routes/hello").Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Namespaces.Configurations.Get(ns + "/configurations/hello").Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Namespaces.Services.Delete(ns + "/services/hello").Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Namespaces.Services.Get(ns + "/services/hello").Do(); apiCode(err) != 404 {
		t.Fatalf("get deleted: %v", err)
	}
	if n := len(e.Requests()); n < 10 {
		t.Fatalf("requests: %d", n)
	}
}

func TestTrafficValidation(t *testing.T) {
	e, srv := Start(Options{})
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	ns := "namespaces/" + DefaultProject
	created, err := c.Namespaces.Services.Create(ns, svcBody("web", "img:v1")).Do()
	if err != nil {
		t.Fatal(err)
	}
	v1 := created.Status.LatestCreatedRevisionName
	for _, tc := range []struct {
		name    string
		traffic []*run.TrafficTarget
		want    string
	}{
		{"sum", []*run.TrafficTarget{{RevisionName: v1, Percent: 90}}, "sum to 90"},
		{"missing", []*run.TrafficTarget{{RevisionName: "web-nope", Percent: 100}}, "does not exist"},
		{"other service", []*run.TrafficTarget{{RevisionName: "other-00001-abc", Percent: 100}}, "does not exist"},
		{"duplicate", []*run.TrafficTarget{{RevisionName: v1, Percent: 50}, {RevisionName: v1, Percent: 50}}, "Duplicate"},
		{"both", []*run.TrafficTarget{{RevisionName: v1, LatestRevision: true, Percent: 100}}, "Exactly one"},
		{"neither", []*run.TrafficTarget{{Percent: 100}}, "Exactly one"},
		{"tag twice", []*run.TrafficTarget{{RevisionName: v1, Percent: 100, Tag: "a"}, {LatestRevision: true, Tag: "a", ForceSendFields: []string{"Percent"}}}, "tag"},
		{"bad tag", []*run.TrafficTarget{{RevisionName: v1, Percent: 100, Tag: "A_B"}}, "Tag"},
		{"over", []*run.TrafficTarget{{RevisionName: v1, Percent: 101}}, "between 0 and 100"},
	} {
		got, _ := c.Namespaces.Services.Get(ns + "/services/web").Do()
		got.Spec.Traffic = tc.traffic
		_, err := c.Namespaces.Services.ReplaceService(ns+"/services/web", got).Do()
		if apiCode(err) != 400 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want 400 %q", tc.name, err, tc.want)
		}
	}
	// A tagged 0% target next to the untagged one is fine.
	got, _ := c.Namespaces.Services.Get(ns + "/services/web").Do()
	got.Spec.Traffic = []*run.TrafficTarget{{LatestRevision: true, Percent: 100}, {RevisionName: v1, Tag: "blue", ForceSendFields: []string{"Percent"}}}
	rep, err := c.Namespaces.Services.ReplaceService(ns+"/services/web", got).Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Status.Traffic) != 2 || !strings.HasPrefix(rep.Status.Traffic[1].Url, "https://blue---web-") {
		t.Fatalf("tagged traffic: %+v", rep.Status.Traffic)
	}
	if s, _ := e.Service("web"); s.Generation != 2 || !s.Ready {
		t.Fatalf("%+v", s)
	}
}
