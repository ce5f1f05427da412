package awsemu

import (
	"encoding/json"
	"slices"
	"strings"
)

// Tasks (RunTask, StopTask, ListTasks, DescribeTasks) and tags
// (TagResource, UntagResource, ListTagsForResource).

func (e *Emulator) ecsRunTask(body []byte) (any, *apiError) {
	var in struct {
		Cluster              string          `json:"cluster"`
		TaskDefinition       *string         `json:"taskDefinition"`
		Count                *int32          `json:"count"`
		LaunchType           *string         `json:"launchType"`
		NetworkConfiguration json.RawMessage `json:"networkConfiguration"`
		StartedBy            *string         `json:"startedBy"`
		Group                *string         `json:"group"`
		PlatformVersion      *string         `json:"platformVersion"`
		Overrides            json.RawMessage `json:"overrides"`
		Tags                 []ecsTag        `json:"tags"`
		PropagateTags        *string         `json:"propagateTags"`
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	c, err := e.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.TaskDefinition == nil || *in.TaskDefinition == "" {
		return nil, invalidParam("TaskDefinition must not be null or empty.")
	}
	td := e.findTaskDef(*in.TaskDefinition, false)
	if td == nil {
		return nil, clientErr("TaskDefinition not found.")
	}
	count := int32(1)
	if in.Count != nil {
		count = *in.Count
	}
	if count < 1 || count > 10 {
		return nil, invalidParam("Count must be between 1 and 10.")
	}
	launchType := "EC2"
	if in.LaunchType != nil {
		launchType = *in.LaunchType
	}
	if err := e.checkLaunch(launchType, td, in.NetworkConfiguration); err != nil {
		return nil, err
	}
	if in.StartedBy != nil && len(*in.StartedBy) > 128 {
		return nil, invalidParam("startedBy must be at most 128 characters.")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	tasks := []taskWire{}
	for range count {
		t := e.launch(c, td, nil, true)
		t.group, t.launchType, t.networkConfiguration, t.overrides, t.tags = "family:"+td.family, launchType, in.NetworkConfiguration, in.Overrides, in.Tags
		if in.Group != nil {
			t.group = *in.Group
		}
		if in.StartedBy != nil {
			t.startedBy = *in.StartedBy
		}
		if in.PlatformVersion != nil {
			t.platformVr = *in.PlatformVersion
		} else if launchType == "FARGATE" {
			t.platformVr = "1.4.0"
		}
		if in.PropagateTags != nil && *in.PropagateTags == "TASK_DEFINITION" {
			t.tags = append(slices.Clone(td.tags), t.tags...)
		}
		c.tasks = append(c.tasks, t)
		tasks = append(tasks, e.taskWire(t, true))
	}
	return map[string]any{"tasks": tasks, "failures": []ecsFailure{}}, nil
}

// findTask finds a task of c by ID or ARN.
func (e *Emulator) findTask(c *ecsCluster, ref string) *ecsTask {
	for _, t := range e.clusterTasks(c) {
		if t.id == ref || t.arn == ref {
			return t
		}
	}
	return nil
}

func (e *Emulator) ecsStopTask(body []byte) (any, *apiError) {
	var in struct {
		Cluster string `json:"cluster"`
		Task    string `json:"task"`
		Reason  string `json:"reason"`
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	c, err := e.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	t := e.findTask(c, in.Task)
	if t == nil {
		return nil, invalidParam("The referenced task was not found.")
	}
	if now := e.now(); !t.stopped(now, e.ecs.seq) {
		reason := in.Reason
		if reason == "" {
			reason = "Task stopped by user"
		}
		e.stopTask(t, reason, "UserInitiated")
	}
	return map[string]any{"task": e.taskWire(t, false)}, nil
}

func (e *Emulator) ecsListTasks(body []byte) (any, *apiError) {
	var in struct {
		Cluster       string `json:"cluster"`
		ServiceName   string `json:"serviceName"`
		StartedBy     string `json:"startedBy"`
		Family        string `json:"family"`
		DesiredStatus string `json:"desiredStatus"`
		LaunchType    string `json:"launchType"`
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	c, err := e.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.DesiredStatus == "" {
		in.DesiredStatus = "RUNNING"
	}
	if in.DesiredStatus != "RUNNING" && in.DesiredStatus != "STOPPED" && in.DesiredStatus != "PENDING" {
		return nil, invalidParam("Invalid desiredStatus %q.", in.DesiredStatus)
	}
	var svc *ecsService
	if in.ServiceName != "" {
		if svc = c.service(in.ServiceName); svc == nil {
			return nil, ecsErr("ServiceNotFoundException", "Service not found.")
		}
	}
	arns := []string{}
	for _, t := range e.clusterTasks(c) {
		desired := t.desiredStatus(e.now(), e.ecs.seq)
		if desired != in.DesiredStatus || (svc != nil && (t.set == nil || t.set.svc != svc)) ||
			(in.StartedBy != "" && t.startedBy != in.StartedBy) || (in.Family != "" && t.taskDef.family != in.Family) ||
			(in.LaunchType != "" && t.launchType != in.LaunchType) {
			continue
		}
		arns = append(arns, t.arn)
	}
	return map[string]any{"taskArns": arns}, nil
}

func (e *Emulator) ecsDescribeTasks(body []byte) (any, *apiError) {
	var in struct {
		Cluster string   `json:"cluster"`
		Tasks   []string `json:"tasks"`
		Include []string `json:"include"`
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	c, err := e.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.Tasks) == 0 {
		return nil, invalidParam("Tasks cannot be empty.")
	}
	if len(in.Tasks) > 100 {
		return nil, invalidParam("Tasks cannot contain more than 100 items.")
	}
	tasks, failures := []taskWire{}, []ecsFailure{}
	for _, ref := range in.Tasks {
		t := e.findTask(c, ref)
		if t == nil {
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = e.ecsARN("task", c.name+"/"+ref)
			}
			failures = append(failures, ecsFailure{Arn: arn, Reason: "MISSING"})
			continue
		}
		tasks = append(tasks, e.taskWire(t, slices.Contains(in.Include, "TAGS")))
	}
	return map[string]any{"tasks": tasks, "failures": failures}, nil
}

// taggable finds the tags of an ECS resource by ARN.
func (e *Emulator) taggable(arn string) *[]ecsTag {
	if !strings.HasPrefix(arn, "arn:aws:ecs:"+e.region+":"+AccountID+":") {
		return nil
	}
	rest := arn[len("arn:aws:ecs:"+e.region+":"+AccountID+":"):]
	kind, path, _ := strings.Cut(rest, "/")
	switch kind {
	case "cluster":
		if c := e.ecs.clusters[path]; c != nil {
			return &c.tags
		}
	case "task-definition":
		if td := e.findTaskDef(path, true); td != nil {
			return &td.tags
		}
	}
	for _, c := range e.ecs.clusters {
		for _, s := range c.services {
			if kind == "service" && s.arn == arn && s.status != "INACTIVE" {
				return &s.tags
			}
			for _, ts := range s.taskSets {
				if kind == "task-set" && ts.arn == arn {
					return &ts.tags
				}
			}
		}
		if kind == "task" {
			for _, t := range e.clusterTasks(c) {
				if t.arn == arn {
					return &t.tags
				}
			}
		}
	}
	return nil
}

func (e *Emulator) ecsTagResource(body []byte) (any, *apiError) {
	var in struct {
		ResourceArn string   `json:"resourceArn"`
		Tags        []ecsTag `json:"tags"`
		TagKeys     []string `json:"tagKeys"`
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	tags := e.taggable(in.ResourceArn)
	if tags == nil {
		return nil, invalidParam("The specified resource could not be found: %s", in.ResourceArn)
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	for _, t := range in.Tags {
		i := slices.IndexFunc(*tags, func(o ecsTag) bool { return o.Key == t.Key })
		if i >= 0 {
			(*tags)[i].Value = t.Value
		} else {
			*tags = append(*tags, t)
		}
	}
	return map[string]any{}, nil
}

func (e *Emulator) ecsUntagResource(body []byte) (any, *apiError) {
	var in struct {
		ResourceArn string   `json:"resourceArn"`
		TagKeys     []string `json:"tagKeys"`
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	tags := e.taggable(in.ResourceArn)
	if tags == nil {
		return nil, invalidParam("The specified resource could not be found: %s", in.ResourceArn)
	}
	*tags = slices.DeleteFunc(*tags, func(t ecsTag) bool { return slices.Contains(in.TagKeys, t.Key) })
	return map[string]any{}, nil
}

func (e *Emulator) ecsListTagsForResource(body []byte) (any, *apiError) {
	var in struct {
		ResourceArn string `json:"resourceArn"`
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	tags := e.taggable(in.ResourceArn)
	if tags == nil {
		return nil, invalidParam("The specified resource could not be found: %s", in.ResourceArn)
	}
	return map[string]any{"tags": nonNilTags(*tags)}, nil
}
