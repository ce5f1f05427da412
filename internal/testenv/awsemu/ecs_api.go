package awsemu

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// ECSService is an ECS service as the emulator holds it, with its task
// sets (or, for the ECS deployment controller, its deployments).
type ECSService struct {
	Name, ARN, Cluster, Status, LaunchType   string
	DesiredCount, RunningCount, PendingCount int32
	DeploymentController                     string // ECS, EXTERNAL, CODE_DEPLOY
	TaskDefinition                           string // the service's, or its primary task set's
	TaskSets                                 []ECSTaskSet
	LoadBalancers                            []ECSLoadBalancer
	Tags                                     map[string]string
	Events                                   []string // newest first
}

// ECSLoadBalancer is one of a service's or task set's loadBalancers.
type ECSLoadBalancer struct {
	TargetGroupARN, LoadBalancerName, ContainerName string
	ContainerPort                                   int32
}

// ECSTaskSet is a task set (a deployment, for the ECS controller).
type ECSTaskSet struct {
	ID, ARN, Status, StabilityStatus, TaskDefinition string
	Scale                                            float64 // percent
	ComputedDesiredCount, RunningCount, PendingCount int32
	TargetGroups                                     []string
	ExternalID, LaunchType                           string
	Tasks                                            []ECSTask
}

// ECSTask is a task of a task set or of RunTask.
type ECSTask struct {
	ID, ARN, LastStatus, DesiredStatus, StoppedReason, TaskDefinition, IP string
	ExitCode                                                              int32
}

// ECSTaskDefinition is a registered task definition revision.
type ECSTaskDefinition struct {
	ARN, Family, Status string
	Revision            int32
	Images              []string
	JSON                []byte // the RegisterTaskDefinition request as registered
	Tags                map[string]string
}

// ensureECS initializes the ECS and ELBv2 state. Callers hold e.mu.
func (e *Emulator) ensureECS() {
	if e.ecs.clusters == nil {
		e.ecs.clusters = map[string]*ecsCluster{}
		e.ecs.families = map[string][]*ecsTaskDef{}
	}
	e.ensureELB()
}

// lockECS locks the emulator and starts a new moment (ecsBegin); the
// caller unlocks.
func (e *Emulator) lockECS() {
	e.mu.Lock()
	e.ensureECS()
	e.ecsBegin()
}

// CreateCluster creates the cluster name (or returns the existing one)
// and returns its ARN.
func (e *Emulator) CreateCluster(name string) (arn string) {
	e.lockECS()
	defer e.mu.Unlock()
	return e.createCluster(name, nil).arn
}

func (e *Emulator) createCluster(name string, tags []ecsTag) *ecsCluster {
	if c := e.ecs.clusters[name]; c != nil {
		return c
	}
	c := &ecsCluster{name: name, arn: e.ecsARN("cluster", name), tags: tags, created: e.now()}
	e.ecs.clusters[name] = c
	return c
}

// Service returns a service of cluster (name or ARN) with its task sets.
func (e *Emulator) Service(cluster, name string) (ECSService, bool) {
	e.lockECS()
	defer e.mu.Unlock()
	s := e.findService(cluster, name)
	if s == nil {
		return ECSService{}, false
	}
	return e.serviceState(s), true
}

// TaskSets returns the task sets of a service, the PRIMARY first.
func (e *Emulator) TaskSets(cluster, service string) []ECSTaskSet {
	s, _ := e.Service(cluster, service)
	return s.TaskSets
}

// Tasks returns the tasks of cluster, standalone and of services, running
// or recently stopped.
func (e *Emulator) Tasks(cluster string) []ECSTask {
	e.lockECS()
	defer e.mu.Unlock()
	c := e.ecs.clusters[ecsName(cluster)]
	if c == nil {
		return nil
	}
	var out []ECSTask
	for _, t := range e.clusterTasks(c) {
		out = append(out, e.taskState(t))
	}
	return out
}

// TaskDefinition returns a task definition by ARN, family:revision or
// family (the latest ACTIVE revision).
func (e *Emulator) TaskDefinition(arnOrFamilyRev string) (ECSTaskDefinition, bool) {
	e.lockECS()
	defer e.mu.Unlock()
	td := e.findTaskDef(arnOrFamilyRev, true)
	if td == nil {
		return ECSTaskDefinition{}, false
	}
	out := ECSTaskDefinition{ARN: td.arn, Family: td.family, Status: td.status, Revision: td.revision,
		JSON: slices.Clone(td.body), Tags: tagMap(td.tags)}
	for _, c := range td.containers {
		out.Images = append(out.Images, c.Image)
	}
	return out, true
}

// FailTasks makes the tasks of every task set, deployment or RunTask whose
// task definition has a container running image stop with stoppedReason
// reason and exit code 1 instead of running; their task set never reaches
// STEADY_STATE. FailTasks("", "") clears it.
func (e *Emulator) FailTasks(image, reason string) {
	e.lockECS()
	defer e.mu.Unlock()
	if reason == "" {
		reason = "Essential container in task exited"
	}
	if image == "" {
		reason = ""
	}
	e.ecs.failImage, e.ecs.failReason = image, reason
}

// SetDesiredCount changes a service's desired count out of band (an
// autoscaling policy, the console).
func (e *Emulator) SetDesiredCount(cluster, service string, n int32) bool {
	e.lockECS()
	defer e.mu.Unlock()
	s := e.findService(cluster, service)
	if s == nil || s.status != "ACTIVE" {
		return false
	}
	s.desired = n
	e.settleService(s)
	return true
}

