package awsemu

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// One-line views of the ECS and ELBv2 state for scripts (awsemu weights,
// tasksets, service).

// tgLabel is a target group's name less its load balancer's "NAME-"
// prefix (SetupALB's web-blue is blue). Callers hold e.mu.
func (e *Emulator) tgLabel(arn string) string {
	tg := e.elb.tgs[arn]
	if tg == nil {
		return arn
	}
	for _, lbArn := range e.tgLoadBalancers(tg) {
		if lb := e.loadBalancer(lbArn); lb != nil {
			if short, ok := strings.CutPrefix(tg.name, lb.name+"-"); ok && short != "" {
				return short
			}
		}
	}
	return tg.name
}

// FormatWeights prints a listener's forward weights, one line per rule in
// priority order, the default rule last: "10 blue=100 green=0",
// "default blue=100 green=0". Target groups are named by tgLabel, sorted.
func (e *Emulator) FormatWeights(listenerARN string) ([]string, bool) {
	e.lockECS()
	defer e.mu.Unlock()
	l := e.listener(listenerARN)
	if l == nil {
		return nil, false
	}
	line := func(key string, actions []elbAction) string {
		var pairs []string
		for _, a := range actions {
			if a.Type != "forward" {
				continue
			}
			for arn, w := range a.weights() {
				pairs = append(pairs, e.tgLabel(arn)+"="+strconv.Itoa(int(w)))
			}
		}
		slices.Sort(pairs)
		return strings.TrimSpace(key + " " + strings.Join(pairs, " "))
	}
	var out []string
	for _, r := range l.rules {
		out = append(out, line(strconv.Itoa(r.priority), r.actions))
	}
	return append(out, line("default", l.defaultActions)), true
}

// FormatTaskSets prints a service's task sets, the PRIMARY first:
// "PRIMARY scale=100% running=2/2 stability=STEADY_STATE taskdef=web:3 tg=blue".
func (e *Emulator) FormatTaskSets(cluster, service string) ([]string, bool) {
	e.lockECS()
	defer e.mu.Unlock()
	s := e.findService(cluster, service)
	if s == nil {
		return nil, false
	}
	var out []string
	for _, ts := range s.sortedTaskSets() {
		running, _ := e.ecsCounts(ts.tasks)
		var tgs []string
		for _, lb := range ts.loadBalancers {
			tgs = append(tgs, e.tgLabel(lb.TargetGroupArn))
		}
		tg := strings.Join(tgs, ",")
		if tg == "" {
			tg = "-"
		}
		out = append(out, fmt.Sprintf("%s scale=%s%% running=%d/%d stability=%s taskdef=%s:%d tg=%s", ts.status,
			strconv.FormatFloat(ts.scale, 'f', -1, 64), running, ts.computedDesired(), ts.stability, ts.taskDef.family, ts.taskDef.revision, tg))
	}
	return out, true
}

// FormatService prints a one-line summary of a service:
// "ACTIVE desired=2 running=2 pending=0 taskdef=web:3 controller=EXTERNAL".
func (e *Emulator) FormatService(cluster, service string) (string, bool) {
	s, ok := e.Service(cluster, service)
	if !ok {
		return "", false
	}
	td := "-"
	if s.TaskDefinition != "" {
		_, td, _ = strings.Cut(s.TaskDefinition, ":task-definition/")
	}
	return fmt.Sprintf("%s desired=%d running=%d pending=%d taskdef=%s controller=%s", s.Status, s.DesiredCount, s.RunningCount,
		s.PendingCount, td, s.DeploymentController), true
}
