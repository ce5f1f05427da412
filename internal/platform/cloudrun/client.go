package cloudrun

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/api/googleapi"
	run "google.golang.org/api/run/v1"

	"github.com/gitops-pipe/pipe/internal/ctxtime"
	"github.com/gitops-pipe/pipe/internal/redact"
)

// client makes the Cloud Run Admin API calls of one project.
type client struct {
	api     *run.APIService
	project string
	// poll is the first interval between reads while waiting (doubling
	// up to 5s).
	poll time.Duration
	say  func(format string, args ...any)
}

func (c *client) narrate(format string, args ...any) {
	if c.say != nil {
		c.say(format, args...)
	}
}

func (c *client) serviceName(name string) string {
	return "namespaces/" + c.project + "/services/" + name
}

// get reads a service; nil when it does not exist.
func (c *client) get(ctx context.Context, name string) (*run.Service, error) {
	s, err := c.api.Namespaces.Services.Get(c.serviceName(name)).Context(ctx).Do()
	if isStatus(err, http.StatusNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, apiError("services.get", name, err)
	}
	return s, nil
}

// apply creates or replaces the service.
func (c *client) apply(ctx context.Context, s *run.Service) (*run.Service, error) {
	name := s.Metadata.Name
	cur, err := c.get(ctx, name)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		c.narrate("creating service %s", name)
		out, err := c.api.Namespaces.Services.Create("namespaces/"+c.project, s).Context(ctx).Do()
		if err != nil {
			return nil, apiError("services.create", name, err)
		}
		return out, nil
	}
	// Replacing keeps what the server owns of the metadata.
	if s.Metadata.ResourceVersion == "" {
		s.Metadata.ResourceVersion = cur.Metadata.ResourceVersion
	}
	out, err := c.api.Namespaces.Services.ReplaceService(c.serviceName(name), s).Context(ctx).Do()
	if err != nil {
		return nil, apiError("services.replaceService", name, err)
	}
	return out, nil
}

// waitReady waits until the service has observed generation gen and is
// Ready (its revision too); a revision that cannot become ready is an
// error with Cloud Run's message.
func (c *client) waitReady(ctx context.Context, name string, gen int64, revision string) (*run.Service, error) {
	delay := c.poll
	if delay <= 0 {
		delay = time.Second
	}
	announced := false
	for {
		s, err := c.get(ctx, name)
		if err != nil {
			return nil, err
		}
		if s == nil {
			return nil, fmt.Errorf("service %s is gone", name)
		}
		if s.Status != nil && s.Status.ObservedGeneration >= gen {
			if r := c.revisionFailure(ctx, revision); r != "" {
				return s, fmt.Errorf("revision %s of service %s did not become ready: %s", revision, name, r)
			}
			switch ready := condition(s.Status.Conditions, "Ready"); {
			case ready != nil && ready.Status == "True":
				return s, nil
			case ready != nil && ready.Status == "False":
				return s, fmt.Errorf("service %s is not ready: %s", name, conditionText(ready))
			}
		}
		if !announced {
			c.narrate("waiting for revision %s of %s to be ready", revision, name)
			announced = true
		}
		if ctxtime.Sleep(ctx, delay) != nil {
			return nil, fmt.Errorf("waiting for revision %s of service %s: %w", revision, name, context.Cause(ctx))
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// revisionFailure is why a revision is Ready=False; "" otherwise.
func (c *client) revisionFailure(ctx context.Context, revision string) string {
	if revision == "" {
		return ""
	}
	r, err := c.api.Namespaces.Revisions.Get("namespaces/" + c.project + "/revisions/" + revision).Context(ctx).Do()
	if err != nil || r.Status == nil {
		return ""
	}
	if ready := condition(r.Status.Conditions, "Ready"); ready != nil && ready.Status == "False" {
		return conditionText(ready)
	}
	return ""
}

// revisionExists reports whether a revision exists.
func (c *client) revisionExists(ctx context.Context, revision string) (bool, error) {
	_, err := c.api.Namespaces.Revisions.Get("namespaces/" + c.project + "/revisions/" + revision).Context(ctx).Do()
	if isStatus(err, http.StatusNotFound) {
		return false, nil
	}
	if err != nil {
		return false, apiError("revisions.get", revision, err)
	}
	return true, nil
}

func condition(cs []*run.GoogleCloudRunV1Condition, typ string) *run.GoogleCloudRunV1Condition {
	for _, c := range cs {
		if c != nil && c.Type == typ {
			return c
		}
	}
	return nil
}

func conditionText(c *run.GoogleCloudRunV1Condition) string {
	s := c.Message
	if c.Reason != "" {
		if s == "" {
			s = c.Reason
		} else {
			s += " (" + c.Reason + ")"
		}
	}
	if s == "" {
		s = "no reason given"
	}
	return s
}

// traffic renders traffic targets: "web-v2-abc:10,web-v1-def:90".
func traffic(ts []*run.TrafficTarget) string {
	var parts []string
	for _, t := range ts {
		if t == nil || t.Percent == 0 {
			continue
		}
		name := t.RevisionName
		if name == "" && t.LatestRevision {
			name = "LATEST"
		}
		parts = append(parts, name+":"+strconv.FormatInt(t.Percent, 10))
	}
	return strings.Join(parts, ",")
}

// parseTraffic reads traffic as traffic() writes it.
func parseTraffic(s string) ([]*run.TrafficTarget, error) {
	var out []*run.TrafficTarget
	for _, p := range strings.Split(s, ",") {
		if p == "" {
			continue
		}
		name, pct, ok := strings.Cut(p, ":")
		n, err := strconv.ParseInt(pct, 10, 64)
		if !ok || err != nil || name == "" {
			return nil, fmt.Errorf("unreadable traffic %q", s)
		}
		t := &run.TrafficTarget{RevisionName: name, Percent: n}
		if name == "LATEST" {
			t = &run.TrafficTarget{LatestRevision: true, Percent: n}
		}
		out = append(out, t)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Percent > out[j].Percent })
	return out, nil
}

func isStatus(err error, code int) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == code
}

// apiError turns an error of a Cloud Run call into a sentence naming the
// call, the service and what to do.
func apiError(call, what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return fmt.Errorf("run.%s of %s: %w", call, what, redact.Error(err))
	}
	s := fmt.Sprintf("run.%s of %s: %d %s", call, what, ge.Code, strings.TrimSpace(ge.Message))
	switch ge.Code {
	case http.StatusForbidden:
		s += " (grant the identity pipe runs as roles/run.developer on the project, and roles/iam.serviceAccountUser on the service's runtime service account)"
	case http.StatusUnauthorized:
		s += " (the Google credentials are invalid or expired: check the platform provider's credentialsFile or the job's Application Default Credentials)"
	case http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity:
		s += " (fix the service manifest)"
	}
	return &wrapped{msg: s, err: err}
}

type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }
