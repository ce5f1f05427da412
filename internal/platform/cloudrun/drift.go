package cloudrun

import (
	"context"
	"encoding/json"
	"strings"

	run "google.golang.org/api/run/v1"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/docdiff"
	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/redact"
)

// Drift implements drift.Platform: the live service against the manifest
// in the working tree, as PipeCD compares them: only the fields the
// manifest sets (the server adds the rest: status, generation, uid,
// annotations of its own, the template's name pipe sets), a number
// written as a string and the number equal, "true" and true equal; and
// the traffic: all of it should go to one revision, the latest ready one.
func (p *Platform) Drift(ctx context.Context, b *drift.Batch) {
	for i, app := range b.Apps {
		b.GoTree(i, p.opts.Root, func(ctx context.Context, root string, r *drift.AppResult) {
			if err := p.drift(ctx, root, app, r); err != nil {
				r.Status, r.Error = drift.Failed, err.Error()
			}
		})
	}
}

func (p *Platform) drift(ctx context.Context, root string, app *config.App, r *drift.AppResult) error {
	m, err := loadManifest(root, app)
	if err != nil {
		return err
	}
	cl, err := p.client(ctx, app)
	if err != nil {
		return err
	}
	live, err := cl.get(ctx, m.Name)
	if err != nil {
		return err
	}
	r.Objects = 1
	key, object := "serving.knative.dev:Service::"+m.Name, "service "+m.Name
	if live == nil {
		r.Status, r.Added = drift.OutOfSync, 1
		r.Drift = []drift.ObjectDrift{{Key: key, Object: object, Action: drift.ActionAdded, Note: "the service does not exist in Cloud Run"}}
		return nil
	}
	b, err := live.MarshalJSON()
	if err != nil {
		return err
	}
	var liveDoc map[string]any
	if err := json.Unmarshal(b, &liveDoc); err != nil {
		return err
	}
	fields := docdiff.Compare(withoutOwned(m.Doc), liveDoc, diffOptions(p.opts.MaskAllEnv))
	if f := trafficDrift(live); f != nil {
		fields = append(fields, *f)
	}
	if len(fields) == 0 {
		r.Status = drift.InSync
		return nil
	}
	r.Status, r.Changed = drift.OutOfSync, 1
	r.Drift = []drift.ObjectDrift{{Key: key, Object: object, Action: drift.ActionChanged, Fields: fields}}
	return nil
}

// trafficDrift reports traffic that does not all go to the latest ready
// revision (a change made in the console, a split left by hand).
func trafficDrift(s *run.Service) *drift.FieldDiff {
	if s.Status == nil {
		return nil
	}
	want := s.Status.LatestReadyRevisionName
	got := traffic(s.Status.Traffic)
	ts := s.Status.Traffic
	var serving []*run.TrafficTarget
	for _, t := range ts {
		if t != nil && t.Percent > 0 {
			serving = append(serving, t)
		}
	}
	if len(serving) == 1 && (serving[0].RevisionName == want || serving[0].LatestRevision) {
		return nil
	}
	return &drift.FieldDiff{Path: "status.traffic", Op: drift.FieldChanged, Git: want + ":100", Live: got}
}

// diffOptions mask the environment values that look secret.
func diffOptions(maskAll bool) docdiff.Options {
	return docdiff.Options{Show: func(path string, v, other any) any {
		i := strings.LastIndex(path, ".env[name=")
		if i < 0 || !strings.HasSuffix(path, "].value") {
			return v
		}
		name := path[i+len(".env[name=") : len(path)-len("].value")]
		vs, _ := v.(string)
		ot, _ := other.(string)
		if redact.SecretVar(maskAll, name, vs, ot) {
			return drift.Mask
		}
		return v
	}}
}
