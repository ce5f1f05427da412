package awsemu

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The ECS state. Everything is guarded by Emulator.mu; time-driven
// transitions (tasks starting and stopping, task sets stabilizing) are
// applied by settleECS at the start of every ECS or ELBv2 request and
// every Go API call.

// ecsState is the ECS part of the emulated account.
type ecsState struct {
	clusters map[string]*ecsCluster // by name
	families map[string][]*ecsTaskDef
	// failImage/failReason: tasks whose task definition runs failImage
	// stop with failReason (FailTasks).
	failImage, failReason string
	// seq counts ECS/ELBv2 requests and Go API calls: a transition never
	// happens within the request that scheduled it, so with UpdateDelay 0
	// the change is visible from the next request on.
	seq    uint64
	nextIP int
}

type ecsTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type ecsCluster struct {
	name, arn string
	tags      []ecsTag
	services  []*ecsService // in creation order; deleted ones stay INACTIVE
	tasks     []*ecsTask    // standalone tasks (RunTask)
	created   time.Time
	settings  json.RawMessage
}

// ecsLoadBalancer is LoadBalancer on the wire.
type ecsLoadBalancer struct {
	TargetGroupArn   string `json:"targetGroupArn,omitempty"`
	LoadBalancerName string `json:"loadBalancerName,omitempty"`
	ContainerName    string `json:"containerName,omitempty"`
	ContainerPort    *int32 `json:"containerPort,omitempty"`
}

type ecsService struct {
	cluster                                            *ecsCluster
	name, arn, status                                  string
	desired                                            int32
	taskDefinition                                     string // as given, resolved to an ARN
	launchType, platformVersion, schedulingStrategy    string
	propagateTags, roleArn, controller, platformFamily string
	enableManagedTags, enableExecuteCommand            bool
	loadBalancers                                      []ecsLoadBalancer
	networkConfiguration                               json.RawMessage
	// extra holds members kept and returned as given
	// (placementConstraints, deploymentConfiguration, ...).
	extra     map[string]json.RawMessage
	tags      []ecsTag
	taskSets  []*ecsTaskSet // task sets (EXTERNAL) or deployments (ECS)
	events    []ecsEvent    // newest first
	steady    bool
	createdAt time.Time
}

type ecsEvent struct {
	ID        string  `json:"id"`
	CreatedAt float64 `json:"createdAt"`
	Message   string  `json:"message"`
	at        time.Time
}

// ecsTaskSet is a task set of an EXTERNAL service or, with deployment
// set, a deployment of an ECS-controller service.
type ecsTaskSet struct {
	svc                         *ecsService
	id, arn, status             string
	deployment                  bool
	taskDef                     *ecsTaskDef
	scale                       float64
	externalID, startedBy       string
	launchType, platformVersion string
	loadBalancers               []ecsLoadBalancer
	networkConfiguration        json.RawMessage
	extra                       map[string]json.RawMessage
	tags                        []ecsTag
	tasks                       []*ecsTask
	createdAt, updatedAt        time.Time
	stability                   string
	stabilityAt                 time.Time
	failures                    int
	drainedAt                   time.Time
}

type ecsTaskDef struct {
	family, arn   string
	revision      int32
	raw           map[string]json.RawMessage // the registered request, tags left out
	body          []byte                     // the registered request as sent
	containers    []ecsContainerDef
	status        string
	registeredAt  time.Time
	deregistered  time.Time
	tags          []ecsTag
	cpu, memory   string
	networkMode   string
	requiresCompt []string
}

type ecsContainerDef struct {
	Name         string `json:"name"`
	Image        string `json:"image"`
	Essential    *bool  `json:"essential"`
	PortMappings []struct {
		ContainerPort *int32 `json:"containerPort"`
	} `json:"portMappings"`
}

func (c ecsContainerDef) port() int32 {
	for _, p := range c.PortMappings {
		if p.ContainerPort != nil {
			return *p.ContainerPort
		}
	}
	return 0
}

