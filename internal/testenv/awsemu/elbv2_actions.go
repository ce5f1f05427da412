package awsemu

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
)

// Parsing and validating listener/rule actions and rule conditions.

var fixedStatusRE = regexp.MustCompile(`^(2|4|5)\d\d$`)

// elbValidation turns the collected constraint violations into ELB's
// ValidationError.
func elbValidation(v validation) *apiError {
	if err := v.err(); err != nil {
		err.code = "ValidationError"
		return err
	}
	return nil
}

func parseInt32(s string) (int32, bool) {
	n, err := strconv.ParseInt(s, 10, 32)
	return int32(n), err == nil
}

// parseActions reads the actions under prefix (DefaultActions or
// Actions); path is how validation errors name them (defaultActions,
// actions).
func (e *Emulator) parseActions(f qform, prefix, path string) ([]elbAction, *apiError) {
	var out []elbAction
	var v validation
	for i, m := range f.members(prefix) {
		p := fmt.Sprintf("%s.%d.member", path, i+1)
		a := elbAction{Type: f.get(m + ".Type")}
		switch a.Type {
		case "forward", "redirect", "fixed-response", "authenticate-oidc", "authenticate-cognito":
		case "":
			v.add(nil, p+".type", "Member must not be null")
		default:
			v.add(a.Type, p+".type", "Member must satisfy enum value set: [forward, authenticate-oidc, redirect, fixed-response, authenticate-cognito]")
		}
		if f.has(m + ".Order") {
			n, ok := parseInt32(f.get(m + ".Order"))
			if !ok || n < 1 || n > 50000 {
				v.add(f.get(m+".Order"), p+".order", "Member must have value between 1 and 50000")
			}
			a.Order = &n
		}
		switch a.Type {
		case "forward":
			a.TargetGroupArn = f.get(m + ".TargetGroupArn")
			for j, tm := range f.members(m + ".ForwardConfig.TargetGroups") {
				w := elbWeighted{TargetGroupArn: f.get(tm + ".TargetGroupArn"), Weight: 1}
				if f.has(tm + ".Weight") {
					raw := f.get(tm + ".Weight")
					n, ok := parseInt32(raw)
					wp := fmt.Sprintf("%s.forwardConfig.targetGroups.%d.member.weight", p, j+1)
					switch {
					case !ok:
						v.add(raw, wp, "Member must be a number")
					case n < 0:
						v.add(n, wp, "Member must have value greater than or equal to 0")
					case n > 999:
						v.add(n, wp, "Member must have value less than or equal to 999")
					}
					w.Weight = n
				}
				a.Forward = append(a.Forward, w)
			}
			sp := m + ".ForwardConfig.TargetGroupStickinessConfig"
			if f.hasPrefix(sp) {
				a.Stickiness = &elbStickiness{Enabled: f.get(sp+".Enabled") == "true"}
				if f.has(sp + ".DurationSeconds") {
					n, ok := parseInt32(f.get(sp + ".DurationSeconds"))
					if !ok || n < 1 || n > 604800 {
						v.add(f.get(sp+".DurationSeconds"), p+".forwardConfig.targetGroupStickinessConfig.durationSeconds", "Member must have value between 1 and 604800")
					}
					a.Stickiness.DurationSeconds = &n
				}
			}
		case "fixed-response":
			fp := m + ".FixedResponseConfig"
			a.FixedResponse = &elbFixedResponse{MessageBody: f.get(fp + ".MessageBody"), StatusCode: f.get(fp + ".StatusCode"), ContentType: f.get(fp + ".ContentType")}
			if !fixedStatusRE.MatchString(a.FixedResponse.StatusCode) {
				v.add(a.FixedResponse.StatusCode, p+".fixedResponseConfig.statusCode", "Member must satisfy regular expression pattern: ^(2|4|5)\\d\\d$")
			}
		case "redirect":
			rp := m + ".RedirectConfig"
			a.Redirect = &elbRedirect{Protocol: f.get(rp + ".Protocol"), Port: f.get(rp + ".Port"), Host: f.get(rp + ".Host"),
				Path: f.get(rp + ".Path"), Query: f.get(rp + ".Query"), StatusCode: f.get(rp + ".StatusCode")}
			if a.Redirect.StatusCode != "HTTP_301" && a.Redirect.StatusCode != "HTTP_302" {
				v.add(a.Redirect.StatusCode, p+".redirectConfig.statusCode", "Member must satisfy enum value set: [HTTP_301, HTTP_302]")
			}
		}
		out = append(out, a)
	}
	if err := elbValidation(v); err != nil {
		return nil, err
	}
	for _, a := range out {
		if a.Type != "forward" {
			continue
		}
		switch {
		case a.TargetGroupArn == "" && len(a.Forward) == 0:
			return nil, elbErr("ValidationError", "A target group ARN must be specified")
		case a.TargetGroupArn != "" && len(a.Forward) > 0 && (len(a.Forward) != 1 || a.Forward[0].TargetGroupArn != a.TargetGroupArn):
			return nil, elbErr("ValidationError", "You cannot specify both a target group ARN and a forward config with different target groups")
		case len(a.Forward) > 5:
			return nil, elbErr("ValidationError", "You cannot specify more than 5 target groups in a forward action")
		}
		seen := map[string]bool{}
		for _, w := range a.Forward {
			if seen[w.TargetGroupArn] {
				return nil, elbErr("ValidationError", "Target group '%s' is specified more than once in the forward action", w.TargetGroupArn)
			}
			seen[w.TargetGroupArn] = true
		}
		for _, tg := range a.targetGroups() {
			if e.elb.tgs[tg] == nil {
				return nil, elbErr("TargetGroupNotFound", "One or more target groups not found")
			}
		}
	}
	if len(out) == 0 {
		return nil, elbErr("ValidationError", "At least one action must be specified")
	}
	return out, nil
}

