package awsemu

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The Elastic Load Balancing v2 state, guarded by Emulator.mu.

type elbState struct {
	lbs       []*elbLB
	tgs       map[string]*elbTG // by ARN
	tgOrder   []*elbTG
	listeners []*elbListener
	tags      map[string][]elbTag // by resource ARN
}

type elbTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type elbLB struct {
	name, arn, id, scheme, typ, ipType string
	subnets, securityGroups            []string
	created                            time.Time
}

type elbTG struct {
	name, arn, protocol, targetType, vpc, protocolVersion string
	port                                                  int32
	healthPath, healthProtocol, healthPort, matcher       string
	created                                               time.Time
}

type elbListener struct {
	arn, lbArn, protocol string
	port                 int32
	defaultActions       []elbAction
	defaultRuleArn       string
	rules                []*elbRule // not the default one
	sslPolicy            string
	certificates         []string
}

type elbRule struct {
	arn        string
	priority   int
	conditions []elbCondition
	actions    []elbAction
}

type elbAction struct {
	Type           string
	Order          *int32
	TargetGroupArn string
	Forward        []elbWeighted // ForwardConfig.TargetGroups
	Stickiness     *elbStickiness
	FixedResponse  *elbFixedResponse
	Redirect       *elbRedirect
}

type elbWeighted struct {
	TargetGroupArn string `xml:"TargetGroupArn"`
	Weight         int32  `xml:"Weight"`
}

type elbStickiness struct {
	Enabled         bool   `xml:"Enabled"`
	DurationSeconds *int32 `xml:"DurationSeconds,omitempty"`
}

type elbFixedResponse struct {
	MessageBody string `xml:"MessageBody,omitempty"`
	StatusCode  string `xml:"StatusCode"`
	ContentType string `xml:"ContentType,omitempty"`
}

type elbRedirect struct {
	Protocol   string `xml:"Protocol,omitempty"`
	Port       string `xml:"Port,omitempty"`
	Host       string `xml:"Host,omitempty"`
	Path       string `xml:"Path,omitempty"`
	Query      string `xml:"Query,omitempty"`
	StatusCode string `xml:"StatusCode"`
}

type elbCondition struct {
	Field       string
	Values      []string
	HeaderName  string
	QueryValues []elbKeyValue
}

type elbKeyValue struct {
	Key   string `xml:"Key,omitempty"`
	Value string `xml:"Value"`
}

func (e *Emulator) ensureELB() {
	if e.elb.tgs == nil {
		e.elb.tgs = map[string]*elbTG{}
		e.elb.tags = map[string][]elbTag{}
	}
}

func (e *Emulator) elbARN(rest string) string {
	return "arn:aws:elasticloadbalancing:" + e.region + ":" + AccountID + ":" + rest
}

// elbID is a 16-hex-digit resource ID. Callers hold e.mu.
func (e *Emulator) elbID() string { return e.nextID("elb")[:16] }

// targetGroups are the target groups an action forwards to.
func (a *elbAction) targetGroups() []string {
	var out []string
	if a.TargetGroupArn != "" {
		out = append(out, a.TargetGroupArn)
	}
	for _, w := range a.Forward {
		if !slices.Contains(out, w.TargetGroupArn) {
			out = append(out, w.TargetGroupArn)
		}
	}
	return out
}

// weights are an action's target groups and weights (a TargetGroupArn
// alone is weight 1).
func (a *elbAction) weights() map[string]int32 {
	m := map[string]int32{}
	if len(a.Forward) == 0 && a.TargetGroupArn != "" {
		m[a.TargetGroupArn] = 1
	}
	for _, w := range a.Forward {
		m[w.TargetGroupArn] = w.Weight
	}
	return m
}

// tgLoadBalancers are the load balancers whose listeners or rules forward
// to tg.
func (e *Emulator) tgLoadBalancers(tg *elbTG) []string {
	var out []string
	for _, l := range e.elb.listeners {
		var actions []elbAction
		actions = append(actions, l.defaultActions...)
		for _, r := range l.rules {
			actions = append(actions, r.actions...)
		}
		for _, a := range actions {
			if slices.Contains(a.targetGroups(), tg.arn) && !slices.Contains(out, l.lbArn) {
				out = append(out, l.lbArn)
			}
		}
	}
	return out
}

