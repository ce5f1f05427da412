package awsemu_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
)

// signedPost is a request with a SigV4 credential scope (the emulator does not
// check signatures).
func signedPost(t *testing.T, url, service, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+awsemu.AccessKeyID+"/20260101/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=00")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestECSMalformedRequests(t *testing.T) {
	emu, srv := awsemu.Start(awsemu.Options{})
	defer srv.Close()
	emu.CreateCluster("default")
	emu.CreateCluster("prod")
	emu.SetupALB("web")
	for _, tc := range []struct{ op, body, code string }{
		{"CreateCluster", `{`, "SerializationException"},
		{"CreateCluster", `[]`, "SerializationException"},
		{"CreateCluster", `{"clusterName": 7}`, "SerializationException"},
		{"CreateCluster", `{"clusterName": "a b"}`, "InvalidParameterException"},
		{"RegisterTaskDefinition", ``, "ClientException"},
		{"RegisterTaskDefinition", `null`, "ClientException"},
		{"RegisterTaskDefinition", `{"family":"x"}`, "ClientException"},
		{"RegisterTaskDefinition", `{"family":"x","containerDefinitions":[{}]}`, "ClientException"},
		{"RegisterTaskDefinition", `{"family":"x","containerDefinitions":[{"name":"a"}]}`, "ClientException"},
		{"RegisterTaskDefinition", `{"family":"x","containerDefinitions":{"name":"a"}}`, "SerializationException"},
		{"RegisterTaskDefinition", `{"family":"x","containerDefinitions":[{"name":"a","image":"i","portMappings":[{"containerPort":"80"}]}]}`, "SerializationException"},
		{"DescribeTaskDefinition", `{}`, "ClientException"},
		{"DeregisterTaskDefinition", `{"taskDefinition":"x"}`, "ClientException"},
		{"CreateService", `{}`, "InvalidParameterException"},
		{"CreateService", `{"cluster":"nope","serviceName":"s"}`, "ClusterNotFoundException"},
		{"CreateService", `{"serviceName":"s","deploymentController":{"type":"X"}}`, "InvalidParameterException"},
		{"CreateService", `{"serviceName":"s","deploymentController":null,"loadBalancers":null,"desiredCount":-1}`, "InvalidParameterException"},
		{"CreateService", `{"serviceName":"s","deploymentController":{"type":"EXTERNAL"},"loadBalancers":[{}]}`, "InvalidParameterException"},
		{"CreateService", `{"serviceName":"s","deploymentController":{"type":"EXTERNAL"},"networkConfiguration":{"awsvpcConfiguration":{}}}`, "InvalidParameterException"},
		{"CreateService", `{"serviceName":"s","deploymentController":{"type":"EXTERNAL"},"networkConfiguration":[]}`, "SerializationException"},
		{"UpdateService", `{}`, "InvalidParameterException"},
		{"UpdateService", `{"service":"nope"}`, "ServiceNotFoundException"},
		{"DescribeServices", `{}`, "InvalidParameterException"},
		{"DeleteService", `{}`, "InvalidParameterException"},
		{"CreateTaskSet", `{"service":"nope"}`, "ServiceNotFoundException"},
		{"UpdateTaskSet", `{"service":"nope","taskSet":"x","scale":{"value":"x"}}`, "SerializationException"},
		{"UpdateServicePrimaryTaskSet", `{}`, "InvalidParameterException"},
		{"DeleteTaskSet", `{"cluster":"prod"}`, "InvalidParameterException"},
		{"DescribeTaskSets", `{"taskSets":[1]}`, "SerializationException"},
		{"RunTask", `{}`, "InvalidParameterException"},
		{"RunTask", `{"taskDefinition":"nope","count":1}`, "ClientException"},
		{"StopTask", `{"task":"nope"}`, "InvalidParameterException"},
		{"ListTasks", `{"desiredStatus":"x"}`, "InvalidParameterException"},
		{"DescribeTasks", `{"tasks":[]}`, "InvalidParameterException"},
		{"TagResource", `{"resourceArn":"arn:aws:ecs:us-east-1:123456789012:cluster/nope"}`, "InvalidParameterException"},
		{"ListTagsForResource", `{"resourceArn":"arn:x"}`, "InvalidParameterException"},
		{"UntagResource", `{"resourceArn":""}`, "InvalidParameterException"},
		{"NoSuchOperation", `{}`, "UnknownOperationException"},
	} {
		status, body := signedPost(t, srv.URL, "ecs", tc.body, map[string]string{"X-Amz-Target": "AmazonEC2ContainerServiceV20141113." + tc.op,
			"Content-Type": "application/x-amz-json-1.1"})
		var out struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil || status != http.StatusBadRequest || !strings.HasSuffix(out.Type, "#"+tc.code) || out.Message == "" {
			t.Errorf("%s %s: %d %s, want 400 %s", tc.op, tc.body, status, body, tc.code)
		}
	}
	for _, tc := range []struct{ form, code string }{
		{"Action=CreateLoadBalancer&Version=2015-12-01", "ValidationError"},
		{"Action=CreateLoadBalancer&Name=-x", "ValidationError"},
		{"Action=CreateLoadBalancer&Name=x&Type=nope", "ValidationError"},
		{"Action=CreateTargetGroup&Name=x", "ValidationError"},
		{"Action=CreateTargetGroup&Name=x&Protocol=HTTP&Port=99999", "ValidationError"},
		{"Action=CreateListener&LoadBalancerArn=nope", "LoadBalancerNotFound"},
		{"Action=DescribeListeners", "ValidationError"},
		{"Action=DescribeRules&ListenerArn=nope", "ListenerNotFound"},
		{"Action=ModifyRule&RuleArn=nope", "RuleNotFound"},
		{"Action=ModifyListener&ListenerArn=nope", "ListenerNotFound"},
		{"Action=DescribeTargetHealth&TargetGroupArn=nope", "TargetGroupNotFound"},
		{"Action=DescribeTargetGroups&TargetGroupArns.member.x=1&TargetGroupArns.member.1=nope", "TargetGroupNotFound"},
		{"Action=DescribeTags&ResourceArns.member.1=arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/x/y/z", "ListenerNotFound"},
		{"Action=NoSuchAction", "InvalidAction"},
		{"Version=2015-12-01", "MissingAction"},
		{"Action=CreateRule&ListenerArn=nope&Priority=x", "ListenerNotFound"},
		{"%zz", "MalformedQueryString"},
	} {
		status, body := signedPost(t, srv.URL, "elasticloadbalancing", tc.form, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		var out struct {
			Error struct{ Type, Code, Message string }
		}
		if err := xml.Unmarshal([]byte(body), &out); err != nil || status != http.StatusBadRequest || out.Error.Code != tc.code || out.Error.Type != "Sender" {
			t.Errorf("%s: %d %s, want 400 %s", tc.form, status, body, tc.code)
		}
	}
	// Actions on a real listener: malformed weights, types and orders.
	alb := emu.SetupALB("api")
	base := "Action=ModifyListener&ListenerArn=" + url.QueryEscape(alb.ListenerARN)
	for _, tc := range []struct{ form, code string }{
		{base + "&DefaultActions.member.1.Type=nope", "ValidationError"},
		{base + "&DefaultActions.member.1.Type=forward", "ValidationError"},
		{base + "&DefaultActions.member.1.Type=forward&DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=x&DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.Weight=w", "ValidationError"},
		{base + "&DefaultActions.member.1.Type=forward&DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=x&DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.Weight=-1", "ValidationError"},
		{base + "&DefaultActions.member.1.Type=forward&DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=x", "TargetGroupNotFound"},
		{base + "&DefaultActions.member.1.Type=fixed-response&DefaultActions.member.1.FixedResponseConfig.StatusCode=600", "ValidationError"},
		{base + "&DefaultActions.member.1.Type=redirect", "ValidationError"},
		{base + "&DefaultActions.member.1.Type=forward&DefaultActions.member.1.Order=0&DefaultActions.member.1.TargetGroupArn=" + url.QueryEscape(alb.BlueTG), "ValidationError"},
		{base + "&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn=" + url.QueryEscape(alb.BlueTG) + "&DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=" + url.QueryEscape(alb.GreenTG), "ValidationError"},
		{"Action=ModifyListener&ListenerArn=" + url.QueryEscape(alb.ListenerARN) + "&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn=" + url.QueryEscape(emu.SetupALB("other").BlueTG), "TargetGroupAssociationLimit"},
		{"Action=ModifyRule&RuleArn=" + url.QueryEscape(alb.RuleARNs[0]) + "&Conditions.member.1.Field=nope", "ValidationError"},
		{"Action=ModifyRule&RuleArn=" + url.QueryEscape(alb.RuleARNs[0]) + "&Conditions.member.1.Field=path-pattern", "ValidationError"},
		{"Action=CreateRule&ListenerArn=" + url.QueryEscape(alb.ListenerARN) + "&Priority=10&Conditions.member.1.Field=path-pattern&Conditions.member.1.Values.member.1=/x&Actions.member.1.Type=forward&Actions.member.1.TargetGroupArn=" + url.QueryEscape(alb.BlueTG), "PriorityInUse"},
	} {
		status, body := signedPost(t, srv.URL, "elasticloadbalancing", tc.form, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if status != http.StatusBadRequest || !strings.Contains(body, "<Code>"+tc.code+"</Code>") {
			t.Errorf("%s: %d %s, want 400 %s", tc.form, status, body, tc.code)
		}
	}
	if w := emu.Weights(alb.ListenerARN)["default"]; w[alb.BlueTG] != 100 || w[alb.GreenTG] != 0 {
		t.Fatalf("a refused change changed the weights: %v", w)
	}
}

func TestECSDenyAndAuth(t *testing.T) {
	emu, srv := awsemu.Start(awsemu.Options{})
	defer srv.Close()
	ctx := context.Background()
	emu.CreateCluster("prod")
	alb := emu.SetupALB("web")
	emu.Deny("ecs:CreateTaskSet")
	_, err := ecsClient(srv.URL).CreateTaskSet(ctx, &ecs.CreateTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String("web:1")})
	if apiCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "is not authorized to perform: ecs:CreateTaskSet") {
		t.Fatalf("denied CreateTaskSet: %v", err)
	}
	emu.Deny("elasticloadbalancing:ModifyRule")
	_, err = elbClient(srv.URL).ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: aws.String(alb.RuleARNs[0])})
	if apiCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "elasticloadbalancing:ModifyRule") {
		t.Fatalf("denied ModifyRule: %v", err)
	}
	emu.Deny("")
	status, body := signedPost(t, srv.URL, "ecs", `{}`, map[string]string{"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters"})
	if status != http.StatusOK || !strings.Contains(body, "cluster/prod") {
		t.Fatalf("ListClusters: %d %s", status, body)
	}
	bad := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}})
	if _, err := bad.ListClusters(ctx, &ecs.ListClustersInput{}); err == nil {
		t.Fatal("an unsigned request was served")
	}
	if n := emu.Calls("CreateTaskSet"); n != 1 {
		t.Fatalf("calls: %d", n)
	}
}
