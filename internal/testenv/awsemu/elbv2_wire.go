package awsemu

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The ELBv2 wire: the AWS Query protocol (form-encoded Action=...&
// Version=2015-12-01, lists as Name.member.N) and XML responses.

const elbNamespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

// qform reads a Query protocol form.
type qform url.Values

func (f qform) get(k string) string { return url.Values(f).Get(k) }

func (f qform) has(k string) bool { _, ok := f[k]; return ok }

// hasPrefix reports whether any key starts with prefix (a list or
// structure was given).
func (f qform) hasPrefix(prefix string) bool {
	for k := range f {
		if k == prefix || strings.HasPrefix(k, prefix+".") {
			return true
		}
	}
	return false
}

// members are the prefixes prefix.member.N of a list, in order of N.
func (f qform) members(prefix string) []string {
	var ns []int
	p := prefix + ".member."
	for k := range f {
		rest, ok := strings.CutPrefix(k, p)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > 10000 || slices.Contains(ns, n) {
			continue
		}
		ns = append(ns, n)
	}
	slices.Sort(ns)
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = p + strconv.Itoa(n)
	}
	return out
}

// strings is a list of strings.
func (f qform) strings(prefix string) []string {
	var out []string
	for _, m := range f.members(prefix) {
		out = append(out, f.get(m))
	}
	return out
}

// elbError is an ELBv2 error (Type Sender unless status >= 500).
func elbErr(code, format string, args ...any) *apiError {
	status := http.StatusBadRequest
	if code == "AccessDenied" {
		status = http.StatusForbidden
	}
	return &apiError{status, code, fmt.Sprintf(format, args...)}
}

func (e *Emulator) writeELBError(w http.ResponseWriter, err *apiError) {
	out := stsErrorResponse{Xmlns: elbNamespace, RequestID: e.lockedUUID()}
	out.Error.Type, out.Error.Code, out.Error.Message = "Sender", err.code, err.message
	if err.status >= 500 {
		out.Error.Type = "Receiver"
	}
	writeXML(w, err.status, out)
}

// named encodes v as the element name.
type named struct {
	name string
	v    any
}

func (n named) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	return enc.EncodeElement(n.v, xml.StartElement{Name: xml.Name{Local: n.name}})
}

type elbEnvelope struct {
	XMLName  xml.Name
	Xmlns    string           `xml:"xmlns,attr"`
	Result   named            `xml:"Result"`
	Metadata responseMetadata `xml:"ResponseMetadata"`
}

func (e *Emulator) writeELB(w http.ResponseWriter, action string, result any, reqID string) {
	writeXML(w, http.StatusOK, elbEnvelope{XMLName: xml.Name{Local: action + "Response"}, Xmlns: elbNamespace,
		Result: named{action + "Result", result}, Metadata: responseMetadata{reqID}})
}

// memberList is a Query-protocol list: <Name><member>...</member></Name>,
// always present.
type memberList[T any] []T

func (m memberList[T]) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	for _, v := range m {
		if err := enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: "member"}}); err != nil {
			return err
		}
	}
	return enc.EncodeToken(start.End())
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

type azXML struct {
	ZoneName string `xml:"ZoneName"`
	SubnetID string `xml:"SubnetId"`
}

type lbXML struct {
	LoadBalancerArn       string                `xml:"LoadBalancerArn"`
	DNSName               string                `xml:"DNSName"`
	CanonicalHostedZoneID string                `xml:"CanonicalHostedZoneId"`
	CreatedTime           string                `xml:"CreatedTime"`
	LoadBalancerName      string                `xml:"LoadBalancerName"`
	Scheme                string                `xml:"Scheme"`
	VpcID                 string                `xml:"VpcId"`
	State                 struct{ Code string } `xml:"State"`
	Type                  string                `xml:"Type"`
	AvailabilityZones     memberList[azXML]     `xml:"AvailabilityZones"`
	SecurityGroups        memberList[string]    `xml:"SecurityGroups"`
	IPAddressType         string                `xml:"IpAddressType"`
}

func (e *Emulator) lbXML(lb *elbLB) lbXML {
	out := lbXML{LoadBalancerArn: lb.arn, DNSName: lb.name + "-" + lb.id[:10] + "." + e.region + ".elb.amazonaws.com",
		CanonicalHostedZoneID: "Z35SXDOTRQ7X7K", CreatedTime: isoTime(lb.created), LoadBalancerName: lb.name, Scheme: lb.scheme,
		VpcID: "vpc-0emulator0000001", Type: lb.typ, SecurityGroups: lb.securityGroups, IPAddressType: lb.ipType}
	out.State.Code = "active"
	if e.now().Before(lb.created.Add(e.delay)) {
		out.State.Code = "provisioning"
	}
	for i, s := range lb.subnets {
		out.AvailabilityZones = append(out.AvailabilityZones, azXML{ZoneName: e.region + string(rune('a'+i%6)), SubnetID: s})
	}
	if out.SecurityGroups == nil {
		out.SecurityGroups = memberList[string]{}
	}
	return out
}

