package ecs

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/docdiff"
	"github.com/gitops-pipe/pipe/internal/manifest"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/redact"
)

// RuleImageChange is plan.RuleImageChange: the images changed.
const versionUnknown = "unknown"

// Details are an ECSApp plan's own facts (plan.Plan.Details).
type Details struct {
	// TaskDefinition is the family; Service the service's name (empty for
	// a standalone task).
	TaskDefinition string `json:"taskDefinition"`
	Service        string `json:"service,omitempty"`
	Cluster        string `json:"cluster,omitempty"`
	// Images are the head's container images.
	Images []string `json:"images"`
	// RunningImages are the running commit's.
	RunningImages []string `json:"runningImages,omitempty"`
	Standalone    bool     `json:"standalone,omitempty"`
	// Live is what runs in the service (live plans only): its primary task
	// set's task definition and the listeners' weights.
	Live string `json:"live,omitempty"`
}

// planInput is everything the ECS planner decides from.
type planInput struct {
	plan.Input
	Spec *config.ECSApplicationSpec
	Head *Definitions
	// Compared is what the head is compared with (running, --base, or the
	// live service's definitions); nil when nothing.
	Compared      *Definitions
	CompareCommit *plan.Commit
	// Running is the running commit's definitions (the rules read its
	// images); nil for a first deployment.
	Running *Definitions
	Live    bool
	// LiveSummary says what runs (live plans).
	LiveSummary string
	MaskAll     bool
}

// version is PipeCD's version of a task definition: the first
// container's image tag.
func version(td *Definitions) string {
	if td == nil || td.Missing != nil || len(td.Task.ContainerDefinitions) == 0 {
		return versionUnknown
	}
	_, tag := manifest.ParseImage(deref(td.Task.ContainerDefinitions[0].Image))
	return tag
}

func images(d *Definitions) []string {
	var out []string
	for _, c := range d.Task.ContainerDefinitions {
		out = append(out, deref(c.Image))
	}
	return out
}

// planECS plans a deployment of an ECSApp, by PipeCD's ECS rules:
//
//  1. forced by the command (--strategy);
//  2. no pipeline configured: quick sync;
//  3. planner.alwaysUsePipeline: pipeline;
//  4. commitMatcher.pipeline, then commitMatcher.quickSync;
//  5. no successful deployment recorded: quick sync (the first
//     deployment);
//  6. the image changed: the pipeline ("Sync with pipeline to update
//     image from X to Y");
//  7. otherwise the pipeline.
func planECS(in planInput) (*plan.Plan, error) {
	spec := in.Spec
	input := in.Input
	input.Spec = spec.Generic()
	v := version(in.Head)
	p, err := plan.New(input, plan.Kind{
		QuickSync:         plan.Stage{ID: "ECSSync", Name: config.StageECSSync, Desc: "Deploy the new version and configure all traffic to it"},
		AutoRollback:      spec.AutoRollbackEnabled(config.KindECSApp),
		NoPipelineReason:  fmt.Sprintf("Quick sync to deploy image %s and configure all traffic to it (pipeline was not configured)", v),
		CommitMatchReason: fmt.Sprintf("Quick sync to deploy image %s and configure all traffic to it", v),
		Decide: func() (plan.Decision, error) {
			if in.Running == nil {
				return plan.Decision{Strategy: plan.StrategyQuickSync, Rule: plan.RuleFirstDeployment,
					Reason: fmt.Sprintf("Quick sync to deploy image %s and configure all traffic to it (it seems this is the first deployment)", v)}, nil
			}
			if old := version(in.Running); old != v {
				return plan.Decision{Strategy: plan.StrategyPipeline, Rule: plan.RuleImageChange,
					Reason: fmt.Sprintf("Sync with pipeline to update image from %s to %s", old, v)}, nil
			}
			return plan.Decision{Strategy: plan.StrategyPipeline, Rule: plan.RuleOtherChange, Reason: "Sync with the specified pipeline"}, nil
		},
	})
	if err != nil {
		return nil, err
	}
	p.App.Kind = string(config.KindECSApp)
	p.Version = strings.Join(images(in.Head), ", ")
	if p.Version == "" {
		// No task definition (PipeCD's wait-approval example): the
		// version the reason names.
		p.Version = versionUnknown
	}
	d := Details{TaskDefinition: deref(in.Head.Task.Family), Images: images(in.Head), Standalone: in.Head.Service == nil, Live: in.LiveSummary}
	if s := in.Head.Service; s != nil {
		d.Service, d.Cluster = deref(s.ServiceName), deref(s.ClusterArn)
	}
	if in.Running != nil {
		d.RunningImages = images(in.Running)
	}
	if in.Head.Missing != nil {
		p.Compared = "nothing: " + in.Head.Missing.Error()
	} else {
		p.Changes = changes(in)
	}
	p.Summary = plan.Summarize(p.Changes)
	switch {
	case in.Live:
		p.Mode = plan.ModeLive
		p.Compared = "the live service with the head's definitions"
		if in.LiveSummary != "" {
			p.Compared += " (" + in.LiveSummary + ")"
		}
		live := "absent"
		if in.Compared != nil {
			live = docdiff.Digest([]any{in.Compared.taskDoc, in.Compared.serviceDoc})
		}
		p.Source.Live = &plan.LiveFingerprint{Digest: live, Objects: map[string]string{"service": live}}
	case in.Compared != nil && in.CompareCommit != nil:
		c := *in.CompareCommit
		p.Base = &c
	}
	if p.Details, err = json.Marshal(d); err != nil {
		return nil, err
	}
	p.Source.Desired = docdiff.Digest([]any{in.Head.taskDoc, in.Head.serviceDoc})
	p.Source.DesiredChanged = "the task or service definition resolves differently than when the plan was made"
	return p, nil
}

