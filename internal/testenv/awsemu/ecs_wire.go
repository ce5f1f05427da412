package awsemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// The ECS wire shapes (awsJson1_1), as aws-sdk-go-v2's service/ecs
// schemas and the AWS CLI read and write them. Timestamps are epoch
// seconds.

const ecsTargetPrefix = "AmazonEC2ContainerServiceV20141113."

func ecsErr(code, format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, code, fmt.Sprintf(format, args...)}
}

func invalidParam(format string, args ...any) *apiError {
	return ecsErr("InvalidParameterException", format, args...)
}

func clientErr(format string, args ...any) *apiError {
	return ecsErr("ClientException", format, args...)
}

// writeECSError writes an awsJson1_1 error: {"__type": "ns#Code", "message": ...}.
func writeECSError(w http.ResponseWriter, err *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", err.code)
	w.WriteHeader(err.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.ecs#" + err.code, "message": err.message})
}

// decodeECS reads a request body; malformed JSON or a member of the wrong
// type is a SerializationException, as Coral services say.
func decodeECS(body []byte, v any) *apiError {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return ecsErr("SerializationException", "Could not parse the request: %v", err)
	}
	return nil
}

type ecsFailure struct {
	Arn    string `json:"arn"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

type scaleWire struct {
	Value *float64 `json:"value,omitempty"`
	Unit  string   `json:"unit,omitempty"`
}

type clusterWire struct {
	ClusterArn                        string          `json:"clusterArn"`
	ClusterName                       string          `json:"clusterName"`
	Status                            string          `json:"status"`
	RegisteredContainerInstancesCount int             `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int             `json:"runningTasksCount"`
	PendingTasksCount                 int             `json:"pendingTasksCount"`
	ActiveServicesCount               int             `json:"activeServicesCount"`
	Statistics                        []any           `json:"statistics"`
	Tags                              []ecsTag        `json:"tags"`
	Settings                          json.RawMessage `json:"settings"`
	CapacityProviders                 []string        `json:"capacityProviders"`
	DefaultCapacityProviderStrategy   []any           `json:"defaultCapacityProviderStrategy"`
}

func (e *Emulator) clusterWire(c *ecsCluster) clusterWire {
	out := clusterWire{ClusterArn: c.arn, ClusterName: c.name, Status: "ACTIVE", Statistics: []any{}, Tags: nonNilTags(c.tags),
		Settings: c.settings, CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []any{}}
	if out.Settings == nil {
		out.Settings = json.RawMessage(`[{"name":"containerInsights","value":"disabled"}]`)
	}
	for _, s := range c.services {
		if s.status == "ACTIVE" {
			out.ActiveServicesCount++
		}
	}
	now, seq := e.now(), e.ecs.seq
	for _, t := range e.clusterTasks(c) {
		switch t.status(now, seq) {
		case "RUNNING", "DEACTIVATING":
			out.RunningTasksCount++
		case "PROVISIONING", "PENDING":
			out.PendingTasksCount++
		}
	}
	return out
}

func nonNilTags(t []ecsTag) []ecsTag {
	if t == nil {
		return []ecsTag{}
	}
	return t
}

type deploymentWire struct {
	ID                   string          `json:"id"`
	Status               string          `json:"status"`
	TaskDefinition       string          `json:"taskDefinition"`
	DesiredCount         int32           `json:"desiredCount"`
	PendingCount         int32           `json:"pendingCount"`
	RunningCount         int32           `json:"runningCount"`
	FailedTasks          int             `json:"failedTasks"`
	CreatedAt            float64         `json:"createdAt"`
	UpdatedAt            float64         `json:"updatedAt"`
	LaunchType           string          `json:"launchType,omitempty"`
	PlatformVersion      string          `json:"platformVersion,omitempty"`
	NetworkConfiguration json.RawMessage `json:"networkConfiguration,omitempty"`
	RolloutState         string          `json:"rolloutState"`
	RolloutStateReason   string          `json:"rolloutStateReason"`
}

