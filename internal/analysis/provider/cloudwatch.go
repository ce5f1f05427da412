package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"gopkg.in/yaml.v3"

	"github.com/gitops-pipe/pipe/internal/awsconf"
	"github.com/gitops-pipe/pipe/internal/config"
)

// CloudWatch queries Amazon CloudWatch with GetMetricData. The query
// string is one of:
//
//   - a metric math or SEARCH expression, e.g.
//     SUM(SEARCH('{AWS/ApplicationELB,LoadBalancer} HTTPCode_Target_5XX_Count', 'Sum', 60));
//   - a JSON or YAML object naming one metric:
//     {"namespace": "AWS/ApplicationELB", "metricName": "HTTPCode_Target_5XX_Count",
//     "dimensions": {"LoadBalancer": "app/x"}, "stat": "Sum", "period": 60}
//     (optional: "unit", "accountId", "label");
//   - a JSON or YAML list of queries, each with an "id" and either an
//     "expression" or a metric (the flat fields above, or the AWS shape
//     "metricStat": {"metric": {"namespace", "metricName", "dimensions":
//     [{"name", "value"}]}, "stat", "period"}). Exactly one of them, when
//     there are several, has "returnData": true: its series is the result;
//     the others only feed the expressions.
//
// The period, when a query does not set one, is Window.Step rounded up to
// a period CloudWatch allows (1, 5, 10, 30 or a multiple of 60 seconds);
// with no step it is the smallest allowed period giving at most about 60
// points, and at least 60s. Points come in time order (ScanBy
// TimestampAscending, pages joined). A result with status InternalError or
// Forbidden is an error; PartialData pages are followed to the end;
// messages CloudWatch attaches go to Options.OnWarning.
type CloudWatch struct {
	where  string
	region string
	client *cloudwatch.Client
	warn   func(query, warning string)
}

func newCloudWatch(where string, c *config.AWSConfig, opts Options) (*CloudWatch, error) {
	region := strings.TrimSpace(c.Region)
	if region == "" {
		return nil, fmt.Errorf("%s: `config.region` is empty; write the region of the metrics, e.g. us-east-1", where)
	}
	cfg, err := awsconf.Load(context.Background(), awsconf.Options{Where: where, Config: c, HTTP: opts.HTTPClient})
	if err != nil {
		return nil, err
	}
	client := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		if opts.CloudWatchEndpoint != "" {
			o.BaseEndpoint = aws.String(opts.CloudWatchEndpoint)
		}
	})
	return &CloudWatch{where: where, region: region, client: client, warn: opts.OnWarning}, nil
}

// Type implements Provider.
func (*CloudWatch) Type() string { return config.AnalysisCloudWatch }

// cwQuery is one query of the structured forms.
type cwQuery struct {
	ID         string            `yaml:"id"`
	Expression string            `yaml:"expression"`
	Namespace  string            `yaml:"namespace"`
	MetricName string            `yaml:"metricName"`
	Dimensions map[string]string `yaml:"dimensions"`
	Stat       string            `yaml:"stat"`
	Period     int32             `yaml:"period"`
	Unit       string            `yaml:"unit"`
	AccountID  string            `yaml:"accountId"`
	Label      string            `yaml:"label"`
	ReturnData *bool             `yaml:"returnData"`
	MetricStat *struct {
		Metric struct {
			Namespace  string `yaml:"namespace"`
			MetricName string `yaml:"metricName"`
			Dimensions []struct {
				Name  string `yaml:"name"`
				Value string `yaml:"value"`
			} `yaml:"dimensions"`
		} `yaml:"metric"`
		Stat   string `yaml:"stat"`
		Period int32  `yaml:"period"`
		Unit   string `yaml:"unit"`
	} `yaml:"metricStat"`
}

var (
	structuredQuery = regexp.MustCompile(`^\s*(\{|\[|-\s|[A-Za-z]+\s*:)`)
	cwIDPattern     = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)
)

// cloudWatchPeriod rounds d up to a period CloudWatch allows.
func cloudWatchPeriod(d time.Duration) int32 {
	s := int64((d + time.Second - 1) / time.Second)
	switch {
	case s <= 1:
		return 1
	case s <= 5:
		return 5
	case s <= 10:
		return 10
	case s <= 30:
		return 30
	}
	return int32((s + 59) / 60 * 60)
}

func validPeriod(p int32) bool {
	return p == 1 || p == 5 || p == 10 || p == 30 || (p > 0 && p%60 == 0)
}

