package ecs

import (
	"context"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/docdiff"
	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/redact"
)

// Drift implements drift.Platform: the live service and the task
// definition of its primary task set against the definition files in the
// working tree, normalised as PipeCD does: only what the files set is
// compared (AWS fills in the rest); runtime fields (ARNs, counts, events,
// task sets, status, registration data) and what task sets carry for an
// EXTERNAL service (load balancers, network configuration, launch type,
// platform version) are left out; environment variables compare by name;
// a port mapping's hostPort is ignored; desiredCount is ignored when the
// file leaves it 0 or unset (autoscaling owns it); tags compare as a set,
// the ones ECS and pipe add ignored. Standalone tasks are skipped.
func (p *Platform) Drift(ctx context.Context, b *drift.Batch) {
	for i, app := range b.Apps {
		b.GoTree(i, p.opts.Root, func(ctx context.Context, root string, r *drift.AppResult) {
			if err := p.drift(ctx, root, app, r); err != nil {
				r.Status, r.Error = drift.Failed, err.Error()
			}
		})
	}
}

// Fields of a service definition that an EXTERNAL service keeps on its
// task sets, or that name it: not compared with the live service.
var serviceSkip = map[string]bool{
	"cluster": true, "clusterarn": true, "servicename": true, "role": true, "rolearn": true,
	"loadbalancers": true, "networkconfiguration": true, "launchtype": true, "platformversion": true,
	"serviceregistries": true, "capacityproviderstrategy": true, "taskdefinition": true, "deploymentcontroller": true,
}

func (p *Platform) drift(ctx context.Context, root string, app *config.App, r *drift.AppResult) error {
	head, err := loadDefinitions(root, app)
	if err != nil {
		return err
	}
	if head.Missing != nil {
		r.Status, r.Reason = drift.Skipped, "no task definition to compare the live service with: "+head.Missing.Error()
		return nil
	}
	if head.Service == nil {
		r.Status, r.Reason = drift.Skipped, "a standalone task: nothing runs to compare"
		return nil
	}
	cl, err := p.client(ctx, app)
	if err != nil {
		return err
	}
	ls, err := cl.observe(ctx, head)
	if err != nil {
		return err
	}
	name := deref(head.Service.ServiceName)
	r.Objects = 2
	if ls == nil {
		r.Status, r.Added = drift.OutOfSync, 1
		r.Drift = []drift.ObjectDrift{{Key: "ecs:Service:" + name, Object: "service " + name, Action: drift.ActionAdded, Note: "the service does not exist in AWS"}}
		return nil
	}
	var out []drift.ObjectDrift
	svcFields := docdiff.Compare(normService(head.serviceDoc), normService(ls.Defs.serviceDoc), diffOptions(p.opts.MaskAllEnv))
	if len(svcFields) > 0 {
		out = append(out, drift.ObjectDrift{Key: "ecs:Service:" + name, Object: "service " + name, Action: drift.ActionChanged, Fields: svcFields})
	}
	family := deref(head.Task.Family)
	if ls.Task == nil {
		out = append(out, drift.ObjectDrift{Key: "ecs:TaskDefinition:" + family, Object: "task definition " + family, Action: drift.ActionAdded, Note: "the service has no primary task set"})
	} else if f := docdiff.Compare(normTask(head.taskDoc), normTask(ls.Defs.taskDoc), diffOptions(p.opts.MaskAllEnv)); len(f) > 0 {
		out = append(out, drift.ObjectDrift{Key: "ecs:TaskDefinition:" + family, Object: "task definition " + family + " (primary task set runs " + shortARN(deref(ls.Task.TaskDefinitionArn)) + ")", Action: drift.ActionChanged, Fields: f})
	}
	if len(out) == 0 {
		r.Status = drift.InSync
		return nil
	}
	r.Status, r.Drift = drift.OutOfSync, out
	for _, o := range out {
		if o.Action == drift.ActionAdded {
			r.Added++
		} else {
			r.Changed++
		}
	}
	return nil
}