type taskSetWire struct {
	ID                   string            `json:"id"`
	TaskSetArn           string            `json:"taskSetArn"`
	ServiceArn           string            `json:"serviceArn"`
	ClusterArn           string            `json:"clusterArn"`
	StartedBy            string            `json:"startedBy,omitempty"`
	ExternalID           string            `json:"externalId,omitempty"`
	Status               string            `json:"status"`
	TaskDefinition       string            `json:"taskDefinition"`
	ComputedDesiredCount int32             `json:"computedDesiredCount"`
	PendingCount         int32             `json:"pendingCount"`
	RunningCount         int32             `json:"runningCount"`
	CreatedAt            float64           `json:"createdAt"`
	UpdatedAt            float64           `json:"updatedAt"`
	LaunchType           string            `json:"launchType,omitempty"`
	PlatformVersion      string            `json:"platformVersion,omitempty"`
	PlatformFamily       string            `json:"platformFamily,omitempty"`
	NetworkConfiguration json.RawMessage   `json:"networkConfiguration,omitempty"`
	LoadBalancers        []ecsLoadBalancer `json:"loadBalancers"`
	ServiceRegistries    json.RawMessage   `json:"serviceRegistries"`
	CapacityProviders    json.RawMessage   `json:"capacityProviderStrategy,omitempty"`
	Scale                scaleWire         `json:"scale"`
	StabilityStatus      string            `json:"stabilityStatus"`
	StabilityStatusAt    float64           `json:"stabilityStatusAt"`
	Tags                 []ecsTag          `json:"tags,omitempty"`
}

func (e *Emulator) taskSetWire(ts *ecsTaskSet, withTags bool) taskSetWire {
	running, pending := e.ecsCounts(ts.tasks)
	scale := ts.scale
	out := taskSetWire{ID: ts.id, TaskSetArn: ts.arn, ServiceArn: ts.svc.arn, ClusterArn: ts.svc.cluster.arn, StartedBy: ts.startedBy,
		ExternalID: ts.externalID, Status: ts.status, TaskDefinition: ts.taskDef.arn, ComputedDesiredCount: ts.computedDesired(),
		PendingCount: pending, RunningCount: running, CreatedAt: epoch(ts.createdAt), UpdatedAt: epoch(ts.updatedAt),
		LaunchType: ts.launchType, PlatformVersion: ts.platformVersion, NetworkConfiguration: ts.networkConfiguration,
		LoadBalancers: ts.loadBalancers, ServiceRegistries: ts.extra["serviceRegistries"], CapacityProviders: ts.extra["capacityProviderStrategy"],
		Scale: scaleWire{Value: &scale, Unit: "PERCENT"}, StabilityStatus: ts.stability, StabilityStatusAt: epoch(ts.stabilityAt)}
	if ts.launchType == "FARGATE" {
		out.PlatformFamily = "Linux"
	}
	if out.LoadBalancers == nil {
		out.LoadBalancers = []ecsLoadBalancer{}
	}
	if out.ServiceRegistries == nil {
		out.ServiceRegistries = json.RawMessage("[]")
	}
	if withTags {
		out.Tags = ts.tags
	}
	return out
}

func (e *Emulator) deploymentWire(ts *ecsTaskSet) deploymentWire {
	running, pending := e.ecsCounts(ts.tasks)
	out := deploymentWire{ID: ts.id, Status: ts.status, TaskDefinition: ts.taskDef.arn, DesiredCount: ts.computedDesired(),
		PendingCount: pending, RunningCount: running, FailedTasks: ts.failures, CreatedAt: epoch(ts.createdAt), UpdatedAt: epoch(ts.updatedAt),
		LaunchType: ts.launchType, PlatformVersion: ts.platformVersion, NetworkConfiguration: ts.networkConfiguration,
		RolloutState: "IN_PROGRESS", RolloutStateReason: "ECS deployment " + ts.id + " in progress."}
	if ts.status == "PRIMARY" && ts.svc.steady {
		out.RolloutState, out.RolloutStateReason = "COMPLETED", "ECS deployment "+ts.id+" completed."
	}
	return out
}

