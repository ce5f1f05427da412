package awsemu

import (
	"fmt"
	"slices"
)

// keepStopped is how many stopped tasks a task set (or a cluster's
// standalone tasks) keeps listing; real ECS shows stopped tasks for about
// an hour.
const keepStopped = 20

// ecsBegin starts an ECS/ELBv2 request or a Go API call: a new moment in
// which the transitions that are due have happened. Callers hold e.mu.
func (e *Emulator) ecsBegin() {
	e.ecs.seq++
	for _, c := range e.ecs.clusters {
		for _, s := range c.services {
			e.settleService(s)
		}
		c.tasks = trimStopped(c.tasks, 5*keepStopped, e)
	}
}

// settleService applies a service's due transitions: it observes tasks
// that stopped, launches or stops tasks to match each task set's computed
// desired count, updates the stability status and removes drained task
// sets. Callers hold e.mu.
func (e *Emulator) settleService(s *ecsService) {
	if s.status == "INACTIVE" {
		return
	}
	now, seq := e.now(), e.ecs.seq
	var keep []*ecsTaskSet
	for _, ts := range s.taskSets {
		for _, t := range ts.tasks {
			if t.stopSeen || !t.stopped(now, seq) {
				continue
			}
			t.stopSeen = true
			if t.exitCode != 0 {
				ts.failures++
				e.event(s, t.stopAt, fmt.Sprintf("%s (task %s) task stopped: %s", ts.label(), t.id, t.stopReason))
				if ts.failures == 3 {
					e.event(s, t.stopAt, ts.label()+" is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.")
				}
			}
		}
		want := int(ts.computedDesired())
		live := e.liveTasks(ts.tasks)
		switch {
		case len(live) < want:
			var started []*ecsTask
			for range want - len(live) {
				t := e.launch(s.cluster, ts.taskDef, ts, false)
				// ECS starts a service's tasks with the ID of the
				// deployment or task set (ecs-svc/...) as startedBy.
				t.group, t.startedBy = "service:"+s.name, ts.id
				t.launchType, t.platformVr, t.networkConfiguration = ts.launchType, ts.platformVersion, ts.networkConfiguration
				if s.propagateTags == "SERVICE" {
					t.tags = slices.Clone(s.tags)
				}
				started = append(started, t)
			}
			ts.tasks = append(ts.tasks, started...)
			e.event(s, now, fmt.Sprintf("%s has started %d tasks: %s.", ts.label(), len(started), taskList(started)))
		case len(live) > want:
			stopping := live[want:]
			for _, t := range stopping {
				e.stopTask(t, "Scaling activity initiated by (deployment "+ts.id+")", "ServiceSchedulerInitiated")
			}
			e.event(s, now, fmt.Sprintf("%s has stopped %d running tasks: %s.", ts.label(), len(stopping), taskList(stopping)))
		}
		running, pending := e.ecsCounts(ts.tasks)
		steady := int(running) == want && pending == 0
		for _, t := range ts.tasks {
			if !t.live(now, seq) && !t.stopped(now, seq) {
				steady = false
			}
		}
		stab := "STABILIZING"
		if steady {
			stab = "STEADY_STATE"
		}
		if stab != ts.stability {
			ts.stability, ts.stabilityAt = stab, now
		}
		ts.tasks = trimStopped(ts.tasks, keepStopped, e)
		drained := ts.status == "DRAINING" || s.status == "DRAINING" || (ts.deployment && ts.status == "ACTIVE" && want == 0)
		if drained && steady && ts.stopSeqDone(seq) {
			continue
		}
		keep = append(keep, ts)
	}
	s.taskSets = keep
	steady := s.status == "ACTIVE"
	for _, ts := range s.taskSets {
		if ts.stability != "STEADY_STATE" {
			steady = false
		}
	}
	if s.controller == "ECS" && len(s.taskSets) != 1 {
		steady = false
	}
	if steady && !s.steady {
		if p := s.primary(); p != nil && p.deployment {
			e.event(s, now, fmt.Sprintf("(service %s) (deployment %s) deployment completed.", s.name, p.id))
		}
		e.event(s, now, fmt.Sprintf("(service %s) has reached a steady state.", s.name))
	}
	s.steady = steady
	if s.status == "DRAINING" && len(s.taskSets) == 0 {
		s.status = "INACTIVE"
	}
}

// stopSeqDone reports whether a draining task set has no task left to
// stop in this request.
func (ts *ecsTaskSet) stopSeqDone(seq uint64) bool {
	for _, t := range ts.tasks {
		if t.stopAt.IsZero() || t.stopSeq >= seq {
			return false
		}
	}
	return true
}

// trimStopped drops the oldest stopped tasks beyond max.
func trimStopped(tasks []*ecsTask, max int, e *Emulator) []*ecsTask {
	now, seq := e.now(), e.ecs.seq
	n := 0
	for _, t := range tasks {
		if t.stopped(now, seq) {
			n++
		}
	}
	if n <= max {
		return tasks
	}
	drop := n - max
	out := tasks[:0:0]
	for _, t := range tasks {
		if drop > 0 && t.stopped(now, seq) {
			drop--
			continue
		}
		out = append(out, t)
	}
	return out
}