func (e *Emulator) listener(arn string) *elbListener {
	for _, l := range e.elb.listeners {
		if l.arn == arn {
			return l
		}
	}
	return nil
}

func (e *Emulator) loadBalancer(arn string) *elbLB {
	for _, lb := range e.elb.lbs {
		if lb.arn == arn {
			return lb
		}
	}
	return nil
}

// rule finds a rule by ARN (the default rule of a listener too).
func (e *Emulator) rule(arn string) (*elbListener, *elbRule, bool) {
	for _, l := range e.elb.listeners {
		if l.defaultRuleArn == arn {
			return l, nil, true
		}
		for _, r := range l.rules {
			if r.arn == arn {
				return l, r, true
			}
		}
	}
	return nil, nil, false
}

func (l *elbListener) sortRules() {
	sort.SliceStable(l.rules, func(i, j int) bool { return l.rules[i].priority < l.rules[j].priority })
}

// ALB is what SetupALB created.
type ALB struct {
	LoadBalancerARN, ListenerARN, BlueTG, GreenTG, OtherTG string
	RuleARNs                                               []string // priority 10 (/api/*), priority 20 (to OtherTG)
}

// SetupALB creates an application load balancer name with the target
// groups name-blue, name-green and name-other (HTTP:80, target type ip)
// and an HTTP:80 listener whose default action forwards 100 to blue and 0
// to green, a rule (priority 10, path-pattern /api/*) forwarding the same
// way, and a rule (priority 20, path-pattern /other/*) forwarding to
// name-other.
func (e *Emulator) SetupALB(name string) ALB {
	e.lockECS()
	defer e.mu.Unlock()
	lb := &elbLB{name: name, id: e.elbID(), scheme: "internet-facing", typ: "application", ipType: "ipv4",
		subnets: []string{"subnet-0emulator0000001", "subnet-0emulator0000002"}, securityGroups: []string{"sg-0emulator0000001"}, created: e.now()}
	lb.arn = e.elbARN("loadbalancer/app/" + name + "/" + lb.id)
	e.elb.lbs = append(e.elb.lbs, lb)
	tg := func(suffix string) string {
		t := e.newTG(name+"-"+suffix, "HTTP", 80, "ip", "vpc-0emulator0000001")
		return t.arn
	}
	out := ALB{LoadBalancerARN: lb.arn, BlueTG: tg("blue"), GreenTG: tg("green"), OtherTG: tg("other")}
	fwd := func(w map[string]int32, order ...string) []elbAction {
		a := elbAction{Type: "forward"}
		for _, arn := range order {
			a.Forward = append(a.Forward, elbWeighted{arn, w[arn]})
		}
		a.Stickiness = &elbStickiness{}
		return []elbAction{a}
	}
	l := e.newListener(lb, "HTTP", 80, fwd(map[string]int32{out.BlueTG: 100, out.GreenTG: 0}, out.BlueTG, out.GreenTG))
	out.ListenerARN = l.arn
	r1 := e.newRule(l, 10, []elbCondition{{Field: "path-pattern", Values: []string{"/api/*"}}},
		fwd(map[string]int32{out.BlueTG: 100, out.GreenTG: 0}, out.BlueTG, out.GreenTG))
	r2 := e.newRule(l, 20, []elbCondition{{Field: "path-pattern", Values: []string{"/other/*"}}},
		fwd(map[string]int32{out.OtherTG: 1}, out.OtherTG))
	out.RuleARNs = []string{r1.arn, r2.arn}
	return out
}

func (e *Emulator) newTG(name, protocol string, port int32, targetType, vpc string) *elbTG {
	t := &elbTG{name: name, protocol: protocol, port: port, targetType: targetType, vpc: vpc, healthPath: "/",
		healthProtocol: protocol, healthPort: "traffic-port", matcher: "200", created: e.now()}
	if protocol == "HTTP" || protocol == "HTTPS" {
		t.protocolVersion = "HTTP1"
	}
	t.arn = e.elbARN("targetgroup/" + name + "/" + e.elbID())
	e.elb.tgs[t.arn] = t
	e.elb.tgOrder = append(e.elb.tgOrder, t)
	return t
}