// serviceWire is Service on the wire; extra members (placement,
// deploymentConfiguration, ...) are merged in as given.
func (e *Emulator) serviceWire(s *ecsService, withTags bool) map[string]any {
	out := map[string]any{}
	for k, v := range s.extra {
		out[k] = v
	}
	var running, pending int32
	taskSets, deployments := []taskSetWire{}, []deploymentWire{}
	for _, ts := range s.sortedTaskSets() {
		r, p := e.ecsCounts(ts.tasks)
		running, pending = running+r, pending+p
		if ts.deployment {
			deployments = append(deployments, e.deploymentWire(ts))
		} else {
			taskSets = append(taskSets, e.taskSetWire(ts, false))
		}
	}
	lbs := s.loadBalancers
	if lbs == nil {
		lbs = []ecsLoadBalancer{}
	}
	set := func(k string, v any, keep bool) {
		if keep {
			out[k] = v
		}
	}
	set("serviceArn", s.arn, true)
	set("serviceName", s.name, true)
	set("clusterArn", s.cluster.arn, true)
	set("loadBalancers", lbs, true)
	set("serviceRegistries", json.RawMessage("[]"), s.extra["serviceRegistries"] == nil)
	set("status", s.status, true)
	set("desiredCount", s.desired, true)
	set("runningCount", running, true)
	set("pendingCount", pending, true)
	set("launchType", s.launchType, s.launchType != "")
	set("platformVersion", s.platformVersion, s.platformVersion != "")
	set("platformFamily", s.platformFamily, s.platformFamily != "")
	set("taskDefinition", s.currentTaskDefinition(), s.currentTaskDefinition() != "")
	set("taskSets", taskSets, s.controller != "ECS")
	set("deployments", deployments, true)
	set("roleArn", s.roleArn, s.roleArn != "")
	events := s.events
	if events == nil {
		events = []ecsEvent{}
	}
	set("events", events, true)
	set("createdAt", epoch(s.createdAt), true)
	set("placementConstraints", []any{}, s.extra["placementConstraints"] == nil)
	set("placementStrategy", []any{}, s.extra["placementStrategy"] == nil)
	set("networkConfiguration", s.networkConfiguration, s.networkConfiguration != nil)
	set("schedulingStrategy", s.schedulingStrategy, true)
	set("deploymentController", map[string]string{"type": s.controller}, true)
	set("createdBy", userARN, true)
	set("enableECSManagedTags", s.enableManagedTags, true)
	set("propagateTags", s.propagateTags, true)
	set("enableExecuteCommand", s.enableExecuteCommand, true)
	set("tags", s.tags, withTags && s.tags != nil)
	return out
}

