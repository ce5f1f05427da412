package awsemu

import (
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var elbNameRE = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$`)

// elbOps are the ELBv2 actions the emulator serves; each runs under e.mu
// after ecsBegin.
var elbOps = map[string]func(e *Emulator, f qform) (any, *apiError){
	"CreateLoadBalancer":    (*Emulator).elbCreateLoadBalancer,
	"DescribeLoadBalancers": (*Emulator).elbDescribeLoadBalancers,
	"DeleteLoadBalancer":    (*Emulator).elbDeleteLoadBalancer,
	"CreateTargetGroup":     (*Emulator).elbCreateTargetGroup,
	"DescribeTargetGroups":  (*Emulator).elbDescribeTargetGroups,
	"DeleteTargetGroup":     (*Emulator).elbDeleteTargetGroup,
	"CreateListener":        (*Emulator).elbCreateListener,
	"DescribeListeners":     (*Emulator).elbDescribeListeners,
	"ModifyListener":        (*Emulator).elbModifyListener,
	"DeleteListener":        (*Emulator).elbDeleteListener,
	"CreateRule":            (*Emulator).elbCreateRule,
	"DescribeRules":         (*Emulator).elbDescribeRules,
	"ModifyRule":            (*Emulator).elbModifyRule,
	"DeleteRule":            (*Emulator).elbDeleteRule,
	"DescribeTargetHealth":  (*Emulator).elbDescribeTargetHealth,
	"AddTags":               (*Emulator).elbAddTags,
	"RemoveTags":            (*Emulator).elbRemoveTags,
	"DescribeTags":          (*Emulator).elbDescribeTags,
}

// serveELB serves the Query protocol of Elastic Load Balancing v2.
func (e *Emulator) serveELB(w http.ResponseWriter, r *http.Request, c *call, auth authErr, region string) {
	r.Body = http.MaxBytesReader(w, r.Body, maxECSRequest)
	if err := r.ParseForm(); err != nil {
		e.writeELBError(w, elbErr("MalformedQueryString", "The request body could not be parsed."))
		return
	}
	f := qform(r.Form)
	action := f.get("Action")
	c.operation = action
	switch {
	case auth == authUnknownKey:
		e.writeELBError(w, &apiError{http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid."})
		return
	case auth == authExpired:
		e.writeELBError(w, &apiError{http.StatusForbidden, "ExpiredToken", "The security token included in the request is expired"})
		return
	case region != e.region:
		e.writeELBError(w, &apiError{http.StatusForbidden, "SignatureDoesNotMatch", "Credential should be scoped to a valid region. "})
		return
	}
	fn := elbOps[action]
	switch {
	case action == "":
		e.writeELBError(w, elbErr("MissingAction", "Missing Action"))
		return
	case fn == nil:
		e.writeELBError(w, elbErr("InvalidAction", "Could not find operation %s for version 2015-12-01", action))
		return
	case e.denied("elasticloadbalancing:" + action):
		e.writeELBError(w, elbErr("AccessDenied", "%s", deniedMessage(c.principal, "elasticloadbalancing:"+action, "*")))
		return
	}
	e.mu.Lock()
	e.ensureECS()
	e.ecsBegin()
	out, aerr := fn(e, f)
	reqID := e.uuid()
	e.mu.Unlock()
	if aerr != nil {
		e.writeELBError(w, aerr)
		return
	}
	w.Header().Set("X-Amzn-RequestId", reqID)
	e.writeELB(w, action, out, reqID)
}

func (e *Emulator) elbTags(f qform, arn string) *apiError {
	var tags []elbTag
	for _, m := range f.members("Tags") {
		tags = append(tags, elbTag{Key: f.get(m + ".Key"), Value: f.get(m + ".Value")})
	}
	return e.addELBTags(arn, tags)
}

func (e *Emulator) addELBTags(arn string, tags []elbTag) *apiError {
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return elbErr("ValidationError", "Tag keys must be between 1 and 128 characters and values at most 256 characters")
		}
	}
	cur := e.elb.tags[arn]
	for _, t := range tags {
		if i := slices.IndexFunc(cur, func(o elbTag) bool { return o.Key == t.Key }); i >= 0 {
			cur[i].Value = t.Value
		} else {
			cur = append(cur, t)
		}
	}
	if len(cur) > 50 {
		return elbErr("TooManyTags", "The quota for the number of tags that can be assigned to a load balancer has been reached")
	}
	if cur != nil {
		e.elb.tags[arn] = cur
	}
	return nil
}

func (e *Emulator) elbCreateLoadBalancer(f qform) (any, *apiError) {
	name := f.get("Name")
	if !elbNameRE.MatchString(name) || len(name) > 32 {
		return nil, elbErr("ValidationError", "The load balancer name '%s' is not valid: it must have 1 to 32 alphanumeric characters or hyphens and must not begin or end with a hyphen", name)
	}
	typ := f.get("Type")
	if typ == "" {
		typ = "application"
	}
	if typ != "application" && typ != "network" && typ != "gateway" {
		var v validation
		v.add(typ, "type", "Member must satisfy enum value set: [application, gateway, network]")
		return nil, elbValidation(v)
	}
	subnets := f.strings("Subnets")
	for _, m := range f.members("SubnetMappings") {
		subnets = append(subnets, f.get(m+".SubnetId"))
	}
	if typ == "application" && len(subnets) < 2 {
		return nil, elbErr("ValidationError", "At least two subnets in two different Availability Zones must be specified")
	}
	for _, lb := range e.elb.lbs {
		if lb.name == name {
			return struct {
				LoadBalancers memberList[lbXML] `xml:"LoadBalancers"`
			}{memberList[lbXML]{e.lbXML(lb)}}, nil
		}
	}
	lb := &elbLB{name: name, id: e.elbID(), scheme: f.get("Scheme"), typ: typ, ipType: f.get("IpAddressType"), subnets: subnets,
		securityGroups: f.strings("SecurityGroups"), created: e.now()}
	if lb.scheme == "" {
		lb.scheme = "internet-facing"
	}
	if lb.ipType == "" {
		lb.ipType = "ipv4"
	}
	kind := map[string]string{"application": "app", "network": "net", "gateway": "gwy"}[typ]
	lb.arn = e.elbARN("loadbalancer/" + kind + "/" + name + "/" + lb.id)
	if err := e.elbTags(f, lb.arn); err != nil {
		return nil, err
	}
	e.elb.lbs = append(e.elb.lbs, lb)
	return struct {
		LoadBalancers memberList[lbXML] `xml:"LoadBalancers"`
	}{memberList[lbXML]{e.lbXML(lb)}}, nil
}

func (e *Emulator) elbDescribeLoadBalancers(f qform) (any, *apiError) {
	arns, names := f.strings("LoadBalancerArns"), f.strings("Names")
	out := memberList[lbXML]{}
	var missing []string
	for _, arn := range arns {
		lb := e.loadBalancer(arn)
		if lb == nil {
			return nil, elbErr("LoadBalancerNotFound", "One or more load balancers not found")
		}
		out = append(out, e.lbXML(lb))
	}
	for _, n := range names {
		i := slices.IndexFunc(e.elb.lbs, func(lb *elbLB) bool { return lb.name == n })
		if i < 0 {
			missing = append(missing, n)
			continue
		}
		out = append(out, e.lbXML(e.elb.lbs[i]))
	}
	if len(missing) > 0 {
		return nil, elbErr("LoadBalancerNotFound", "Load balancers '%v' not found", missing)
	}
	if len(arns) == 0 && len(names) == 0 {
		for _, lb := range e.elb.lbs {
			out = append(out, e.lbXML(lb))
		}
	}
	return struct {
		LoadBalancers memberList[lbXML] `xml:"LoadBalancers"`
	}{out}, nil
}

func (e *Emulator) elbDeleteLoadBalancer(f qform) (any, *apiError) {
	arn := f.get("LoadBalancerArn")
	e.elb.lbs = slices.DeleteFunc(e.elb.lbs, func(lb *elbLB) bool { return lb.arn == arn })
	e.elb.listeners = slices.DeleteFunc(e.elb.listeners, func(l *elbListener) bool { return l.lbArn == arn })
	delete(e.elb.tags, arn)
	return struct{}{}, nil
}

func (e *Emulator) elbCreateTargetGroup(f qform) (any, *apiError) {
	name := f.get("Name")
	if !elbNameRE.MatchString(name) || len(name) > 32 {
		return nil, elbErr("ValidationError", "Target group name '%s' can only contain characters that are alphanumeric characters or hyphens(-), must not begin or end with a hyphen, and must be 1 to 32 characters long", name)
	}
	targetType := f.get("TargetType")
	if targetType == "" {
		targetType = "instance"
	}
	if !slices.Contains([]string{"instance", "ip", "lambda", "alb"}, targetType) {
		var v validation
		v.add(targetType, "targetType", "Member must satisfy enum value set: [alb, instance, ip, lambda]")
		return nil, elbValidation(v)
	}
	protocol, vpc := f.get("Protocol"), f.get("VpcId")
	var port int32
	if f.has("Port") {
		n, ok := parseInt32(f.get("Port"))
		if !ok || n < 1 || n > 65535 {
			var v validation
			v.add(f.get("Port"), "port", "Member must have value between 1 and 65535")
			return nil, elbValidation(v)
		}
		port = n
	}
	if targetType != "lambda" {
		switch {
		case protocol == "":
			return nil, elbErr("ValidationError", "A protocol must be specified")
		case port == 0:
			return nil, elbErr("ValidationError", "A port must be specified")
		case vpc == "":
			return nil, elbErr("ValidationError", "A VPC ID must be specified")
		}
	}
	for _, tg := range e.elb.tgOrder {
		if tg.name == name {
			if tg.protocol != protocol || tg.port != port || tg.targetType != targetType || tg.vpc != vpc {
				return nil, elbErr("DuplicateTargetGroupName", "A target group with the same name '%s' exists, but with different settings", name)
			}
			return struct {
				TargetGroups memberList[tgXML] `xml:"TargetGroups"`
			}{memberList[tgXML]{e.tgXML(tg)}}, nil
		}
	}
	tg := e.newTG(name, protocol, port, targetType, vpc)
	if p := f.get("HealthCheckPath"); p != "" {
		tg.healthPath = p
	}
	if p := f.get("HealthCheckProtocol"); p != "" {
		tg.healthProtocol = p
	}
	if p := f.get("HealthCheckPort"); p != "" {
		tg.healthPort = p
	}
	if p := f.get("Matcher.HttpCode"); p != "" {
		tg.matcher = p
	}
	if err := e.elbTags(f, tg.arn); err != nil {
		return nil, err
	}
	return struct {
		TargetGroups memberList[tgXML] `xml:"TargetGroups"`
	}{memberList[tgXML]{e.tgXML(tg)}}, nil
}

func (e *Emulator) elbDescribeTargetGroups(f qform) (any, *apiError) {
	arns, names, lbArn := f.strings("TargetGroupArns"), f.strings("Names"), f.get("LoadBalancerArn")
	out := memberList[tgXML]{}
	switch {
	case len(arns) > 0:
		for _, arn := range arns {
			tg := e.elb.tgs[arn]
			if tg == nil {
				return nil, elbErr("TargetGroupNotFound", "One or more target groups not found")
			}
			out = append(out, e.tgXML(tg))
		}
	case len(names) > 0:
		for _, n := range names {
			i := slices.IndexFunc(e.elb.tgOrder, func(tg *elbTG) bool { return tg.name == n })
			if i < 0 {
				return nil, elbErr("TargetGroupNotFound", "One or more target groups not found")
			}
			out = append(out, e.tgXML(e.elb.tgOrder[i]))
		}
	case lbArn != "":
		if e.loadBalancer(lbArn) == nil {
			return nil, elbErr("LoadBalancerNotFound", "One or more load balancers not found")
		}
		for _, tg := range e.elb.tgOrder {
			if slices.Contains(e.tgLoadBalancers(tg), lbArn) {
				out = append(out, e.tgXML(tg))
			}
		}
	default:
		for _, tg := range e.elb.tgOrder {
			out = append(out, e.tgXML(tg))
		}
	}
	return struct {
		TargetGroups memberList[tgXML] `xml:"TargetGroups"`
	}{out}, nil
}

func (e *Emulator) elbDeleteTargetGroup(f qform) (any, *apiError) {
	arn := f.get("TargetGroupArn")
	tg := e.elb.tgs[arn]
	if tg == nil {
		return struct{}{}, nil
	}
	if len(e.tgLoadBalancers(tg)) > 0 {
		return nil, elbErr("ResourceInUse", "Target group '%s' is currently in use by a listener or a rule", arn)
	}
	delete(e.elb.tgs, arn)
	e.elb.tgOrder = slices.DeleteFunc(e.elb.tgOrder, func(t *elbTG) bool { return t == tg })
	delete(e.elb.tags, arn)
	return struct{}{}, nil
}

func (e *Emulator) elbCreateListener(f qform) (any, *apiError) {
	lb := e.loadBalancer(f.get("LoadBalancerArn"))
	if lb == nil {
		return nil, elbErr("LoadBalancerNotFound", "One or more load balancers not found")
	}
	port, ok := parseInt32(f.get("Port"))
	if !ok || port < 1 || port > 65535 {
		var v validation
		v.add(f.get("Port"), "port", "Member must have value between 1 and 65535")
		return nil, elbValidation(v)
	}
	protocol := f.get("Protocol")
	if protocol == "" && lb.typ == "application" {
		protocol = "HTTP"
	}
	if lb.typ == "application" && protocol != "HTTP" && protocol != "HTTPS" {
		return nil, elbErr("ValidationError", "Listener protocol '%s' must be one of 'HTTPS, HTTP'", protocol)
	}
	actions, err := e.parseActions(f, "DefaultActions", "defaultActions")
	if err != nil {
		return nil, err
	}
	for _, l := range e.elb.listeners {
		if l.lbArn == lb.arn && l.port == port {
			return nil, elbErr("DuplicateListener", "A listener already exists on this port for this load balancer '%s'", lb.arn)
		}
	}
	if err := e.checkAssociation(lb.arn, actions); err != nil {
		return nil, err
	}
	if protocol == "HTTPS" && len(f.members("Certificates")) == 0 {
		return nil, elbErr("CertificateNotFound", "A certificate must be specified for HTTPS listeners")
	}
	l := e.newListener(lb, protocol, port, actions)
	for _, m := range f.members("Certificates") {
		l.certificates = append(l.certificates, f.get(m+".CertificateArn"))
	}
	if protocol == "HTTPS" {
		l.sslPolicy = f.get("SslPolicy")
		if l.sslPolicy == "" {
			l.sslPolicy = "ELBSecurityPolicy-2016-08"
		}
	}
	if err := e.elbTags(f, l.arn); err != nil {
		return nil, err
	}
	return struct {
		Listeners memberList[listenerXML] `xml:"Listeners"`
	}{memberList[listenerXML]{listenerXMLOf(l)}}, nil
}

func (e *Emulator) elbDescribeListeners(f qform) (any, *apiError) {
	arns, lbArn := f.strings("ListenerArns"), f.get("LoadBalancerArn")
	out := memberList[listenerXML]{}
	switch {
	case len(arns) > 0 && lbArn != "":
		return nil, elbErr("ValidationError", "Listener ARNs and a load balancer ARN cannot be specified at the same time")
	case len(arns) > 0:
		for _, arn := range arns {
			l := e.listener(arn)
			if l == nil {
				return nil, elbErr("ListenerNotFound", "One or more listeners not found")
			}
			out = append(out, listenerXMLOf(l))
		}
	case lbArn != "":
		if e.loadBalancer(lbArn) == nil {
			return nil, elbErr("LoadBalancerNotFound", "One or more load balancers not found")
		}
		for _, l := range e.elb.listeners {
			if l.lbArn == lbArn {
				out = append(out, listenerXMLOf(l))
			}
		}
	default:
		return nil, elbErr("ValidationError", "You must specify either listener ARNs or a load balancer ARN")
	}
	return struct {
		Listeners memberList[listenerXML] `xml:"Listeners"`
	}{out}, nil
}

func (e *Emulator) elbModifyListener(f qform) (any, *apiError) {
	l := e.listener(f.get("ListenerArn"))
	if l == nil {
		return nil, elbErr("ListenerNotFound", "One or more listeners not found")
	}
	if f.has("Port") {
		port, ok := parseInt32(f.get("Port"))
		if !ok || port < 1 || port > 65535 {
			var v validation
			v.add(f.get("Port"), "port", "Member must have value between 1 and 65535")
			return nil, elbValidation(v)
		}
		for _, o := range e.elb.listeners {
			if o != l && o.lbArn == l.lbArn && o.port == port {
				return nil, elbErr("DuplicateListener", "A listener already exists on this port for this load balancer '%s'", l.lbArn)
			}
		}
		l.port = port
	}
	if f.hasPrefix("DefaultActions") {
		actions, err := e.parseActions(f, "DefaultActions", "defaultActions")
		if err != nil {
			return nil, err
		}
		if err := e.checkAssociation(l.lbArn, actions); err != nil {
			return nil, err
		}
		l.defaultActions = actions
	}
	if p := f.get("Protocol"); p != "" {
		l.protocol = p
	}
	return struct {
		Listeners memberList[listenerXML] `xml:"Listeners"`
	}{memberList[listenerXML]{listenerXMLOf(l)}}, nil
}

func (e *Emulator) elbDeleteListener(f qform) (any, *apiError) {
	arn := f.get("ListenerArn")
	if e.listener(arn) == nil {
		return nil, elbErr("ListenerNotFound", "One or more listeners not found")
	}
	e.elb.listeners = slices.DeleteFunc(e.elb.listeners, func(l *elbListener) bool { return l.arn == arn })
	delete(e.elb.tags, arn)
	return struct{}{}, nil
}

func (e *Emulator) elbCreateRule(f qform) (any, *apiError) {
	l := e.listener(f.get("ListenerArn"))
	if l == nil {
		return nil, elbErr("ListenerNotFound", "One or more listeners not found")
	}
	prio, ok := parseInt32(f.get("Priority"))
	if !ok || prio < 1 || prio > 50000 {
		var v validation
		v.add(f.get("Priority"), "priority", "Member must have value between 1 and 50000")
		return nil, elbValidation(v)
	}
	conds, err := parseConditions(f, "Conditions")
	if err != nil {
		return nil, err
	}
	if len(conds) == 0 {
		return nil, elbErr("ValidationError", "A rule must have at least one condition")
	}
	actions, err := e.parseActions(f, "Actions", "actions")
	if err != nil {
		return nil, err
	}
	for _, r := range l.rules {
		if r.priority == int(prio) {
			return nil, elbErr("PriorityInUse", "Priority '%d' is currently in use", prio)
		}
	}
	if err := e.checkAssociation(l.lbArn, actions); err != nil {
		return nil, err
	}
	r := e.newRule(l, int(prio), conds, actions)
	if err := e.elbTags(f, r.arn); err != nil {
		return nil, err
	}
	return struct {
		Rules memberList[ruleXML] `xml:"Rules"`
	}{memberList[ruleXML]{ruleXMLOf(l, r)}}, nil
}

func (e *Emulator) elbDescribeRules(f qform) (any, *apiError) {
	arns, lArn := f.strings("RuleArns"), f.get("ListenerArn")
	out := memberList[ruleXML]{}
	switch {
	case len(arns) > 0 && lArn != "":
		return nil, elbErr("ValidationError", "Rule ARNs and a listener ARN cannot be specified at the same time")
	case len(arns) > 0:
		for _, arn := range arns {
			l, r, ok := e.rule(arn)
			if !ok {
				return nil, elbErr("RuleNotFound", "One or more rules not found")
			}
			out = append(out, ruleXMLOf(l, r))
		}
	case lArn != "":
		l := e.listener(lArn)
		if l == nil {
			return nil, elbErr("ListenerNotFound", "One or more listeners not found")
		}
		for _, r := range l.rules {
			out = append(out, ruleXMLOf(l, r))
		}
		out = append(out, ruleXMLOf(l, nil))
	default:
		return nil, elbErr("ValidationError", "You must specify either listener rule ARNs or a listener ARN")
	}
	return struct {
		Rules memberList[ruleXML] `xml:"Rules"`
	}{out}, nil
}

func (e *Emulator) elbModifyRule(f qform) (any, *apiError) {
	arn := f.get("RuleArn")
	l, r, ok := e.rule(arn)
	if !ok {
		return nil, elbErr("RuleNotFound", "One or more rules not found")
	}
	if r == nil {
		return nil, elbErr("OperationNotPermitted", "Default rule '%s' cannot be modified", arn)
	}
	if f.hasPrefix("Conditions") {
		conds, err := parseConditions(f, "Conditions")
		if err != nil {
			return nil, err
		}
		if len(conds) == 0 {
			return nil, elbErr("ValidationError", "A rule must have at least one condition")
		}
		r.conditions = conds
	}
	if f.hasPrefix("Actions") {
		actions, err := e.parseActions(f, "Actions", "actions")
		if err != nil {
			return nil, err
		}
		if err := e.checkAssociation(l.lbArn, actions); err != nil {
			return nil, err
		}
		r.actions = actions
	}
	return struct {
		Rules memberList[ruleXML] `xml:"Rules"`
	}{memberList[ruleXML]{ruleXMLOf(l, r)}}, nil
}

func (e *Emulator) elbDeleteRule(f qform) (any, *apiError) {
	arn := f.get("RuleArn")
	l, r, ok := e.rule(arn)
	if !ok {
		return nil, elbErr("RuleNotFound", "One or more rules not found")
	}
	if r == nil {
		return nil, elbErr("OperationNotPermitted", "Default rule '%s' cannot be deleted", arn)
	}
	l.rules = slices.DeleteFunc(l.rules, func(o *elbRule) bool { return o == r })
	delete(e.elb.tags, arn)
	return struct{}{}, nil
}

func (e *Emulator) elbDescribeTargetHealth(f qform) (any, *apiError) {
	arn := f.get("TargetGroupArn")
	if e.elb.tgs[arn] == nil {
		return nil, elbErr("TargetGroupNotFound", "One or more target groups not found")
	}
	want := map[string]bool{}
	for _, m := range f.members("Targets") {
		want[f.get(m+".Id")+":"+f.get(m+".Port")] = true
		want[f.get(m+".Id")+":"] = true
	}
	out := memberList[targetHealthXML]{}
	for _, t := range e.targets(arn) {
		if len(want) > 0 && !want[t.ID+":"+strconv.Itoa(int(t.Port))] && !want[t.ID+":"] {
			continue
		}
		var th targetHealthXML
		th.Target.ID, th.Target.Port, th.Target.AvailabilityZone = t.ID, t.Port, e.region+"a"
		th.HealthCheckPort = strconv.Itoa(int(t.Port))
		th.TargetHealth.State = t.State
		if t.Reason != "" {
			th.TargetHealth.Reason, th.TargetHealth.Description = t.Reason, "Target deregistration is in progress"
		}
		out = append(out, th)
	}
	return struct {
		TargetHealthDescriptions memberList[targetHealthXML] `xml:"TargetHealthDescriptions"`
	}{out}, nil
}

// elbResourceExists reports whether arn names an ELBv2 resource.
func (e *Emulator) elbResourceExists(arn string) bool {
	if e.loadBalancer(arn) != nil || e.elb.tgs[arn] != nil || e.listener(arn) != nil {
		return true
	}
	_, _, ok := e.rule(arn)
	return ok
}

func (e *Emulator) elbAddTags(f qform) (any, *apiError) {
	arns := f.strings("ResourceArns")
	for _, arn := range arns {
		if !e.elbResourceExists(arn) {
			return nil, elbNotFoundFor(arn)
		}
	}
	for _, arn := range arns {
		if err := e.elbTags(f, arn); err != nil {
			return nil, err
		}
	}
	return struct{}{}, nil
}

func elbNotFoundFor(arn string) *apiError {
	switch {
	case strings.Contains(arn, ":targetgroup/"):
		return elbErr("TargetGroupNotFound", "One or more target groups not found")
	case strings.Contains(arn, ":listener-rule/"):
		return elbErr("RuleNotFound", "One or more rules not found")
	case strings.Contains(arn, ":listener/"):
		return elbErr("ListenerNotFound", "One or more listeners not found")
	}
	return elbErr("LoadBalancerNotFound", "One or more load balancers not found")
}

func (e *Emulator) elbRemoveTags(f qform) (any, *apiError) {
	keys := f.strings("TagKeys")
	for _, arn := range f.strings("ResourceArns") {
		if !e.elbResourceExists(arn) {
			return nil, elbNotFoundFor(arn)
		}
		e.elb.tags[arn] = slices.DeleteFunc(e.elb.tags[arn], func(t elbTag) bool { return slices.Contains(keys, t.Key) })
	}
	return struct{}{}, nil
}

func (e *Emulator) elbDescribeTags(f qform) (any, *apiError) {
	out := memberList[tagDescXML]{}
	for _, arn := range f.strings("ResourceArns") {
		if !e.elbResourceExists(arn) {
			return nil, elbNotFoundFor(arn)
		}
		tags := memberList[elbTag](e.elb.tags[arn])
		if tags == nil {
			tags = memberList[elbTag]{}
		}
		out = append(out, tagDescXML{ResourceArn: arn, Tags: tags})
	}
	return struct {
		TagDescriptions memberList[tagDescXML] `xml:"TagDescriptions"`
	}{out}, nil
}
