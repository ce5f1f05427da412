package provider

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/testenv/fakes"
)

const (
	cwKeyID  = "AKIAFAKEFAKEFAKE1234"
	cwSecret = "fakeSecretKeyForTests0123456789abcdefghij"
)

// isolateAWS keeps the SDK away from the machine's AWS settings: no
// environment credentials, no ~/.aws, no instance metadata.
func isolateAWS(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_REGION": "",
		"AWS_DEFAULT_REGION": "", "AWS_ROLE_ARN": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ENDPOINT_URL": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
}

// newCW returns a CloudWatch provider using a shared credentials file with
// a profile, against the fake.
func newCW(t *testing.T, fake *fakes.CloudWatch, url string, opts Options) Provider {
	t.Helper()
	isolateAWS(t)
	creds := filepath.Join(t.TempDir(), "credentials")
	content := "[default]\naws_access_key_id = AKIAWRONGWRONGWRONG0\naws_secret_access_key = wrong\n\n[pipe]\naws_access_key_id = " + cwKeyID + "\naws_secret_access_key = " + cwSecret + "\n"
	if err := os.WriteFile(creds, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	opts.CloudWatchEndpoint = url
	p, err := New(&config.AnalysisProvider{Name: "cw", Type: config.AnalysisCloudWatch, Config: &config.AWSConfig{
		Region: "eu-west-1", Profile: "pipe", CredentialsFile: config.HostPath(creds),
	}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func startCW(t *testing.T) (*fakes.CloudWatch, string) {
	fake, srv := fakes.NewCloudWatch(cwKeyID)
	t.Cleanup(srv.Close)
	return fake, srv.URL
}

func TestCloudWatchMetricObject(t *testing.T) {
	fake, url := startCW(t)
	fake.Data = func(req fakes.CloudWatchRequest) ([]fakes.CloudWatchResult, error) {
		return []fakes.CloudWatchResult{{ID: "q", Label: "HTTPCode_Target_5XX_Count",
			Timestamps: []time.Time{t0.Add(2 * time.Minute), t0, t0.Add(time.Minute)}, Values: []float64{3, 1, 2}}}, nil
	}
	p := newCW(t, fake, url, Options{})
	q := `{"namespace":"AWS/ApplicationELB","metricName":"HTTPCode_Target_5XX_Count","dimensions":{"LoadBalancer":"app/x/123","TargetGroup":"targetgroup/canary/456"},"stat":"Sum"}`
	w := Window{Start: t0, End: t0.Add(5 * time.Minute), Step: 45 * time.Second}
	pts, err := p.Query(context.Background(), q, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 3 || pts[0] != (Point{t0, 1}) || pts[1] != (Point{t0.Add(time.Minute), 2}) || pts[2] != (Point{t0.Add(2 * time.Minute), 3}) {
		t.Errorf("points %v", pts)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.AccessKeyID != cwKeyID || r.Region != "eu-west-1" {
		t.Errorf("signed by %q in %q, want the profile's key in eu-west-1", r.AccessKeyID, r.Region)
	}
	if !r.StartTime.Equal(t0) || !r.EndTime.Equal(t0.Add(5*time.Minute)) || r.ScanBy != "TimestampAscending" {
		t.Errorf("range %s..%s scan %q", r.StartTime, r.EndTime, r.ScanBy)
	}
	if len(r.Queries) != 1 {
		t.Fatalf("queries %+v", r.Queries)
	}
	mq := r.Queries[0]
	m := mq.Metric
	if mq.ID != "q" || !mq.ReturnData || m == nil || m.Namespace != "AWS/ApplicationELB" || m.MetricName != "HTTPCode_Target_5XX_Count" ||
		m.Stat != "Sum" || m.Period != 60 || len(m.Dimensions) != 2 || m.Dimensions["LoadBalancer"] != "app/x/123" || m.Dimensions["TargetGroup"] != "targetgroup/canary/456" {
		t.Errorf("query %+v metric %+v (want period 60: 45s rounded up)", mq, m)
	}
}

func TestCloudWatchExpressionPaginated(t *testing.T) {
	fake, url := startCW(t)
	fake.PageSize = 2
	var ts []time.Time
	var vs []float64
	for i := 0; i < 5; i++ {
		ts = append(ts, t0.Add(time.Duration(i)*time.Minute))
		vs = append(vs, float64(i))
	}
	fake.Data = func(req fakes.CloudWatchRequest) ([]fakes.CloudWatchResult, error) {
		return []fakes.CloudWatchResult{{ID: "q", Label: "errors", Timestamps: ts, Values: vs}}, nil
	}
	fake.Messages = [][2]string{{"MaxQueryTimeRangeExceed", "partial range"}}
	var warnings []string
	p := newCW(t, fake, url, Options{OnWarning: func(_, w string) { warnings = append(warnings, w) }})
	const expr = `SUM(SEARCH('{AWS/ApplicationELB,LoadBalancer} HTTPCode_Target_5XX_Count', 'Sum', 60))`
	pts, err := p.Query(context.Background(), expr, Window{Start: t0, End: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 5 {
		t.Fatalf("points %v, want 5 across 3 pages", pts)
	}
	for i, pt := range pts {
		if pt.Value != float64(i) || !pt.Time.Equal(ts[i]) {
			t.Errorf("point %d = %v", i, pt)
		}
	}
	reqs := fake.Requests()
	if len(reqs) != 3 || reqs[0].NextToken != "" || reqs[1].NextToken == "" || reqs[2].NextToken == "" {
		t.Fatalf("requests %+v, want 3 pages chained by NextToken", reqs)
	}
	q := reqs[0].Queries[0]
	if q.Expression != expr || q.Metric != nil || q.Period != 60 || !q.ReturnData {
		t.Errorf("expression query %+v (want period 60 for a 1h window)", q)
	}
	if len(warnings) != 3 || warnings[0] != "MaxQueryTimeRangeExceed: partial range" {
		t.Errorf("warnings %q", warnings)
	}
}

func TestCloudWatchQueryList(t *testing.T) {
	fake, url := startCW(t)
	fake.Data = func(req fakes.CloudWatchRequest) ([]fakes.CloudWatchResult, error) {
		return []fakes.CloudWatchResult{{ID: "rate", Timestamps: []time.Time{t0}, Values: []float64{0.05}}}, nil
	}
	p := newCW(t, fake, url, Options{})
	q := `
- id: errors
  namespace: AWS/ApplicationELB
  metricName: HTTPCode_Target_5XX_Count
  dimensions: {LoadBalancer: app/x}
  stat: Sum
  period: 300
- id: total
  metricStat:
    metric:
      namespace: AWS/ApplicationELB
      metricName: RequestCount
      dimensions: [{name: LoadBalancer, value: app/x}]
    stat: Sum
    period: 300
- id: rate
  expression: errors / total
  returnData: true
`
	pts, err := p.Query(context.Background(), q, Window{Start: t0, End: t0.Add(time.Hour), Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 1 || pts[0].Value != 0.05 {
		t.Errorf("points %v", pts)
	}
	qs := fake.Requests()[0].Queries
	if len(qs) != 3 || qs[0].ReturnData || qs[1].ReturnData || !qs[2].ReturnData {
		t.Fatalf("queries %+v: only rate returns data", qs)
	}
	if qs[0].Metric.Period != 300 || qs[1].Metric.Dimensions["LoadBalancer"] != "app/x" || qs[1].Metric.MetricName != "RequestCount" || qs[2].Expression != "errors / total" || qs[2].Period != 60 {
		t.Errorf("queries %+v %+v %+v", qs[0].Metric, qs[1].Metric, qs[2])
	}
}

func TestCloudWatchResults(t *testing.T) {
	fake, url := startCW(t)
	var results []fakes.CloudWatchResult
	var apiErr error
	fake.Data = func(fakes.CloudWatchRequest) ([]fakes.CloudWatchResult, error) { return results, apiErr }
	p := newCW(t, fake, url, Options{})
	w := Window{Start: t0, End: t0.Add(time.Hour)}
	const expr = `SEARCH('{AWS/Lambda,FunctionName} Errors', 'Sum', 60)`

	results = []fakes.CloudWatchResult{{ID: "q", Label: "Errors"}}
	if _, err := p.Query(context.Background(), expr, w); !errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), "eu-west-1") {
		t.Errorf("no datapoints: %v", err)
	}

	results = []fakes.CloudWatchResult{
		{ID: "q", Label: "fn-a", Timestamps: []time.Time{t0}, Values: []float64{1}},
		{ID: "q", Label: "fn-b", Timestamps: []time.Time{t0}, Values: []float64{2}},
		{ID: "q", Label: "fn-c"},
	}
	_, err := p.Query(context.Background(), expr, w)
	if err == nil || !strings.Contains(err.Error(), "2 series (fn-a, fn-b)") || !strings.Contains(err.Error(), "SUM(SEARCH(") {
		t.Errorf("several series: %v", err)
	}

	results = []fakes.CloudWatchResult{{ID: "q", StatusCode: "InternalError", Messages: [][2]string{{"InternalError", "try again"}}}}
	_, err = p.Query(context.Background(), expr, w)
	if err == nil || !strings.Contains(err.Error(), "status InternalError") || !strings.Contains(err.Error(), "try again") {
		t.Errorf("InternalError: %v", err)
	}

	results, apiErr = nil, &fakes.CloudWatchError{Code: "InvalidParameterValue", Message: "Error in expression 'q': Unrecognized function SERCH"}
	_, err = p.Query(context.Background(), "SERCH('x')", w)
	if err == nil || !strings.Contains(err.Error(), "InvalidParameterValue: Error in expression 'q': Unrecognized function SERCH") {
		t.Errorf("API error: %v", err)
	}
}

func TestCloudWatchBadCredentials(t *testing.T) {
	fake, srv := fakes.NewCloudWatch("AKIASOMEOTHERKEY0000")
	defer srv.Close()
	p := newCW(t, fake, srv.URL, Options{})
	_, err := p.Query(context.Background(), "SUM(x)", Window{Start: t0, End: t0.Add(time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "InvalidClientTokenId") || !strings.Contains(err.Error(), "check the AWS credentials") {
		t.Errorf("bad key: %v", err)
	}
	if strings.Contains(err.Error(), cwSecret) {
		t.Errorf("error leaks the secret key: %v", err)
	}
}

func TestCloudWatchEnvCredentials(t *testing.T) {
	fake, url := startCW(t)
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", cwKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", cwSecret)
	fake.Data = func(fakes.CloudWatchRequest) ([]fakes.CloudWatchResult, error) {
		return []fakes.CloudWatchResult{{ID: "q", Timestamps: []time.Time{t0}, Values: []float64{4}}}, nil
	}
	p, err := New(&config.AnalysisProvider{Name: "cw", Type: config.AnalysisCloudWatch, Config: &config.AWSConfig{Region: "us-east-1"}},
		Options{CloudWatchEndpoint: url})
	if err != nil {
		t.Fatal(err)
	}
	if p.Type() != config.AnalysisCloudWatch {
		t.Errorf("Type %q", p.Type())
	}
	pts, err := p.Query(context.Background(), "namespace: AWS/Lambda\nmetricName: Errors\nstat: Sum\ndimensions:\n  FunctionName: api\n", Window{Start: t0, End: t0.Add(time.Hour), Step: 5 * time.Minute})
	if err != nil || len(pts) != 1 || pts[0].Value != 4 {
		t.Fatalf("Query = %v, %v", pts, err)
	}
	r := fake.Requests()[0]
	if r.Region != "us-east-1" || r.Queries[0].Metric.Period != 300 || r.Queries[0].Metric.Dimensions["FunctionName"] != "api" {
		t.Errorf("request %+v %+v", r, r.Queries[0].Metric)
	}
}

func TestCloudWatchPeriod(t *testing.T) {
	for d, want := range map[time.Duration]int32{
		0: 1, time.Second: 1, 2 * time.Second: 5, 10 * time.Second: 10, 11 * time.Second: 30, 30 * time.Second: 30,
		31 * time.Second: 60, 60 * time.Second: 60, 61 * time.Second: 120, 1500 * time.Millisecond: 5,
	} {
		if got := cloudWatchPeriod(d); got != want {
			t.Errorf("cloudWatchPeriod(%s) = %d, want %d", d, got, want)
		}
	}
}

func TestParseCloudWatchQueryErrors(t *testing.T) {
	for q, want := range map[string]string{
		`{"namespace": "AWS/ELB"}`:                                                "needs `namespace` and `metricName`",
		`{"namespace": "A", "metricName": "B"}`:                                   "has no `stat`",
		`{"namespace": "A", "metricName": "B", "stat": "Sum", "period": 45}`:      "period 45",
		`{"namespace": "A", "metricName": "B", "stat": "Sum", "expression": "x"}`: "both `expression` and a metric",
		`[]`: "empty list",
		`[{"id": "a", "expression": "1"}, {"id": "b", "expression": "2"}]`:                     "0 of them",
		`[{"id": "a", "expression": "1", "returnData": true}, {"expression": "2"}]`:            "has no `id`",
		`[{"id": "A", "expression": "1"}]`:                                                     `id "A" is invalid`,
		`[{"id": "a", "expression": "1", "returnData": true}, {"id": "a", "expression": "2"}]`: "used twice",
		`[{"id": "a", "expression": "1", "returnData": false}]`:                                "returnData: false",
		`{"namespace": [1, 2]}`: "not a valid metric object",
		`{"id": "a", "metricStat": {"metric": {"namespace": "A", "metricName": "B"}, "stat": "Sum"}, "namespace": "C"}`: "both `metricStat` and the flat",
	} {
		_, err := parseCloudWatchQuery(q, 60)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseCloudWatchQuery(%s) = %v, want an error containing %q", q, err, want)
		}
	}
}

func TestCloudWatchWebIdentityTokenFileMissing(t *testing.T) {
	fake, url := startCW(t)
	isolateAWS(t)
	tokenFile := filepath.Join(t.TempDir(), "no-such-token")
	p, err := New(&config.AnalysisProvider{Name: "cw", Type: config.AnalysisCloudWatch, Config: &config.AWSConfig{
		Region: "us-east-1", RoleARN: "arn:aws:iam::123456789012:role/pipe", TokenFile: config.HostPath(tokenFile),
	}}, Options{CloudWatchEndpoint: url})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Query(context.Background(), "SUM(x)", Window{Start: t0, End: t0.Add(time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "no-such-token") || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("missing token file: %v", err)
	}
	t.Logf("error: %v", err)
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("%d unsigned requests reached CloudWatch", n)
	}
}
