package cloudrun

import (
	"encoding/json"
	"fmt"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/docdiff"
	"github.com/gitops-pipe/pipe/internal/manifest"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/redact"
)

// Details are a CloudRunApp plan's own facts (plan.Plan.Details).
type Details struct {
	Service string `json:"service"`
	Image   string `json:"image"`
	// Revision is the revision the head deploys (PipeCD's deterministic
	// name); RunningRevision the running commit's.
	Revision        string `json:"revision"`
	RunningRevision string `json:"runningRevision,omitempty"`
	// Traffic is the live service's traffic (live plans only).
	Traffic string `json:"traffic,omitempty"`
}

type planInput struct {
	plan.Input
	Spec     *config.CloudRunApplicationSpec
	Head     *Manifest
	HeadHash string
	// Compared is the running commit's manifest, --base's, or the live
	// service (as a manifest); nil when nothing.
	Compared      *Manifest
	CompareCommit *plan.Commit
	Running       *Manifest
	RunningHash   string
	Live          bool
	LiveTraffic   string
	MaskAll       bool
}

// planCloudRun plans a deployment of a CloudRunApp, by PipeCD's Cloud Run
// rules: --strategy; no pipeline, a quick sync; alwaysUsePipeline;
// commitMatcher; the first deployment, a quick sync; the image changed,
// the pipeline ("Sync with pipeline to update image from X to Y");
// otherwise the pipeline.
func planCloudRun(in planInput) (*plan.Plan, error) {
	spec := in.Spec
	input := in.Input
	input.Spec = spec.Generic()
	v := tag(in.Head.Image)
	p, err := plan.New(input, plan.Kind{
		QuickSync:         plan.Stage{ID: "CloudRunSync", Name: config.StageCloudRunSync, Desc: "Deploy the new version and configure all traffic to it"},
		AutoRollback:      spec.AutoRollbackEnabled(config.KindCloudRunApp),
		NoPipelineReason:  fmt.Sprintf("Quick sync to deploy image %s and configure all traffic to it (pipeline was not configured)", v),
		CommitMatchReason: fmt.Sprintf("Quick sync to deploy image %s and configure all traffic to it", v),
		Decide: func() (plan.Decision, error) {
			if in.Running == nil {
				return plan.Decision{Strategy: plan.StrategyQuickSync, Rule: plan.RuleFirstDeployment,
					Reason: fmt.Sprintf("Quick sync to deploy image %s and configure all traffic to it (it seems this is the first deployment)", v)}, nil
			}
			if old := tag(in.Running.Image); old != v {
				return plan.Decision{Strategy: plan.StrategyPipeline, Rule: plan.RuleImageChange,
					Reason: fmt.Sprintf("Sync with pipeline to update image from %s to %s", old, v)}, nil
			}
			return plan.Decision{Strategy: plan.StrategyPipeline, Rule: plan.RuleOtherChange, Reason: "Sync with the specified pipeline"}, nil
		},
	})
	if err != nil {
		return nil, err
	}
	p.App.Kind = string(config.KindCloudRunApp)
	p.Version = in.Head.Image
	d := Details{Service: in.Head.Name, Image: in.Head.Image, Revision: revisionName(in.Head, in.HeadHash), Traffic: in.LiveTraffic}
	if in.Running != nil {
		d.RunningRevision = revisionName(in.Running, in.RunningHash)
	}
	var oldDoc map[string]any
	if in.Compared != nil {
		oldDoc = in.Compared.Doc
	}
	newDoc := in.Head.Doc
	if in.Live {
		// What pipe sets itself (the traffic, the revision's name) is not
		// the manifest's to compare with the live service.
		newDoc = withoutOwned(newDoc)
		if oldDoc != nil {
			oldDoc = docdiff.Restrict(oldDoc, newDoc)
		}
	}
	from := "running"
	switch {
	case in.Live:
		from = "live"
	case in.Running == nil && in.Compared != nil:
		from = "base"
	}
	mo, mn := maskEnv(oldDoc, newDoc, in.MaskAll)
	if diff := manifest.Diff(mo, mn, "service "+in.Head.Name, from, "head", 3); diff != "" {
		c := plan.Change{Key: "serving.knative.dev:Service::" + in.Head.Name, Language: plan.LanguageDiff, Diff: diff, Source: in.Head.File, Action: plan.ActionChange}
		if oldDoc == nil {
			c.Action = plan.ActionAdd
		}
		p.Changes = append(p.Changes, c)
	}
	p.Summary = plan.Summarize(p.Changes)
	switch {
	case in.Live:
		p.Mode = plan.ModeLive
		p.Compared = "the live service with the head's manifest"
		if in.LiveTraffic != "" {
			p.Compared += " (traffic " + in.LiveTraffic + ")"
		}
		live := "absent"
		if in.Compared != nil {
			live = docdiff.Digest(in.Compared.Doc)
		}
		p.Source.Live = &plan.LiveFingerprint{Digest: live, Objects: map[string]string{"service": live}}
	case in.Compared != nil && in.CompareCommit != nil:
		c := *in.CompareCommit
		p.Base = &c
	}
	if p.Details, err = json.Marshal(d); err != nil {
		return nil, err
	}
	p.Source.Desired = docdiff.Digest(in.Head.Doc)
	p.Source.DesiredChanged = "the service manifest resolves differently than when the plan was made"
	return p, nil
}