// normService keeps what a service definition compares, tags as a map
// without the ones ECS and pipe add, desiredCount only when set.
func normService(doc map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range doc {
		lk := strings.ToLower(k)
		if serviceSkip[lk] {
			continue
		}
		switch lk {
		case "desiredcount":
			if n, ok := number(v); ok && n == 0 {
				continue
			}
		case "tags":
			v = tagMap(v)
			if len(v.(map[string]any)) == 0 {
				continue
			}
		}
		out[lowerFirst(k)] = v
	}
	return out
}

// normTask keeps what a task definition compares: environment variables
// sorted by name, hostPort left out, registration data dropped.
func normTask(doc map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range doc {
		switch strings.ToLower(k) {
		case "taskdefinitionarn", "revision", "status", "registeredat", "registeredby", "deregisteredat", "requiresattributes", "compatibilities", "tags":
			continue
		case "containerdefinitions":
			v = normContainers(v)
		}
		out[lowerFirst(k)] = v
	}
	return out
}

func normContainers(v any) any {
	list, ok := v.([]any)
	if !ok {
		return v
	}
	out := make([]any, len(list))
	for i, c := range list {
		m, ok := c.(map[string]any)
		if !ok {
			out[i] = c
			continue
		}
		cm := map[string]any{}
		for k, v := range m {
			switch strings.ToLower(k) {
			case "environment":
				v = envMap(v)
			case "portmappings":
				v = withoutHostPort(v)
			}
			cm[lowerFirst(k)] = v
		}
		out[i] = cm
	}
	return out
}

// envMap turns [{name, value}] into {name: value}.
func envMap(v any) any {
	list, ok := v.([]any)
	if !ok {
		return v
	}
	m := map[string]any{}
	for _, e := range list {
		em, ok := e.(map[string]any)
		if !ok {
			continue
		}
		name, _ := docdiff.Field(em, "name").(string)
		m[name] = docdiff.Field(em, "value")
	}
	return m
}

func withoutHostPort(v any) any {
	list, ok := v.([]any)
	if !ok {
		return v
	}
	out := make([]any, len(list))
	for i, e := range list {
		em, ok := e.(map[string]any)
		if !ok {
			out[i] = e
			continue
		}
		c := map[string]any{}
		for k, v := range em {
			if !strings.EqualFold(k, "hostPort") {
				c[lowerFirst(k)] = v
			}
		}
		out[i] = c
	}
	return out
}

func tagMap(v any) map[string]any {
	m := map[string]any{}
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			if em, ok := e.(map[string]any); ok {
				k, _ := docdiff.Field(em, "key").(string)
				m[k] = docdiff.Field(em, "value")
			}
		}
	case map[string]any:
		for k, val := range t {
			m[k] = val
		}
	}
	for k := range m {
		if strings.HasPrefix(k, "aws:") || strings.HasPrefix(k, "ecs:") || strings.HasPrefix(k, "pipe.dev/") {
			delete(m, k)
		}
	}
	return m
}

// diffOptions compare ECS's sets (subnets, security groups,
// compatibilities) as sets and mask secret-looking environment values.
func diffOptions(maskAll bool) docdiff.Options {
	return docdiff.Options{
		Sets: map[string]bool{"subnets": true, "securitygroups": true, "requirescompatibilities": true, "compatibilities": true},
		Show: func(path string, v, other any) any { return show(path, v, other, maskAll) },
	}
}

// show renders a value of a report, an environment value masked when it
// looks secret.
func show(path string, v, other any, maskAll bool) any {
	if i := strings.Index(path, ".environment."); i >= 0 {
		name := path[i+len(".environment."):]
		s, _ := v.(string)
		o, _ := other.(string)
		if redact.SecretVar(maskAll, name, s, o) {
			return drift.Mask
		}
	}
	return v
}

func number(v any) (float64, bool) {
	switch t := v.(type) {
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	case float64:
		return t, true
	}
	return 0, false
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
