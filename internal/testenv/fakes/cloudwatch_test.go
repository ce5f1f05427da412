package fakes

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
)

// cwClient is the real SDK client pointed at the fake.
func cwClient(url, keyID string) *cloudwatch.Client {
	return cloudwatch.New(cloudwatch.Options{
		Region:           "us-west-2",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, "secret", ""),
		RetryMaxAttempts: 1,
	})
}

func TestCloudWatchFakeSpeaksTheSDKProtocol(t *testing.T) {
	cw, srv := NewCloudWatch("AKIDTEST")
	defer srv.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cw.PageSize = 3
	cw.Data = func(req CloudWatchRequest) ([]CloudWatchResult, error) {
		return []CloudWatchResult{
			{ID: "a", Label: "A", Timestamps: []time.Time{t0, t0.Add(time.Minute)}, Values: []float64{1, 2}},
			{ID: "b", Label: "B", Timestamps: []time.Time{t0, t0.Add(time.Minute), t0.Add(2 * time.Minute)}, Values: []float64{3, 4, 5}},
		}, nil
	}
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Hour)),
		MetricDataQueries: []cwtypes.MetricDataQuery{
			{Id: aws.String("a"), MetricStat: &cwtypes.MetricStat{Metric: &cwtypes.Metric{Namespace: aws.String("NS"), MetricName: aws.String("M"),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("D"), Value: aws.String("v")}}}, Period: aws.Int32(60), Stat: aws.String("Sum")}},
			{Id: aws.String("b"), Expression: aws.String("a * 2"), Period: aws.Int32(60)},
		},
	}
	c := cwClient(srv.URL, "AKIDTEST")
	out, err := c.GetMetricData(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	// Default ScanBy is TimestampDescending; page 1 holds 3 datapoints.
	a, b := out.MetricDataResults[0], out.MetricDataResults[1]
	if aws.ToString(a.Id) != "a" || a.StatusCode != cwtypes.StatusCodeComplete || len(a.Values) != 2 || a.Values[0] != 2 || !a.Timestamps[0].Equal(t0.Add(time.Minute)) {
		t.Errorf("result a %+v", a)
	}
	if b.StatusCode != cwtypes.StatusCodePartialData || len(b.Values) != 1 || b.Values[0] != 5 || aws.ToString(out.NextToken) == "" {
		t.Errorf("result b %+v, token %v", b, out.NextToken)
	}
	in.NextToken = out.NextToken
	out, err = c.GetMetricData(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if b := out.MetricDataResults[1]; b.StatusCode != cwtypes.StatusCodeComplete || len(b.Values) != 2 || b.Values[1] != 3 || out.NextToken != nil {
		t.Errorf("page 2 b %+v token %v", b, out.NextToken)
	}
	reqs := cw.Requests()
	if len(reqs) != 2 || reqs[0].AccessKeyID != "AKIDTEST" || reqs[0].Region != "us-west-2" || !reqs[0].StartTime.Equal(t0) {
		t.Fatalf("requests %+v", reqs)
	}
	m := reqs[0].Queries[0].Metric
	if m.Namespace != "NS" || m.MetricName != "M" || m.Dimensions["D"] != "v" || m.Period != 60 || m.Stat != "Sum" || reqs[0].Queries[1].Expression != "a * 2" {
		t.Errorf("queries %+v %+v", m, reqs[0].Queries[1])
	}
}

func TestCloudWatchFakeErrors(t *testing.T) {
	cw, srv := NewCloudWatch("AKIDTEST")
	defer srv.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	metric := &cwtypes.Metric{Namespace: aws.String("NS"), MetricName: aws.String("M")}
	for _, tc := range []struct {
		name, key, code, msg string
		in                   *cloudwatch.GetMetricDataInput
		typed                bool
	}{
		{"bad period", "AKIDTEST", "InvalidParameterValue", "Period must be 1, 5, 10, 30 or a multiple of 60", &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Hour)),
			MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("m"), MetricStat: &cwtypes.MetricStat{Metric: metric, Period: aws.Int32(45), Stat: aws.String("Sum")}}}}, true},
		{"bad id", "AKIDTEST", "InvalidParameterValue", "Id is not valid", &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Hour)),
			MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("Bad"), Expression: aws.String("1")}}}, true},
		{"reversed range", "AKIDTEST", "InvalidParameterValue", "StartTime must be less", &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(-time.Hour)),
			MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("e"), Expression: aws.String("1")}}}, true},
		{"nothing returned", "AKIDTEST", "InvalidParameterValue", "ReturnData", &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Hour)),
			MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("e"), Expression: aws.String("1"), ReturnData: aws.Bool(false)}}}, true},
		{"wrong key", "AKIDOTHER", "InvalidClientTokenId", "security token", &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Hour)),
			MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("e"), Expression: aws.String("1")}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cwClient(srv.URL, tc.key).GetMetricData(context.Background(), tc.in)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code || !strings.Contains(ae.ErrorMessage(), tc.msg) {
				t.Fatalf("err = %v, want %s containing %q", err, tc.code, tc.msg)
			}
			var ipv *cwtypes.InvalidParameterValueException
			if tc.typed != errors.As(err, &ipv) {
				t.Errorf("typed InvalidParameterValueException = %v, want %v (%T)", !tc.typed, tc.typed, err)
			}
		})
	}
	if n := len(cw.Requests()); n != 0 {
		t.Errorf("%d invalid requests recorded", n)
	}
	// Not the protocol: a plain HTTP request is refused.
	resp, err := http.Post(srv.URL+cloudWatchPathPrefix+"GetMetricData", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Amzn-Query-Error") == "" {
		t.Errorf("non-CBOR request: %d %v", resp.StatusCode, resp.Header)
	}
}