// findService finds an ACTIVE or DRAINING service (or the newest INACTIVE
// one). Callers hold e.mu.
func (e *Emulator) findService(cluster, name string) *ecsService {
	if cluster == "" {
		cluster = "default"
	}
	c := e.ecs.clusters[ecsName(cluster)]
	if c == nil {
		return nil
	}
	return c.service(name)
}

func (c *ecsCluster) service(name string) *ecsService {
	name = ecsName(name)
	var found *ecsService
	for _, s := range c.services {
		if s.name == name {
			if s.status != "INACTIVE" {
				return s
			}
			found = s
		}
	}
	return found
}

// findTaskDef resolves ARN, family:revision or family (latest ACTIVE).
func (e *Emulator) findTaskDef(ref string, inactiveToo bool) *ecsTaskDef {
	if strings.HasPrefix(ref, "arn:") {
		_, ref, _ = strings.Cut(ref, ":task-definition/")
	}
	family, rev, hasRev := strings.Cut(ref, ":")
	revs := e.ecs.families[family]
	if !hasRev {
		for i := len(revs) - 1; i >= 0; i-- {
			if revs[i].status == "ACTIVE" {
				return revs[i]
			}
		}
		return nil
	}
	n, err := strconv.Atoi(rev)
	if err != nil || n < 1 || n > len(revs) {
		return nil
	}
	if td := revs[n-1]; inactiveToo || td.status == "ACTIVE" {
		return td
	}
	return nil
}

func tagMap(tags []ecsTag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func (e *Emulator) serviceState(s *ecsService) ECSService {
	out := ECSService{Name: s.name, ARN: s.arn, Cluster: s.cluster.name, Status: s.status, LaunchType: s.launchType,
		DesiredCount: s.desired, DeploymentController: s.controller, TaskDefinition: s.currentTaskDefinition(), Tags: tagMap(s.tags)}
	for _, lb := range s.loadBalancers {
		out.LoadBalancers = append(out.LoadBalancers, lbState(lb))
	}
	for _, ts := range s.sortedTaskSets() {
		st := e.taskSetState(ts)
		out.RunningCount += st.RunningCount
		out.PendingCount += st.PendingCount
		out.TaskSets = append(out.TaskSets, st)
	}
	for _, ev := range s.events {
		out.Events = append(out.Events, ev.Message)
	}
	return out
}

func lbState(lb ecsLoadBalancer) ECSLoadBalancer {
	out := ECSLoadBalancer{TargetGroupARN: lb.TargetGroupArn, LoadBalancerName: lb.LoadBalancerName, ContainerName: lb.ContainerName}
	if lb.ContainerPort != nil {
		out.ContainerPort = *lb.ContainerPort
	}
	return out
}

// sortedTaskSets are the PRIMARY first, then by creation, newest first.
func (s *ecsService) sortedTaskSets() []*ecsTaskSet {
	out := slices.Clone(s.taskSets)
	slices.SortStableFunc(out, func(a, b *ecsTaskSet) int {
		if (a.status == "PRIMARY") != (b.status == "PRIMARY") {
			if a.status == "PRIMARY" {
				return -1
			}
			return 1
		}
		return b.createdAt.Compare(a.createdAt)
	})
	return out
}

// currentTaskDefinition is the primary task set's task definition, or the
// service's own.
func (s *ecsService) currentTaskDefinition() string {
	if p := s.primary(); p != nil {
		return p.taskDef.arn
	}
	return s.taskDefinition
}

func (e *Emulator) taskSetState(ts *ecsTaskSet) ECSTaskSet {
	running, pending := e.ecsCounts(ts.tasks)
	out := ECSTaskSet{ID: ts.id, ARN: ts.arn, Status: ts.status, StabilityStatus: ts.stability, TaskDefinition: ts.taskDef.arn,
		Scale: ts.scale, ComputedDesiredCount: ts.computedDesired(), RunningCount: running, PendingCount: pending,
		ExternalID: ts.externalID, LaunchType: ts.launchType}
	for _, lb := range ts.loadBalancers {
		out.TargetGroups = append(out.TargetGroups, lb.TargetGroupArn)
	}
	for _, t := range ts.tasks {
		out.Tasks = append(out.Tasks, e.taskState(t))
	}
	return out
}

func (e *Emulator) taskState(t *ecsTask) ECSTask {
	return ECSTask{ID: t.id, ARN: t.arn, LastStatus: t.status(e.now(), e.ecs.seq), DesiredStatus: t.desiredStatus(e.now(), e.ecs.seq),
		StoppedReason: t.stoppedReason(e.now(), e.ecs.seq), TaskDefinition: t.taskDef.arn, IP: t.ip, ExitCode: t.exitCode}
}

func (t *ecsTask) stoppedReason(now time.Time, seq uint64) string {
	if !t.stopped(now, seq) && !t.stopping() {
		return ""
	}
	return t.stopReason
}

// clusterTasks are a cluster's standalone tasks and its services' tasks.
func (e *Emulator) clusterTasks(c *ecsCluster) []*ecsTask {
	var out []*ecsTask
	for _, s := range c.services {
		for _, ts := range s.taskSets {
			out = append(out, ts.tasks...)
		}
	}
	return append(out, c.tasks...)
}
