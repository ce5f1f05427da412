package awsemu

import (
	"encoding/json"
	"slices"
)

// Task sets of services with the EXTERNAL deployment controller:
// CreateTaskSet, UpdateTaskSet, UpdateServicePrimaryTaskSet,
// DeleteTaskSet, DescribeTaskSets.

type taskSetInput struct {
	Cluster              string             `json:"cluster"`
	Service              *string            `json:"service"`
	TaskSet              *string            `json:"taskSet"`
	PrimaryTaskSet       *string            `json:"primaryTaskSet"`
	TaskSets             []string           `json:"taskSets"`
	ExternalID           *string            `json:"externalId"`
	TaskDefinition       *string            `json:"taskDefinition"`
	NetworkConfiguration json.RawMessage    `json:"networkConfiguration"`
	LoadBalancers        *[]ecsLoadBalancer `json:"loadBalancers"`
	LaunchType           *string            `json:"launchType"`
	PlatformVersion      *string            `json:"platformVersion"`
	Scale                *scaleWire         `json:"scale"`
	Tags                 []ecsTag           `json:"tags"`
	Force                bool               `json:"force"`
	Include              []string           `json:"include"`
}

// externalService resolves a service whose task sets the caller manages.
func (e *Emulator) externalService(in *taskSetInput) (*ecsService, *apiError) {
	s, err := e.activeService(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if s.controller != "EXTERNAL" && s.controller != "CODE_DEPLOY" {
		return nil, invalidParam("Amazon ECS only supports task set management on services configured to use external deployment controllers.")
	}
	return s, nil
}

// taskSetRequest decodes a task set request and resolves its service.
func (e *Emulator) taskSetRequest(body []byte) (*taskSetInput, *ecsService, *apiError) {
	var in taskSetInput
	if err := decodeECS(body, &in); err != nil {
		return nil, nil, err
	}
	s, err := e.externalService(&in)
	if err != nil {
		return nil, nil, err
	}
	return &in, s, nil
}

// taskSet finds a task set of s by ID or ARN.
func (s *ecsService) taskSet(ref string) *ecsTaskSet {
	for _, ts := range s.taskSets {
		if !ts.deployment && (ts.id == ref || ts.arn == ref) {
			return ts
		}
	}
	return nil
}

func (e *Emulator) namedTaskSet(s *ecsService, ref *string) (*ecsTaskSet, *apiError) {
	if ref == nil || *ref == "" {
		return nil, invalidParam("TaskSet must not be null or empty.")
	}
	ts := s.taskSet(*ref)
	if ts == nil {
		return nil, ecsErr("TaskSetNotFoundException", "The specified task set does not exist.")
	}
	return ts, nil
}

func checkScale(sc *scaleWire) (float64, *apiError) {
	if sc == nil || sc.Value == nil {
		return 100, nil
	}
	if sc.Unit != "" && sc.Unit != "PERCENT" {
		return 0, invalidParam("Invalid scale unit %q.", sc.Unit)
	}
	if *sc.Value < 0 || *sc.Value > 100 {
		return 0, invalidParam("Scale value must be between 0 and 100.")
	}
	return *sc.Value, nil
}

func (e *Emulator) ecsCreateTaskSet(body []byte) (any, *apiError) {
	var raw map[string]json.RawMessage
	if err := decodeECS(body, &raw); err != nil {
		return nil, err
	}
	in, s, err := e.taskSetRequest(body)
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
	scale, err := checkScale(in.Scale)
	if err != nil {
		return nil, err
	}
	launchType := "EC2"
	if in.LaunchType != nil {
		launchType = *in.LaunchType
	} else if raw["capacityProviderStrategy"] != nil {
		launchType = ""
	}
	if err := e.checkLaunch(launchType, td, in.NetworkConfiguration); err != nil {
		return nil, err
	}
	var lbs []ecsLoadBalancer
	if in.LoadBalancers != nil {
		if len(*in.LoadBalancers) > 1 {
			return nil, invalidParam("Multiple target groups are not supported for services with an EXTERNAL deployment controller.")
		}
		if err := e.checkLoadBalancers(*in.LoadBalancers, td); err != nil {
			return nil, err
		}
		lbs = *in.LoadBalancers
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if len(s.taskSets) >= 5 {
		return nil, invalidParam("%d deployments exist on the service. Unable to create new TaskSet since this exceeds the maximum limit.", len(s.taskSets))
	}
	now := e.now()
	id := e.taskSetID()
	ts := &ecsTaskSet{svc: s, id: id, arn: e.ecsARN("task-set", s.cluster.name+"/"+s.name+"/"+id), status: "ACTIVE", taskDef: td,
		scale: scale, launchType: launchType, networkConfiguration: in.NetworkConfiguration, loadBalancers: lbs, tags: in.Tags,
		createdAt: now, updatedAt: now, stability: "STABILIZING", stabilityAt: now, extra: map[string]json.RawMessage{}}
	if in.ExternalID != nil {
		ts.externalID = *in.ExternalID
	}
	if in.PlatformVersion != nil {
		ts.platformVersion = *in.PlatformVersion
	} else if launchType == "FARGATE" {
		ts.platformVersion = "1.4.0"
	}
	if s.controller == "CODE_DEPLOY" {
		ts.startedBy = "CodeDeploy"
	}
	for _, k := range []string{"serviceRegistries", "capacityProviderStrategy"} {
		if v, ok := raw[k]; ok {
			ts.extra[k] = v
		}
	}
	s.taskSets = append(s.taskSets, ts)
	e.settleService(s)
	return map[string]any{"taskSet": e.taskSetWire(ts, false)}, nil
}

func (e *Emulator) ecsUpdateTaskSet(body []byte) (any, *apiError) {
	in, s, err := e.taskSetRequest(body)
	if err != nil {
		return nil, err
	}
	ts, err := e.namedTaskSet(s, in.TaskSet)
	if err != nil {
		return nil, err
	}
	if in.Scale == nil {
		return nil, invalidParam("Scale must not be null.")
	}
	scale, err := checkScale(in.Scale)
	if err != nil {
		return nil, err
	}
	if ts.status == "DRAINING" {
		return nil, invalidParam("The specified task set is draining and cannot be updated.")
	}
	ts.scale, ts.updatedAt = scale, e.now()
	e.settleService(s)
	return map[string]any{"taskSet": e.taskSetWire(ts, false)}, nil
}

func (e *Emulator) ecsUpdatePrimaryTaskSet(body []byte) (any, *apiError) {
	in, s, err := e.taskSetRequest(body)
	if err != nil {
		return nil, err
	}
	ts, err := e.namedTaskSet(s, in.PrimaryTaskSet)
	if err != nil {
		return nil, err
	}
	if ts.status == "DRAINING" {
		return nil, invalidParam("The specified task set is draining and cannot be made primary.")
	}
	now := e.now()
	for _, o := range s.taskSets {
		if o.status == "PRIMARY" && o != ts {
			o.status, o.updatedAt = "ACTIVE", now
		}
	}
	ts.status, ts.updatedAt = "PRIMARY", now
	s.taskDefinition = ts.taskDef.arn
	e.settleService(s)
	return map[string]any{"taskSet": e.taskSetWire(ts, false)}, nil
}

func (e *Emulator) ecsDeleteTaskSet(body []byte) (any, *apiError) {
	in, s, err := e.taskSetRequest(body)
	if err != nil {
		return nil, err
	}
	ts, err := e.namedTaskSet(s, in.TaskSet)
	if err != nil {
		return nil, err
	}
	if !in.Force && ts.status != "DRAINING" && ts.computedDesired() > 0 {
		return nil, invalidParam("The specified task set has not been scaled down to zero. Use force to delete it.")
	}
	if ts.status != "DRAINING" {
		ts.status, ts.updatedAt = "DRAINING", e.now()
		e.settleService(s)
	}
	return map[string]any{"taskSet": e.taskSetWire(ts, false)}, nil
}

func (e *Emulator) ecsDescribeTaskSets(body []byte) (any, *apiError) {
	in, s, err := e.taskSetRequest(body)
	if err != nil {
		return nil, err
	}
	withTags := slices.Contains(in.Include, "TAGS")
	sets, failures := []taskSetWire{}, []ecsFailure{}
	if len(in.TaskSets) == 0 {
		for _, ts := range s.sortedTaskSets() {
			sets = append(sets, e.taskSetWire(ts, withTags))
		}
	}
	for _, ref := range in.TaskSets {
		ts := s.taskSet(ref)
		if ts == nil {
			failures = append(failures, ecsFailure{Arn: ref, Reason: "MISSING"})
			continue
		}
		sets = append(sets, e.taskSetWire(ts, withTags))
	}
	return map[string]any{"taskSets": sets, "failures": failures}, nil
}