type ecsTask struct {
	id, arn                string
	cluster                *ecsCluster
	taskDef                *ecsTaskDef
	set                    *ecsTaskSet // nil for RunTask
	group, startedBy       string
	launchType, platformVr string
	createdAt              time.Time
	runAt, stopAt          time.Time // zero: not scheduled
	bornSeq, stopSeq       uint64
	exitCode               int32
	stopReason, stopCode   string
	ip                     string
	stopSeen               bool
	selfStop               bool // stopAt is the task exiting (or failing) on its own, not a stop asked for
	tags                   []ecsTag
	networkConfiguration   json.RawMessage
	overrides              json.RawMessage
	cpu, memory            string
}

// status is the task's lastStatus now.
func (t *ecsTask) status(now time.Time, seq uint64) string {
	switch {
	case t.stopped(now, seq):
		return "STOPPED"
	case t.running(now, seq):
		if t.stopping() {
			return "DEACTIVATING"
		}
		return "RUNNING"
	case t.stopping():
		return "STOPPING"
	case seq > t.bornSeq:
		return "PENDING"
	}
	return "PROVISIONING"
}

// stopping reports whether the task was asked to stop (not exiting on
// its own).
func (t *ecsTask) stopping() bool { return !t.stopAt.IsZero() && !t.selfStop }

func (t *ecsTask) stopped(now time.Time, seq uint64) bool {
	return !t.stopAt.IsZero() && !now.Before(t.stopAt) && seq > t.stopSeq
}

func (t *ecsTask) running(now time.Time, seq uint64) bool {
	return !t.runAt.IsZero() && !now.Before(t.runAt) && seq > t.bornSeq && !t.stopped(now, seq)
}

// desiredStatus is RUNNING until the task is asked to stop or has exited.
func (t *ecsTask) desiredStatus(now time.Time, seq uint64) string {
	if t.live(now, seq) {
		return "RUNNING"
	}
	return "STOPPED"
}

// live reports whether the task is meant to run: not asked to stop and
// not exited.
func (t *ecsTask) live(now time.Time, seq uint64) bool {
	return t.stopAt.IsZero() || t.selfStop && !t.stopped(now, seq)
}

// ECS ARNs.
func (e *Emulator) ecsARN(kind, rest string) string {
	return "arn:aws:ecs:" + e.region + ":" + AccountID + ":" + kind + "/" + rest
}

// ecsName is the last path element of an ARN, or s.
func ecsName(s string) string {
	if strings.HasPrefix(s, "arn:") {
		if i := strings.LastIndex(s, "/"); i >= 0 {
			return s[i+1:]
		}
	}
	return s
}

// computedDesired is ceil(scale% × desired) for a live task set.
func (ts *ecsTaskSet) computedDesired() int32 {
	if ts.status == "DRAINING" {
		return 0
	}
	if ts.deployment {
		if ts.status == "PRIMARY" {
			return ts.svc.desired
		}
		// An old deployment keeps its tasks until the primary is steady.
		if p := ts.svc.primary(); p != nil && p.stability == "STEADY_STATE" {
			return 0
		}
		return ts.svc.desired
	}
	n := math.Ceil(ts.scale*float64(ts.svc.desired)/100 - 1e-9)
	if n < 0 {
		return 0
	}
	return int32(n)
}

func (s *ecsService) primary() *ecsTaskSet {
	for _, ts := range s.taskSets {
		if ts.status == "PRIMARY" {
			return ts
		}
	}
	return nil
}

// counts are a task set's running and pending tasks.
func (e *Emulator) ecsCounts(tasks []*ecsTask) (running, pending int32) {
	now, seq := e.now(), e.ecs.seq
	for _, t := range tasks {
		switch t.status(now, seq) {
		case "RUNNING", "DEACTIVATING":
			running++
		case "PROVISIONING", "PENDING":
			pending++
		}
	}
	return running, pending
}