type tgXML struct {
	TargetGroupArn             string             `xml:"TargetGroupArn"`
	TargetGroupName            string             `xml:"TargetGroupName"`
	Protocol                   string             `xml:"Protocol,omitempty"`
	Port                       int32              `xml:"Port,omitempty"`
	VpcID                      string             `xml:"VpcId,omitempty"`
	HealthCheckProtocol        string             `xml:"HealthCheckProtocol,omitempty"`
	HealthCheckPort            string             `xml:"HealthCheckPort,omitempty"`
	HealthCheckEnabled         bool               `xml:"HealthCheckEnabled"`
	HealthCheckIntervalSeconds int32              `xml:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  int32              `xml:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      int32              `xml:"HealthyThresholdCount"`
	UnhealthyThresholdCount    int32              `xml:"UnhealthyThresholdCount"`
	HealthCheckPath            string             `xml:"HealthCheckPath,omitempty"`
	Matcher                    *matcherXML        `xml:"Matcher,omitempty"`
	LoadBalancerArns           memberList[string] `xml:"LoadBalancerArns"`
	TargetType                 string             `xml:"TargetType"`
	ProtocolVersion            string             `xml:"ProtocolVersion,omitempty"`
	IPAddressType              string             `xml:"IpAddressType"`
}

type matcherXML struct {
	HTTPCode string `xml:"HttpCode"`
}

func (e *Emulator) tgXML(tg *elbTG) tgXML {
	out := tgXML{TargetGroupArn: tg.arn, TargetGroupName: tg.name, Protocol: tg.protocol, Port: tg.port, VpcID: tg.vpc,
		HealthCheckProtocol: tg.healthProtocol, HealthCheckPort: tg.healthPort, HealthCheckEnabled: true, HealthCheckIntervalSeconds: 30,
		HealthCheckTimeoutSeconds: 5, HealthyThresholdCount: 5, UnhealthyThresholdCount: 2, TargetType: tg.targetType,
		ProtocolVersion: tg.protocolVersion, IPAddressType: "ipv4", LoadBalancerArns: e.tgLoadBalancers(tg)}
	if tg.protocol == "HTTP" || tg.protocol == "HTTPS" {
		out.HealthCheckPath, out.Matcher = tg.healthPath, &matcherXML{tg.matcher}
	}
	if out.LoadBalancerArns == nil {
		out.LoadBalancerArns = memberList[string]{}
	}
	return out
}

type forwardXML struct {
	TargetGroups                memberList[elbWeighted] `xml:"TargetGroups"`
	TargetGroupStickinessConfig *elbStickiness          `xml:"TargetGroupStickinessConfig,omitempty"`
}

type actionXML struct {
	Type                string            `xml:"Type"`
	TargetGroupArn      string            `xml:"TargetGroupArn,omitempty"`
	Order               *int32            `xml:"Order,omitempty"`
	ForwardConfig       *forwardXML       `xml:"ForwardConfig,omitempty"`
	FixedResponseConfig *elbFixedResponse `xml:"FixedResponseConfig,omitempty"`
	RedirectConfig      *elbRedirect      `xml:"RedirectConfig,omitempty"`
}

// actionsXML renders actions as ELB returns them: a forward to one target
// group has both TargetGroupArn and ForwardConfig.
func actionsXML(actions []elbAction) memberList[actionXML] {
	out := memberList[actionXML]{}
	for _, a := range actions {
		ax := actionXML{Type: a.Type, Order: a.Order, FixedResponseConfig: a.FixedResponse, RedirectConfig: a.Redirect}
		if a.Type == "forward" {
			fw := &forwardXML{TargetGroups: memberList[elbWeighted](a.Forward), TargetGroupStickinessConfig: a.Stickiness}
			if len(a.Forward) == 0 {
				fw.TargetGroups = memberList[elbWeighted]{{TargetGroupArn: a.TargetGroupArn, Weight: 1}}
			}
			if fw.TargetGroupStickinessConfig == nil {
				fw.TargetGroupStickinessConfig = &elbStickiness{}
			}
			ax.ForwardConfig = fw
			if tgs := a.targetGroups(); len(tgs) == 1 {
				ax.TargetGroupArn = tgs[0]
			}
		}
		out = append(out, ax)
	}
	return out
}