type taskWire struct {
	TaskArn              string          `json:"taskArn"`
	ClusterArn           string          `json:"clusterArn"`
	TaskDefinitionArn    string          `json:"taskDefinitionArn"`
	LastStatus           string          `json:"lastStatus"`
	DesiredStatus        string          `json:"desiredStatus"`
	Cpu                  string          `json:"cpu,omitempty"`
	Memory               string          `json:"memory,omitempty"`
	Containers           []containerWire `json:"containers"`
	StartedBy            string          `json:"startedBy,omitempty"`
	Group                string          `json:"group"`
	LaunchType           string          `json:"launchType,omitempty"`
	PlatformVersion      string          `json:"platformVersion,omitempty"`
	PlatformFamily       string          `json:"platformFamily,omitempty"`
	AvailabilityZone     string          `json:"availabilityZone"`
	Connectivity         string          `json:"connectivity,omitempty"`
	ConnectivityAt       *float64        `json:"connectivityAt,omitempty"`
	CreatedAt            float64         `json:"createdAt"`
	PullStartedAt        *float64        `json:"pullStartedAt,omitempty"`
	StartedAt            *float64        `json:"startedAt,omitempty"`
	StoppingAt           *float64        `json:"stoppingAt,omitempty"`
	StoppedAt            *float64        `json:"stoppedAt,omitempty"`
	StoppedReason        string          `json:"stoppedReason,omitempty"`
	StopCode             string          `json:"stopCode,omitempty"`
	Version              int             `json:"version"`
	Attachments          []attachment    `json:"attachments"`
	Overrides            json.RawMessage `json:"overrides"`
	Tags                 []ecsTag        `json:"tags"`
	HealthStatus         string          `json:"healthStatus"`
	EnableExecuteCommand bool            `json:"enableExecuteCommand"`
}

type containerWire struct {
	ContainerArn      string   `json:"containerArn"`
	TaskArn           string   `json:"taskArn"`
	Name              string   `json:"name"`
	Image             string   `json:"image"`
	LastStatus        string   `json:"lastStatus"`
	ExitCode          *int32   `json:"exitCode,omitempty"`
	Reason            string   `json:"reason,omitempty"`
	NetworkInterfaces []netIfc `json:"networkInterfaces"`
	HealthStatus      string   `json:"healthStatus"`
}

type netIfc struct {
	AttachmentID       string `json:"attachmentId"`
	PrivateIpv4Address string `json:"privateIpv4Address"`
}

type attachment struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Status  string          `json:"status"`
	Details []attachmentKey `json:"details"`
}

type attachmentKey struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (e *Emulator) taskWire(t *ecsTask, withTags bool) taskWire {
	now, seq := e.now(), e.ecs.seq
	status := t.status(now, seq)
	at := func(tm time.Time) *float64 { f := epoch(tm); return &f }
	out := taskWire{TaskArn: t.arn, ClusterArn: t.cluster.arn, TaskDefinitionArn: t.taskDef.arn, LastStatus: status,
		DesiredStatus: t.desiredStatus(now, seq), Cpu: t.cpu, Memory: t.memory, StartedBy: t.startedBy, Group: t.group,
		LaunchType: t.launchType, PlatformVersion: t.platformVr, AvailabilityZone: e.region + "a", CreatedAt: epoch(t.createdAt),
		Version: 1, Overrides: t.overrides, Tags: nonNilTags(nil), HealthStatus: "UNKNOWN"}
	if t.launchType == "FARGATE" {
		out.PlatformFamily = "Linux"
	}
	if withTags {
		out.Tags = nonNilTags(t.tags)
	}
	if out.Overrides == nil {
		out.Overrides = json.RawMessage(`{"containerOverrides":[],"inferenceAcceleratorOverrides":[]}`)
	}
	attID := uuidOf(t.id)
	ifc := []netIfc{{AttachmentID: attID, PrivateIpv4Address: t.ip}}
	eni := attachment{ID: attID, Type: "ElasticNetworkInterface", Status: "ATTACHED",
		Details: []attachmentKey{{"subnetId", "subnet-0emulator"}, {"networkInterfaceId", "eni-" + t.id[:17]}, {"privateIPv4Address", t.ip}}}
	if status != "PROVISIONING" {
		out.Connectivity, out.ConnectivityAt, out.PullStartedAt = "CONNECTED", at(t.createdAt), at(t.createdAt)
		out.Version = 2
	}
	if status == "RUNNING" || status == "DEACTIVATING" || (status == "STOPPED" && !t.runAt.IsZero()) {
		out.StartedAt = at(t.runAt)
		out.Version = 3
	}
	if t.stopped(now, seq) || t.stopping() {
		out.StoppingAt = at(t.stopAt)
		out.StoppedReason, out.StopCode = t.stopReason, t.stopCode
	}
	if t.stopped(now, seq) {
		out.StoppedAt = at(t.stopAt)
		out.Version = 4
		eni.Status = "DELETED"
	}
	out.Attachments = []attachment{eni}
	for i, c := range t.taskDef.containers {
		cw := containerWire{ContainerArn: e.ecsARN("container", t.cluster.name+"/"+t.id+"/"+uuidOf(fmt.Sprint(t.id, i))), TaskArn: t.arn,
			Name: c.Name, Image: c.Image, LastStatus: status, NetworkInterfaces: ifc, HealthStatus: "UNKNOWN"}
		if status == "DEACTIVATING" {
			cw.LastStatus = "RUNNING"
		}
		if status == "STOPPING" || status == "PENDING" {
			cw.LastStatus = "PENDING"
		}
		if t.stopped(now, seq) {
			code := t.exitCode
			if code != 0 && !(c.Essential == nil || *c.Essential) {
				code = 0
			}
			cw.ExitCode = &code
			if t.stopCode == "ServiceSchedulerInitiated" || t.stopCode == "UserInitiated" {
				code = 143
				cw.ExitCode = &code
			}
		}
		out.Containers = append(out.Containers, cw)
	}
	if out.Containers == nil {
		out.Containers = []containerWire{}
	}
	return out
}