// changes are the task definition's and the service definition's diffs.
func changes(in planInput) []plan.Change {
	from := "running"
	if in.Live {
		from = "live"
	} else if in.Running == nil && in.Compared != nil {
		from = "base"
	}
	var out []plan.Change
	var oldTask, oldSvc map[string]any
	if in.Compared != nil && in.Compared.Missing == nil {
		oldTask, oldSvc = in.Compared.taskDoc, in.Compared.serviceDoc
	}
	newTask, newSvc := in.Head.taskDoc, in.Head.serviceDoc
	if in.Live && oldSvc != nil {
		// The live side shows what AWS fills in and what an EXTERNAL
		// service keeps on its task sets: only what the head sets, and
		// drift compares, is compared.
		newSvc = normService(newSvc)
		oldSvc = docdiff.Restrict(normService(oldSvc), newSvc)
		if oldTask != nil {
			oldTask = docdiff.Restrict(oldTask, newTask)
		}
	}
	mo, mn := maskTask(oldTask, newTask, in.MaskAll)
	if c := change("ecs:TaskDefinition:"+deref(in.Head.Task.Family), "task definition "+deref(in.Head.Task.Family), in.Head.TaskFile, mo, mn, in.Compared == nil || oldTask == nil, from); c != nil {
		out = append(out, *c)
	}
	if in.Head.Service != nil {
		name := deref(in.Head.Service.ServiceName)
		if c := change("ecs:Service:"+name, "service "+name, in.Head.ServiceFile, oldSvc, newSvc, in.Compared == nil || oldSvc == nil, from); c != nil {
			out = append(out, *c)
		}
	}
	return out
}

func change(key, label, file string, oldDoc, newDoc map[string]any, added bool, from string) *plan.Change {
	diff := manifest.Diff(oldDoc, newDoc, label, from, "head", 3)
	if diff == "" {
		return nil
	}
	c := &plan.Change{Key: key, Language: plan.LanguageDiff, Diff: diff, Source: file, Action: plan.ActionChange}
	if added {
		c.Action = plan.ActionAdd
	}
	return c
}

// maskTask masks the containers' environment values that look secret in
// copies of two task definition documents: "***" on the old side and
// where unchanged, "*** (changed)" on the new side where it changed.
func maskTask(oldDoc, newDoc map[string]any, all bool) (map[string]any, map[string]any) {
	oldEnv, newEnv := envValues(oldDoc), envValues(newDoc)
	mask := func(doc map[string]any, env, other map[string]string, isNew bool) map[string]any {
		if doc == nil {
			return nil
		}
		return mapEnv(doc, func(container, name, value string) string {
			key := container + "/" + name
			ov, inOther := other[key]
			switch {
			case !redact.SecretVar(all, name, value, ov):
				return value
			case isNew && inOther && ov != value:
				return manifest.MaskSecretChanged
			}
			return manifest.MaskSecret
		})
	}
	return mask(oldDoc, oldEnv, newEnv, false), mask(newDoc, newEnv, oldEnv, true)
}

// envValues maps "container/NAME" to the value of every environment
// variable of a task definition document.
func envValues(doc map[string]any) map[string]string {
	out := map[string]string{}
	if doc == nil {
		return out
	}
	mapEnv(doc, func(container, name, value string) string {
		out[container+"/"+name] = value
		return value
	})
	return out
}

// mapEnv returns a copy of a task definition document whose environment
// values are f's.
func mapEnv(doc map[string]any, f func(container, name, value string) string) map[string]any {
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		out[k] = v
	}
	cds, _ := docdiff.Field(doc, "containerDefinitions").([]any)
	if cds == nil {
		return out
	}
	newCDs := make([]any, len(cds))
	for i, cd := range cds {
		m, ok := cd.(map[string]any)
		if !ok {
			newCDs[i] = cd
			continue
		}
		cm := make(map[string]any, len(m))
		for k, v := range m {
			cm[k] = v
		}
		cname, _ := docdiff.Field(m, "name").(string)
		if envs, ok := docdiff.Field(m, "environment").([]any); ok {
			ne := make([]any, len(envs))
			for j, e := range envs {
				em, ok := e.(map[string]any)
				if !ok {
					ne[j] = e
					continue
				}
				c := make(map[string]any, len(em))
				for k, v := range em {
					c[k] = v
				}
				name, _ := docdiff.Field(em, "name").(string)
				if val, ok := docdiff.Field(em, "value").(string); ok {
					c[docdiff.Key(em, "value")] = f(cname, name, val)
				}
				ne[j] = c
			}
			cm[docdiff.Key(m, "environment")] = ne
		}
		newCDs[i] = cm
	}
	out[docdiff.Key(doc, "containerDefinitions")] = newCDs
	return out
}

func secretEnv(name, value string) bool { return redact.SecretVar(false, name, value) }
