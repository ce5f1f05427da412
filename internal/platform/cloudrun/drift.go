package cloudrun

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	run "google.golang.org/api/run/v1"

	"github.com/gitops-pipe/pipe/internal/config"
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
		b.Go(i, func(ctx context.Context, r *drift.AppResult) {
			if err := p.drift(ctx, app, r); err != nil {
				r.Status, r.Error = drift.Failed, err.Error()
			}
		})
	}
}

func (p *Platform) drift(ctx context.Context, app *config.App, r *drift.AppResult) error {
	m, err := loadManifest(p.opts.Root, app)
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
	fields := compare(withoutOwned(m.Doc), liveDoc, "", p.opts.MaskAllEnv)
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

// compare lists the leaves git sets that live lacks or holds otherwise.
func compare(git, live map[string]any, prefix string, maskAll bool) []drift.FieldDiff {
	var out []drift.FieldDiff
	keys := make([]string, 0, len(git))
	for k := range git {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := prefix + k
		gv := git[k]
		lv, ok := live[k]
		if !ok || lv == nil {
			if empty(gv) {
				continue
			}
			out = append(out, drift.FieldDiff{Path: path, Op: drift.FieldMissing, Git: gv})
			continue
		}
		out = append(out, compareValue(gv, lv, path, maskAll)...)
	}
	return out
}

func compareValue(gv, lv any, path string, maskAll bool) []drift.FieldDiff {
	switch g := gv.(type) {
	case map[string]any:
		if l, ok := lv.(map[string]any); ok {
			return compare(g, l, path+".", maskAll)
		}
	case []any:
		if l, ok := lv.([]any); ok {
			var out []drift.FieldDiff
			for i, e := range g {
				p := fmt.Sprintf("%s[%d]", path, i)
				if m, ok := e.(map[string]any); ok {
					if n, ok := m["name"].(string); ok && n != "" {
						p = fmt.Sprintf("%s[name=%s]", path, n)
					}
				}
				if i >= len(l) {
					out = append(out, drift.FieldDiff{Path: p, Op: drift.FieldMissing})
					continue
				}
				out = append(out, compareValue(e, l[i], p, maskAll)...)
			}
			return out
		}
	}
	if sameScalar(gv, lv) {
		return nil
	}
	if strings.Contains(path, ".env[") && strings.HasSuffix(path, ".value") {
		name := path[strings.LastIndex(path, "[name=")+6 : strings.LastIndex(path, "]")]
		gs, _ := gv.(string)
		ls, _ := lv.(string)
		if redact.SecretVar(maskAll, name, gs, ls) {
			gv, lv = drift.Mask, drift.Mask
		}
	}
	return []drift.FieldDiff{{Path: path, Op: drift.FieldChanged, Git: gv, Live: lv}}
}

// sameScalar compares as Cloud Run does: 80 and "80", true and "true".
func sameScalar(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb) || strings.Trim(string(ja), `"`) == strings.Trim(string(jb), `"`)
}

func empty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}