// parseCloudWatchQuery turns a query string into the MetricDataQueries of
// GetMetricData; defPeriod is the period of queries that set none.
func parseCloudWatchQuery(query string, defPeriod int32) ([]cwtypes.MetricDataQuery, error) {
	if !structuredQuery.MatchString(query) {
		return []cwtypes.MetricDataQuery{{
			Id: aws.String("q"), Expression: aws.String(strings.TrimSpace(query)), Period: aws.Int32(defPeriod), ReturnData: aws.Bool(true),
		}}, nil
	}
	var list []cwQuery
	trimmed := strings.TrimSpace(query)
	if strings.HasPrefix(trimmed, "[") || strings.HasPrefix(trimmed, "-") {
		if err := yaml.Unmarshal([]byte(query), &list); err != nil {
			return nil, fmt.Errorf("the query is not a valid list of metric data queries: %v", err)
		}
		if len(list) == 0 {
			return nil, errors.New("the query is an empty list; give at least one metric or expression")
		}
	} else {
		var one cwQuery
		if err := yaml.Unmarshal([]byte(query), &one); err != nil {
			return nil, fmt.Errorf("the query is not a valid metric object: %v", err)
		}
		if one.ID == "" {
			one.ID = "q"
		}
		list = []cwQuery{one}
	}
	returning := 0
	for _, q := range list {
		if q.ReturnData != nil && *q.ReturnData {
			returning++
		}
	}
	if len(list) > 1 && returning != 1 {
		return nil, fmt.Errorf("the query lists %d metric data queries and %d of them has `returnData: true`; mark exactly one, the series to judge", len(list), returning)
	}
	if len(list) == 1 && list[0].ReturnData != nil && !*list[0].ReturnData {
		return nil, errors.New("the only metric data query has `returnData: false`; remove it or set it to true")
	}
	seen := map[string]bool{}
	out := make([]cwtypes.MetricDataQuery, 0, len(list))
	for i, q := range list {
		where := fmt.Sprintf("query %d", i+1)
		if q.ID == "" {
			return nil, fmt.Errorf("%s has no `id`; give each query of a list an id such as m1 (a lowercase letter, then letters, digits or _)", where)
		}
		if !cwIDPattern.MatchString(q.ID) {
			return nil, fmt.Errorf("%s: id %q is invalid: it starts with a lowercase letter and has only letters, digits and _", where, q.ID)
		}
		if seen[q.ID] {
			return nil, fmt.Errorf("%s: id %q is used twice", where, q.ID)
		}
		seen[q.ID] = true
		mdq := cwtypes.MetricDataQuery{Id: aws.String(q.ID), ReturnData: aws.Bool(len(list) == 1 || (q.ReturnData != nil && *q.ReturnData))}
		if q.Label != "" {
			mdq.Label = aws.String(q.Label)
		}
		if q.AccountID != "" {
			mdq.AccountId = aws.String(q.AccountID)
		}
		ns, name, stat, period, unit := q.Namespace, q.MetricName, q.Stat, q.Period, q.Unit
		dims := make([]cwtypes.Dimension, 0, len(q.Dimensions))
		for k, v := range q.Dimensions {
			dims = append(dims, cwtypes.Dimension{Name: aws.String(k), Value: aws.String(v)})
		}
		if ms := q.MetricStat; ms != nil {
			if ns != "" || name != "" || len(dims) > 0 {
				return nil, fmt.Errorf("%s sets both `metricStat` and the flat metric fields; keep one form", where)
			}
			ns, name, stat, period, unit = ms.Metric.Namespace, ms.Metric.MetricName, ms.Stat, ms.Period, ms.Unit
			for _, d := range ms.Metric.Dimensions {
				dims = append(dims, cwtypes.Dimension{Name: aws.String(d.Name), Value: aws.String(d.Value)})
			}
		}
		sort.Slice(dims, func(i, j int) bool { return *dims[i].Name < *dims[j].Name })
		if period == 0 {
			period = defPeriod
		}
		if !validPeriod(period) {
			return nil, fmt.Errorf("%s: period %d is not one CloudWatch allows: 1, 5, 10, 30 or a multiple of 60 seconds", where, period)
		}
		switch {
		case q.Expression != "" && (ns != "" || name != ""):
			return nil, fmt.Errorf("%s sets both `expression` and a metric; a query is one or the other", where)
		case q.Expression != "":
			mdq.Expression = aws.String(q.Expression)
			mdq.Period = aws.Int32(period)
		case ns == "" || name == "":
			return nil, fmt.Errorf("%s needs `namespace` and `metricName` (e.g. AWS/ApplicationELB and HTTPCode_Target_5XX_Count), or an `expression`", where)
		default:
			if stat == "" {
				return nil, fmt.Errorf("%s: metric %s/%s has no `stat`; write e.g. Sum, Average, Maximum or p99", where, ns, name)
			}
			mdq.MetricStat = &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String(ns), MetricName: aws.String(name), Dimensions: dims},
				Period: aws.Int32(period),
				Stat:   aws.String(stat),
			}
			if unit != "" {
				mdq.MetricStat.Unit = cwtypes.StandardUnit(unit)
			}
		}
		out = append(out, mdq)
	}
	return out, nil
}