// maskEnv masks the containers' environment values that look secret in
// copies of two manifests.
func maskEnv(oldDoc, newDoc map[string]any, all bool) (map[string]any, map[string]any) {
	oldEnv, newEnv := envOf(oldDoc), envOf(newDoc)
	mask := func(doc map[string]any, other map[string]string, isNew bool) map[string]any {
		if doc == nil {
			return nil
		}
		out := deepCopy(doc).(map[string]any)
		eachEnv(out, func(container string, e map[string]any) {
			name, _ := e["name"].(string)
			value, ok := e["value"].(string)
			if !ok {
				return
			}
			ov, inOther := other[container+"/"+name]
			switch {
			case !redact.SecretVar(all, name, value, ov):
			case isNew && inOther && ov != value:
				e["value"] = manifest.MaskSecretChanged
			default:
				e["value"] = manifest.MaskSecret
			}
		})
		return out
	}
	return mask(oldDoc, newEnv, false), mask(newDoc, oldEnv, true)
}

func envOf(doc map[string]any) map[string]string {
	out := map[string]string{}
	if doc == nil {
		return out
	}
	eachEnv(doc, func(container string, e map[string]any) {
		name, _ := e["name"].(string)
		if v, ok := e["value"].(string); ok {
			out[container+"/"+name] = v
		}
	})
	return out
}

// eachEnv calls f with every environment variable of the template's
// containers.
func eachEnv(doc map[string]any, f func(container string, e map[string]any)) {
	spec, _ := doc["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	tspec, _ := tmpl["spec"].(map[string]any)
	cs, _ := tspec["containers"].([]any)
	for i, c := range cs {
		cm, ok := c.(map[string]any)
		if !ok {
			continue
		}
		name, _ := cm["name"].(string)
		if name == "" {
			name = fmt.Sprint(i)
		}
		envs, _ := cm["env"].([]any)
		for _, e := range envs {
			if em, ok := e.(map[string]any); ok {
				f(name, em)
			}
		}
	}
}

// withoutOwned is a copy of a manifest without what pipe sets on apply
// whatever the file says: spec.traffic (the stages decide it) and
// spec.template.metadata.name (PipeCD's revision name). A manifest
// exported with gcloud holds both.
func withoutOwned(doc map[string]any) map[string]any {
	if doc == nil {
		return nil
	}
	out := deepCopy(doc).(map[string]any)
	if spec, ok := out["spec"].(map[string]any); ok {
		delete(spec, "traffic")
		if tmpl, ok := spec["template"].(map[string]any); ok {
			if meta, ok := tmpl["metadata"].(map[string]any); ok {
				delete(meta, "name")
			}
		}
	}
	return out
}