// uuidOf formats a stable UUID-shaped id from s.
func uuidOf(s string) string {
	h := fmt.Sprintf("%x", sha256Sum(s))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// taskDefinitionWire is the registered request plus what ECS adds.
func (e *Emulator) taskDefinitionWire(td *ecsTaskDef) map[string]any {
	out := map[string]any{}
	for k, v := range td.raw {
		out[k] = v
	}
	out["containerDefinitions"] = containerDefaults(td.raw["containerDefinitions"], td.networkMode)
	out["taskDefinitionArn"] = td.arn
	out["family"] = td.family
	out["revision"] = td.revision
	out["status"] = td.status
	out["registeredAt"] = epoch(td.registeredAt)
	out["registeredBy"] = userARN
	if td.status == "INACTIVE" {
		out["deregisteredAt"] = epoch(td.deregistered)
	}
	for _, k := range []string{"volumes", "placementConstraints", "requiresAttributes"} {
		if _, ok := out[k]; !ok {
			out[k] = []any{}
		}
	}
	if _, ok := out["networkMode"]; !ok {
		out["networkMode"] = "bridge"
	}
	compat := []string{"EC2"}
	if td.networkMode == "awsvpc" && td.cpu != "" && td.memory != "" {
		compat = append(compat, "FARGATE")
	}
	if slices.Contains(td.requiresCompt, "EXTERNAL") || td.networkMode != "awsvpc" {
		compat = append(compat, "EXTERNAL")
	}
	out["compatibilities"] = compat
	return out
}

// containerDefaults fills in what ECS returns for members left out.
func containerDefaults(raw json.RawMessage, networkMode string) any {
	var cs []map[string]any
	d := json.NewDecoder(bytesReader(raw))
	d.UseNumber()
	if d.Decode(&cs) != nil {
		return raw
	}
	for _, c := range cs {
		for k, v := range map[string]any{"cpu": 0, "essential": true, "environment": []any{}, "mountPoints": []any{}, "volumesFrom": []any{}, "portMappings": []any{}} {
			if _, ok := c[k]; !ok {
				c[k] = v
			}
		}
		if pms, ok := c["portMappings"].([]any); ok {
			for _, pm := range pms {
				if m, ok := pm.(map[string]any); ok {
					if _, ok := m["protocol"]; !ok {
						m["protocol"] = "tcp"
					}
					if _, ok := m["hostPort"]; !ok && (networkMode == "awsvpc" || networkMode == "host") {
						m["hostPort"] = m["containerPort"]
					}
				}
			}
		}
	}
	return cs
}