// checkAssociation refuses target groups already used by another load
// balancer.
func (e *Emulator) checkAssociation(lbArn string, actions []elbAction) *apiError {
	for _, a := range actions {
		for _, arn := range a.targetGroups() {
			for _, other := range e.tgLoadBalancers(e.elb.tgs[arn]) {
				if other != lbArn {
					return elbErr("TargetGroupAssociationLimit", "The following target groups cannot be associated with more than one load balancer: %s", arn)
				}
			}
		}
	}
	return nil
}

var conditionFields = []string{"http-header", "http-request-method", "host-header", "path-pattern", "query-string", "source-ip"}

// parseConditions reads a rule's Conditions.
func parseConditions(f qform, prefix string) ([]elbCondition, *apiError) {
	var out []elbCondition
	for i, m := range f.members(prefix) {
		c := elbCondition{Field: f.get(m + ".Field"), Values: f.strings(m + ".Values")}
		cfg := map[string]string{"path-pattern": "PathPatternConfig", "host-header": "HostHeaderConfig",
			"http-request-method": "HttpRequestMethodConfig", "source-ip": "SourceIpConfig", "http-header": "HttpHeaderConfig"}[c.Field]
		if !slices.Contains(conditionFields, c.Field) {
			var v validation
			v.add(c.Field, fmt.Sprintf("conditions.%d.member.field", i+1), "Member must satisfy enum value set: [http-header, http-request-method, host-header, path-pattern, query-string, source-ip]")
			return nil, elbValidation(v)
		}
		if cfg != "" && f.hasPrefix(m+"."+cfg) {
			if len(c.Values) > 0 {
				return nil, elbErr("ValidationError", "You cannot specify both 'Values' and '%s' in a condition", cfg)
			}
			c.Values = f.strings(m + "." + cfg + ".Values")
			c.HeaderName = f.get(m + "." + cfg + ".HttpHeaderName")
		}
		if c.Field == "query-string" {
			for _, q := range f.members(m + ".QueryStringConfig.Values") {
				c.QueryValues = append(c.QueryValues, elbKeyValue{Key: f.get(q + ".Key"), Value: f.get(q + ".Value")})
			}
		}
		if len(c.Values) == 0 && len(c.QueryValues) == 0 {
			return nil, elbErr("ValidationError", "A condition value must be specified for field '%s'", c.Field)
		}
		if c.Field == "http-header" && c.HeaderName == "" {
			return nil, elbErr("ValidationError", "An HTTP header name must be specified")
		}
		out = append(out, c)
	}
	return out, nil
}