// Query implements Provider.
func (c *CloudWatch) Query(ctx context.Context, query string, w Window) ([]Point, error) {
	if strings.TrimSpace(query) == "" {
		return nil, fmt.Errorf("%s: the query is empty; write a metric math expression or a metric object (see docs/analysis-providers.md)", c.where)
	}
	if err := checkWindow(c.where, query, w); err != nil {
		return nil, err
	}
	period := cloudWatchPeriod(w.Step)
	if w.Step == 0 {
		period = max(cloudWatchPeriod(autoStep(w)), 60)
	}
	queries, err := parseCloudWatchQuery(query, period)
	if err != nil {
		return nil, fmt.Errorf("%s: query %q: %v", c.where, query, err)
	}
	in := &cloudwatch.GetMetricDataInput{
		StartTime:         aws.Time(w.Start),
		EndTime:           aws.Time(w.End),
		MetricDataQueries: queries,
		ScanBy:            cwtypes.ScanByTimestampAscending,
	}
	type series struct {
		label  string
		points []Point
	}
	var order []string
	results := map[string]*series{}
	for page := 0; ; page++ {
		if page >= 1000 {
			return nil, fmt.Errorf("%s: query %q: more than 1000 result pages; narrow the window or the query", c.where, query)
		}
		out, err := c.client.GetMetricData(ctx, in)
		if err != nil {
			return nil, c.apiError(query, err)
		}
		for _, m := range out.Messages {
			c.message(query, "", m)
		}
		for _, r := range out.MetricDataResults {
			id, label := aws.ToString(r.Id), aws.ToString(r.Label)
			switch r.StatusCode {
			case cwtypes.StatusCodeInternalError, cwtypes.StatusCodeForbidden:
				msgs := make([]string, 0, len(r.Messages))
				for _, m := range r.Messages {
					msgs = append(msgs, aws.ToString(m.Code)+": "+aws.ToString(m.Value))
				}
				hint := "retry later"
				if r.StatusCode == cwtypes.StatusCodeForbidden {
					hint = "the credentials lack cloudwatch:GetMetricData on this metric (or its account)"
				}
				return nil, fmt.Errorf("%s: query %q: result %s has status %s (%s); %s", c.where, query, id, r.StatusCode, strings.Join(msgs, "; "), hint)
			}
			for _, m := range r.Messages {
				c.message(query, id, m)
			}
			key := id + "\x00" + label
			s := results[key]
			if s == nil {
				s = &series{label: label}
				if s.label == "" {
					s.label = id
				}
				results[key] = s
				order = append(order, key)
			}
			if len(r.Timestamps) != len(r.Values) {
				return nil, fmt.Errorf("%s: query %q: result %s has %d timestamps and %d values; CloudWatch's answer is malformed", c.where, query, id, len(r.Timestamps), len(r.Values))
			}
			for i, t := range r.Timestamps {
				s.points = append(s.points, Point{Time: t.UTC(), Value: r.Values[i]})
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	var withData []*series
	for _, k := range order {
		if len(results[k].points) > 0 {
			withData = append(withData, results[k])
		}
	}
	switch len(withData) {
	case 0:
		return nil, fmt.Errorf("%s: query %q: %w (no datapoints in %s..%s; check the namespace, metric name, dimensions and region %s)",
			c.where, query, ErrNoData, w.Start.UTC().Format(time.RFC3339), w.End.UTC().Format(time.RFC3339), c.region)
	case 1:
		pts := withData[0].points
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].Time.Before(pts[j].Time) })
		return pts, nil
	}
	labels := make([]string, len(withData))
	for i, s := range withData {
		labels[i] = s.label
	}
	sort.Strings(labels)
	return nil, fmt.Errorf("%s: query %q returns %d series (%s); the analysis needs one: aggregate them, e.g. SUM(SEARCH(...))",
		c.where, query, len(withData), describeSeries(labels))
}

func (c *CloudWatch) message(query, id string, m cwtypes.MessageData) {
	// Without a receiver the messages are dropped: they are informational
	// (e.g. MaxMetricsExceeded); the statuses carry the failures.
	if c.warn == nil {
		return
	}
	msg := aws.ToString(m.Code) + ": " + aws.ToString(m.Value)
	if id != "" {
		msg = "result " + id + ": " + msg
	}
	c.warn(query, msg)
}

func (c *CloudWatch) apiError(query string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: query %q interrupted: %w", c.where, query, err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		hint := "check the query"
		switch ae.ErrorCode() {
		case "AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch":
			hint = "check the AWS credentials and that they allow cloudwatch:GetMetricData"
		case "Throttling", "ThrottlingException", "LimitExceeded", "LimitExceededException":
			hint = "CloudWatch throttles GetMetricData; lower the analysis frequency"
		case "InternalServiceError", "InternalServiceFault":
			hint = "CloudWatch failed; retry later"
		}
		return fmt.Errorf("%s: query %q: CloudWatch GetMetricData in %s failed: %s: %s; %s", c.where, query, c.region, ae.ErrorCode(), ae.ErrorMessage(), hint)
	}
	return fmt.Errorf("%s: query %q: CloudWatch GetMetricData in %s failed: %v; check the credentials, the region and the network", c.where, query, c.region, err)
}