// liveTasks are the tasks meant to run (desiredStatus RUNNING).
func (e *Emulator) liveTasks(tasks []*ecsTask) []*ecsTask {
	var out []*ecsTask
	for _, t := range tasks {
		if t.live(e.now(), e.ecs.seq) {
			out = append(out, t)
		}
	}
	return out
}

func (t *ecsTask) image() []string {
	var out []string
	for _, c := range t.taskDef.containers {
		out = append(out, c.Image)
	}
	return out
}

// failing is the reason a task of td fails, or "".
func (e *Emulator) failing(td *ecsTaskDef) string {
	if e.ecs.failImage == "" {
		return ""
	}
	for _, c := range td.containers {
		if c.Image == e.ecs.failImage {
			return e.ecs.failReason
		}
	}
	return ""
}

// launch starts a task of td now. Callers hold e.mu.
func (e *Emulator) launch(c *ecsCluster, td *ecsTaskDef, set *ecsTaskSet, standalone bool) *ecsTask {
	now := e.now()
	id := e.nextID("task")[:32]
	e.ecs.nextIP++
	n := e.ecs.nextIP
	t := &ecsTask{
		id: id, arn: e.ecsARN("task", c.name+"/"+id), cluster: c, taskDef: td, set: set,
		createdAt: now, bornSeq: e.ecs.seq, stopSeq: e.ecs.seq,
		ip:  "10.0." + strconv.Itoa(n/250) + "." + strconv.Itoa(n%250+1),
		cpu: td.cpu, memory: td.memory,
	}
	delay := e.delay
	if reason := e.failing(td); reason != "" {
		t.stopAt, t.exitCode, t.stopReason, t.stopCode, t.selfStop = now.Add(delay), 1, reason, "EssentialContainerExited", true
		return t
	}
	if standalone {
		t.runAt = now.Add(delay / 2)
		t.stopAt, t.exitCode, t.stopReason, t.stopCode, t.selfStop = now.Add(delay), 0, "Essential container in task exited", "EssentialContainerExited", true
		return t
	}
	t.runAt = now.Add(delay)
	return t
}

// stopTask schedules a task's stop: at once when it is not running yet,
// after the delay (deregistration, draining) when it is.
func (e *Emulator) stopTask(t *ecsTask, reason, code string) {
	now := e.now()
	if t.stopped(now, e.ecs.seq) || !t.stopAt.IsZero() && !t.selfStop {
		return
	}
	running := t.running(now, e.ecs.seq)
	t.stopReason, t.stopCode, t.stopSeq, t.exitCode, t.selfStop = reason, code, e.ecs.seq, 0, false
	if running {
		t.stopAt = now.Add(e.delay)
		return
	}
	t.stopAt, t.runAt = now, time.Time{}
}

// event adds a service event (newest first, at most 100).
func (e *Emulator) event(s *ecsService, at time.Time, msg string) {
	ev := ecsEvent{ID: e.uuid(), CreatedAt: epoch(at), Message: msg, at: at}
	i := 0
	for i < len(s.events) && s.events[i].at.After(at) {
		i++
	}
	s.events = slices.Insert(s.events, i, ev)
	if len(s.events) > 100 {
		s.events = s.events[:100]
	}
}

func epoch(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

// label is how events name a task set: "(service web, taskSet ecs-svc/1)"
// or, for a deployment, "(service web)".
func (ts *ecsTaskSet) label() string {
	if ts.deployment {
		return "(service " + ts.svc.name + ")"
	}
	return "(service " + ts.svc.name + ", taskSet " + ts.id + ")"
}

func taskList(ts []*ecsTask) string {
	var parts []string
	for _, t := range ts {
		parts = append(parts, "(task "+t.id+")")
	}
	return strings.Join(parts, " ")
}