func (e *Emulator) newListener(lb *elbLB, protocol string, port int32, actions []elbAction) *elbListener {
	id := e.elbID()
	l := &elbListener{arn: e.elbARN("listener/app/" + lb.name + "/" + lb.id + "/" + id), lbArn: lb.arn, protocol: protocol,
		port: port, defaultActions: actions}
	l.defaultRuleArn = e.elbARN("listener-rule/app/" + lb.name + "/" + lb.id + "/" + id + "/" + e.elbID())
	e.elb.listeners = append(e.elb.listeners, l)
	return l
}

func (e *Emulator) newRule(l *elbListener, priority int, conds []elbCondition, actions []elbAction) *elbRule {
	_, rest, _ := strings.Cut(l.arn, ":listener/")
	r := &elbRule{arn: e.elbARN("listener-rule/" + rest + "/" + e.elbID()), priority: priority, conditions: conds, actions: actions}
	l.rules = append(l.rules, r)
	l.sortRules()
	return r
}

// Weights returns the forward weights of a listener's rules: rule ARN
// ("default" for the default action) → target group ARN → weight. A
// forward to a single TargetGroupArn is weight 1.
func (e *Emulator) Weights(listenerARN string) map[string]map[string]int32 {
	e.lockECS()
	defer e.mu.Unlock()
	l := e.listener(listenerARN)
	if l == nil {
		return nil
	}
	out := map[string]map[string]int32{}
	add := func(key string, actions []elbAction) {
		m := map[string]int32{}
		for _, a := range actions {
			if a.Type == "forward" {
				for k, v := range a.weights() {
					m[k] = v
				}
			}
		}
		out[key] = m
	}
	add("default", l.defaultActions)
	for _, r := range l.rules {
		add(r.arn, r.actions)
	}
	return out
}

// TargetGroupName returns the name of a target group ARN ("" when
// unknown).
func (e *Emulator) TargetGroupName(arn string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ensureECS()
	if tg := e.elb.tgs[arn]; tg != nil {
		return tg.name
	}
	return ""
}

// RulePriority returns a rule's priority ("default" for a default rule).
func (e *Emulator) RulePriority(ruleARN string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ensureECS()
	_, r, ok := e.rule(ruleARN)
	switch {
	case !ok:
		return ""
	case r == nil:
		return "default"
	}
	return strconv.Itoa(r.priority)
}

// Target is a registered target of a target group.
type Target struct {
	ID     string
	Port   int32
	State  string // healthy, draining
	Reason string
}

// targets are the targets of tg: the running tasks of the ECS task sets
// and deployments attached to it.
func (e *Emulator) targets(tg string) []Target {
	now, seq := e.now(), e.ecs.seq
	var out []Target
	for _, c := range sortedValues(e.ecs.clusters) {
		for _, s := range c.services {
			for _, ts := range s.taskSets {
				for _, lb := range ts.loadBalancers {
					if lb.TargetGroupArn != tg {
						continue
					}
					port := int32(0)
					if lb.ContainerPort != nil {
						port = *lb.ContainerPort
					}
					for _, t := range ts.tasks {
						switch t.status(now, seq) {
						case "RUNNING":
							out = append(out, Target{ID: t.ip, Port: port, State: "healthy"})
						case "DEACTIVATING":
							out = append(out, Target{ID: t.ip, Port: port, State: "draining", Reason: "Target.DeregistrationInProgress"})
						}
					}
				}
			}
		}
	}
	return out
}

// Targets returns the targets of a target group with their health.
func (e *Emulator) Targets(tgARN string) []Target {
	e.lockECS()
	defer e.mu.Unlock()
	return e.targets(tgARN)
}

func sortedValues[V any](m map[string]V) []V {
	var out []V
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}