type listenerXML struct {
	ListenerArn     string                `xml:"ListenerArn"`
	LoadBalancerArn string                `xml:"LoadBalancerArn"`
	Port            int32                 `xml:"Port"`
	Protocol        string                `xml:"Protocol"`
	Certificates    memberList[certXML]   `xml:"Certificates,omitempty"`
	SslPolicy       string                `xml:"SslPolicy,omitempty"`
	DefaultActions  memberList[actionXML] `xml:"DefaultActions"`
}

type certXML struct {
	CertificateArn string `xml:"CertificateArn"`
}

func listenerXMLOf(l *elbListener) listenerXML {
	out := listenerXML{ListenerArn: l.arn, LoadBalancerArn: l.lbArn, Port: l.port, Protocol: l.protocol, SslPolicy: l.sslPolicy,
		DefaultActions: actionsXML(l.defaultActions)}
	for _, c := range l.certificates {
		out.Certificates = append(out.Certificates, certXML{c})
	}
	return out
}

type valuesXML struct {
	Values memberList[string] `xml:"Values"`
}

type condXML struct {
	Field             string             `xml:"Field"`
	Values            memberList[string] `xml:"Values,omitempty"`
	HostHeaderConfig  *valuesXML         `xml:"HostHeaderConfig,omitempty"`
	PathPatternConfig *valuesXML         `xml:"PathPatternConfig,omitempty"`
	HTTPHeaderConfig  *struct {
		HTTPHeaderName string             `xml:"HttpHeaderName"`
		Values         memberList[string] `xml:"Values"`
	} `xml:"HttpHeaderConfig,omitempty"`
	QueryStringConfig *struct {
		Values memberList[elbKeyValue] `xml:"Values"`
	} `xml:"QueryStringConfig,omitempty"`
	HTTPRequestMethodConfig *valuesXML `xml:"HttpRequestMethodConfig,omitempty"`
	SourceIPConfig          *valuesXML `xml:"SourceIpConfig,omitempty"`
}

func condsXML(conds []elbCondition) memberList[condXML] {
	out := memberList[condXML]{}
	for _, c := range conds {
		cx := condXML{Field: c.Field}
		vals := &valuesXML{Values: c.Values}
		switch c.Field {
		case "host-header":
			cx.Values, cx.HostHeaderConfig = c.Values, vals
		case "path-pattern":
			cx.Values, cx.PathPatternConfig = c.Values, vals
		case "http-request-method":
			cx.HTTPRequestMethodConfig = vals
		case "source-ip":
			cx.SourceIPConfig = vals
		case "http-header":
			cx.HTTPHeaderConfig = &struct {
				HTTPHeaderName string             `xml:"HttpHeaderName"`
				Values         memberList[string] `xml:"Values"`
			}{c.HeaderName, c.Values}
		case "query-string":
			cx.QueryStringConfig = &struct {
				Values memberList[elbKeyValue] `xml:"Values"`
			}{c.QueryValues}
		}
		out = append(out, cx)
	}
	return out
}

type ruleXML struct {
	RuleArn    string                `xml:"RuleArn"`
	Priority   string                `xml:"Priority"`
	Conditions memberList[condXML]   `xml:"Conditions"`
	Actions    memberList[actionXML] `xml:"Actions"`
	IsDefault  bool                  `xml:"IsDefault"`
}

func ruleXMLOf(l *elbListener, r *elbRule) ruleXML {
	if r == nil {
		return ruleXML{RuleArn: l.defaultRuleArn, Priority: "default", Conditions: memberList[condXML]{}, Actions: actionsXML(l.defaultActions), IsDefault: true}
	}
	return ruleXML{RuleArn: r.arn, Priority: strconv.Itoa(r.priority), Conditions: condsXML(r.conditions), Actions: actionsXML(r.actions)}
}

type tagDescXML struct {
	ResourceArn string             `xml:"ResourceArn"`
	Tags        memberList[elbTag] `xml:"Tags"`
}

type targetHealthXML struct {
	Target struct {
		ID               string `xml:"Id"`
		Port             int32  `xml:"Port"`
		AvailabilityZone string `xml:"AvailabilityZone"`
	} `xml:"Target"`
	HealthCheckPort string `xml:"HealthCheckPort"`
	TargetHealth    struct {
		State       string `xml:"State"`
		Reason      string `xml:"Reason,omitempty"`
		Description string `xml:"Description,omitempty"`
	} `xml:"TargetHealth"`
}
