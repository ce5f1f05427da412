package fakes

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// The CloudWatch client of aws-sdk-go-v2 (service/cloudwatch v1.75) speaks
// Smithy RPC v2 CBOR: POST /service/GraniteServiceVersion20100801/operation/<Op>
// with the Smithy-Protocol: rpc-v2-cbor header and a CBOR body whose
// timestamps are tag 1 epoch seconds. CloudWatch is "awsQueryCompatible":
// errors carry {"__type": "com.amazonaws.cloudwatch#<Shape>", "message"} and
// the X-Amzn-Query-Error: <Code>;Sender|Receiver header, which the SDK
// turns into the error code.
const cloudWatchPathPrefix = "/service/GraniteServiceVersion20100801/operation/"

// CloudWatchMetric is the MetricStat of a query.
type CloudWatchMetric struct {
	Namespace, MetricName string
	Dimensions            map[string]string
	Period                int32
	Stat, Unit            string
}

// CloudWatchQuery is one MetricDataQuery the fake received.
type CloudWatchQuery struct {
	ID, Expression, Label, AccountID string
	Period                           int32
	ReturnData                       bool
	Metric                           *CloudWatchMetric
}

// CloudWatchRequest is a GetMetricData call the fake received.
type CloudWatchRequest struct {
	StartTime, EndTime time.Time
	ScanBy, NextToken  string
	MaxDatapoints      int32
	Queries            []CloudWatchQuery
	// AccessKeyID and Region come from the SigV4 Authorization header.
	AccessKeyID, Region string
}

// CloudWatchResult is the data of one returned series; the fake orders the
// points as ScanBy asks and pages them.
type CloudWatchResult struct {
	ID, Label string
	// StatusCode is sent as is when set (InternalError, Forbidden);
	// otherwise the fake sets Complete or PartialData.
	StatusCode string
	// Messages are [code, value] pairs attached to the result.
	Messages   [][2]string
	Timestamps []time.Time
	Values     []float64
}

// CloudWatchError is an error answer, e.g. {Code: "InvalidParameterValue",
// Message: "..."}: Status defaults to 400 and the shape name to the known
// one of the code.
type CloudWatchError struct {
	Code, Message string
	Status        int
}

func (e *CloudWatchError) Error() string { return e.Code + ": " + e.Message }

// cloudWatchShapes maps query error codes to the service's error shapes.
var cloudWatchShapes = map[string]string{
	"InvalidParameterValue":       "InvalidParameterValueException",
	"MissingParameter":            "MissingRequiredParameterException",
	"InvalidParameterCombination": "InvalidParameterCombinationException",
	"LimitExceeded":               "LimitExceededException",
	"InternalServiceError":        "InternalServiceFault",
	"InvalidNextToken":            "InvalidNextToken",
}

// CloudWatch is a fake Amazon CloudWatch serving GetMetricData over the
// RPC v2 CBOR protocol. It checks the SigV4 Authorization header (its
// access key when AccessKeyID is set), validates the input as CloudWatch
// does (ids, periods, one of expression/metricStat, a returned query, the
// time range), records each call, and answers what Data returns, ordered by
// ScanBy and split into pages of PageSize datapoints with NextToken.
type CloudWatch struct {
	// AccessKeyID is the key requests must be signed with; empty accepts
	// any.
	AccessKeyID string
	// PageSize is the most datapoints per page (all series together);
	// 0 means 100800, GetMetricData's maximum.
	PageSize int
	// Data answers a call; a *CloudWatchError is sent as an error answer.
	// Nil answers every returned query with no datapoints.
	Data func(req CloudWatchRequest) ([]CloudWatchResult, error)
	// Messages are the top-level [code, value] messages of each answer.
	Messages [][2]string

	mu       sync.Mutex
	requests []CloudWatchRequest
}

// NewCloudWatch starts a fake CloudWatch; the caller closes the server.
func NewCloudWatch(accessKeyID string) (*CloudWatch, *httptest.Server) {
	c := &CloudWatch{AccessKeyID: accessKeyID}
	return c, httptest.NewServer(c)
}

// Requests returns the GetMetricData calls received so far.
func (c *CloudWatch) Requests() []CloudWatchRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.requests)
}

type cwWireDimension struct {
	Name  string `cbor:"Name"`
	Value string `cbor:"Value"`
}

type cwWireQuery struct {
	ID         string `cbor:"Id"`
	Expression string `cbor:"Expression"`
	Label      string `cbor:"Label"`
	AccountID  string `cbor:"AccountId"`
	Period     int32  `cbor:"Period"`
	ReturnData *bool  `cbor:"ReturnData"`
	MetricStat *struct {
		Metric struct {
			Namespace  string            `cbor:"Namespace"`
			MetricName string            `cbor:"MetricName"`
			Dimensions []cwWireDimension `cbor:"Dimensions"`
		} `cbor:"Metric"`
		Period int32  `cbor:"Period"`
		Stat   string `cbor:"Stat"`
		Unit   string `cbor:"Unit"`
	} `cbor:"MetricStat"`
}

type cwWireInput struct {
	StartTime         *time.Time    `cbor:"StartTime"`
	EndTime           *time.Time    `cbor:"EndTime"`
	NextToken         string        `cbor:"NextToken"`
	ScanBy            string        `cbor:"ScanBy"`
	MaxDatapoints     int32         `cbor:"MaxDatapoints"`
	MetricDataQueries []cwWireQuery `cbor:"MetricDataQueries"`
}

type cwWireMessage struct {
	Code  string `cbor:"Code,omitempty"`
	Value string `cbor:"Value,omitempty"`
}

type cwWireResult struct {
	ID         string          `cbor:"Id,omitempty"`
	Label      string          `cbor:"Label,omitempty"`
	StatusCode string          `cbor:"StatusCode,omitempty"`
	Messages   []cwWireMessage `cbor:"Messages,omitempty"`
	Timestamps []time.Time     `cbor:"Timestamps"`
	Values     []float64       `cbor:"Values"`
}

type cwWireOutput struct {
	MetricDataResults []cwWireResult  `cbor:"MetricDataResults"`
	NextToken         string          `cbor:"NextToken,omitempty"`
	Messages          []cwWireMessage `cbor:"Messages,omitempty"`
}

var (
	cwEnc = func() cbor.EncMode {
		m, err := cbor.EncOptions{Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired}.EncMode()
		if err != nil {
			panic(err)
		}
		return m
	}()
	cwIDRe   = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)
	sigV4Cre = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/monitoring/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$`)
)

func (c *CloudWatch) cwErr(w http.ResponseWriter, e *CloudWatchError) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	shape := cloudWatchShapes[e.Code]
	if shape == "" {
		shape = e.Code
	}
	fault := "Sender"
	if status >= 500 {
		fault = "Receiver"
	}
	body, _ := cwEnc.Marshal(map[string]string{"__type": "com.amazonaws.cloudwatch#" + shape, "message": e.Message})
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("X-Amzn-Query-Error", e.Code+";"+fault)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (c *CloudWatch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.URL.Path, cloudWatchPathPrefix)
	if !ok || r.Method != http.MethodPost {
		c.cwErr(w, &CloudWatchError{Code: "UnknownOperationException", Message: "no such operation " + r.Method + " " + r.URL.Path, Status: 404})
		return
	}
	if op != "GetMetricData" {
		c.cwErr(w, &CloudWatchError{Code: "UnknownOperationException", Message: "the fake serves GetMetricData only, not " + op, Status: 404})
		return
	}
	if r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" || r.Header.Get("Content-Type") != "application/cbor" {
		c.cwErr(w, &CloudWatchError{Code: "InvalidParameterValue", Message: "expected the rpc-v2-cbor protocol with an application/cbor body"})
		return
	}
	m := sigV4Cre.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil || r.Header.Get("X-Amz-Date") == "" {
		c.cwErr(w, &CloudWatchError{Code: "MissingAuthenticationToken", Message: "Request is missing Authentication Token", Status: 403})
		return
	}
	if c.AccessKeyID != "" && m[1] != c.AccessKeyID {
		c.cwErr(w, &CloudWatchError{Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid.", Status: 403})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		c.cwErr(w, &CloudWatchError{Code: "InvalidParameterValue", Message: "reading the body: " + err.Error()})
		return
	}
	var in cwWireInput
	if err := cbor.Unmarshal(body, &in); err != nil {
		c.cwErr(w, &CloudWatchError{Code: "SerializationException", Message: "the body is not CBOR GetMetricData input: " + err.Error()})
		return
	}
	req, verr := validateCloudWatch(in)
	if verr != nil {
		c.cwErr(w, verr)
		return
	}
	req.AccessKeyID, req.Region = m[1], m[3]
	c.mu.Lock()
	c.requests = append(c.requests, req)
	data, pageSize, msgs := c.Data, c.PageSize, slices.Clone(c.Messages)
	c.mu.Unlock()

	var results []CloudWatchResult
	if data != nil {
		results, err = data(req)
		if err != nil {
			e, ok := err.(*CloudWatchError)
			if !ok {
				e = &CloudWatchError{Code: "InternalServiceError", Message: err.Error(), Status: 500}
			}
			c.cwErr(w, e)
			return
		}
	} else {
		for _, q := range req.Queries {
			if q.ReturnData {
				results = append(results, CloudWatchResult{ID: q.ID, Label: q.Label})
			}
		}
	}
	out, verr := page(results, req, pageSize)
	if verr != nil {
		c.cwErr(w, verr)
		return
	}
	for _, m := range msgs {
		out.Messages = append(out.Messages, cwWireMessage{Code: m[0], Value: m[1]})
	}
	b, err := cwEnc.Marshal(out)
	if err != nil {
		c.cwErr(w, &CloudWatchError{Code: "InternalServiceError", Message: err.Error(), Status: 500})
		return
	}
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func validPeriodCW(p int32) bool {
	return p == 1 || p == 5 || p == 10 || p == 30 || (p > 0 && p%60 == 0)
}

// validateCloudWatch checks the input as CloudWatch does and converts it.
func validateCloudWatch(in cwWireInput) (CloudWatchRequest, *CloudWatchError) {
	invalid := func(format string, a ...any) *CloudWatchError {
		return &CloudWatchError{Code: "InvalidParameterValue", Message: fmt.Sprintf(format, a...)}
	}
	if in.StartTime == nil || in.EndTime == nil {
		return CloudWatchRequest{}, &CloudWatchError{Code: "MissingParameter", Message: "The parameters StartTime and EndTime are required."}
	}
	if !in.StartTime.Before(*in.EndTime) {
		return CloudWatchRequest{}, invalid("The parameter StartTime must be less than the parameter EndTime.")
	}
	switch in.ScanBy {
	case "", "TimestampDescending", "TimestampAscending":
	default:
		return CloudWatchRequest{}, invalid("The parameter ScanBy must be TimestampDescending or TimestampAscending.")
	}
	if n := len(in.MetricDataQueries); n == 0 || n > 500 {
		return CloudWatchRequest{}, invalid("The collection MetricDataQueries must contain between 1 and 500 items, got %d.", n)
	}
	req := CloudWatchRequest{StartTime: in.StartTime.UTC(), EndTime: in.EndTime.UTC(), ScanBy: in.ScanBy, NextToken: in.NextToken, MaxDatapoints: in.MaxDatapoints}
	returned := 0
	ids := map[string]bool{}
	for i, q := range in.MetricDataQueries {
		member := fmt.Sprintf("MetricDataQueries.member.%d", i+1)
		if !cwIDRe.MatchString(q.ID) {
			return CloudWatchRequest{}, invalid("The value %s for parameter %s.Id is not valid: it must start with a lowercase letter and contain only letters, numbers and underscores.", q.ID, member)
		}
		if ids[q.ID] {
			return CloudWatchRequest{}, invalid("The value %s for parameter %s.Id is non-unique.", q.ID, member)
		}
		ids[q.ID] = true
		cq := CloudWatchQuery{ID: q.ID, Expression: q.Expression, Label: q.Label, AccountID: q.AccountID, Period: q.Period, ReturnData: q.ReturnData == nil || *q.ReturnData}
		switch {
		case (q.Expression == "") == (q.MetricStat == nil):
			return CloudWatchRequest{}, invalid("Exactly one element of the %s.Expression and %s.MetricStat must be present.", member, member)
		case q.MetricStat != nil:
			ms := q.MetricStat
			if ms.Metric.Namespace == "" || ms.Metric.MetricName == "" || ms.Stat == "" {
				return CloudWatchRequest{}, &CloudWatchError{Code: "MissingParameter", Message: fmt.Sprintf("The parameters %s.MetricStat.Metric.Namespace, MetricName and Stat are required.", member)}
			}
			if !validPeriodCW(ms.Period) {
				return CloudWatchRequest{}, invalid("The parameter %s.MetricStat.Period must be 1, 5, 10, 30 or a multiple of 60.", member)
			}
			dims := map[string]string{}
			for _, d := range ms.Metric.Dimensions {
				dims[d.Name] = d.Value
			}
			cq.Metric = &CloudWatchMetric{Namespace: ms.Metric.Namespace, MetricName: ms.Metric.MetricName, Dimensions: dims,
				Period: ms.Period, Stat: ms.Stat, Unit: ms.Unit}
		default:
			if q.Period != 0 && !validPeriodCW(q.Period) {
				return CloudWatchRequest{}, invalid("The parameter %s.Period must be 1, 5, 10, 30 or a multiple of 60.", member)
			}
		}
		if cq.ReturnData {
			returned++
		}
		req.Queries = append(req.Queries, cq)
	}
	if returned == 0 {
		return CloudWatchRequest{}, invalid("At least one MetricDataQuery must have ReturnData set to true.")
	}
	return req, nil
}

// page orders the results' points as req.ScanBy asks and returns the page
// req.NextToken points to.
func page(results []CloudWatchResult, req CloudWatchRequest, pageSize int) (cwWireOutput, *CloudWatchError) {
	if pageSize <= 0 {
		pageSize = 100800
	}
	offset := 0
	if req.NextToken != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(req.NextToken, "fake-page-"))
		if err != nil || !strings.HasPrefix(req.NextToken, "fake-page-") || n < 0 {
			return cwWireOutput{}, &CloudWatchError{Code: "InvalidNextToken", Message: "The service couldn't process the NextToken."}
		}
		offset = n
	}
	out := cwWireOutput{MetricDataResults: []cwWireResult{}}
	pos, end := 0, offset+pageSize
	for _, r := range results {
		idx := make([]int, len(r.Timestamps))
		for i := range idx {
			idx[i] = i
		}
		desc := req.ScanBy != "TimestampAscending"
		sort.SliceStable(idx, func(a, b int) bool {
			if desc {
				return r.Timestamps[idx[a]].After(r.Timestamps[idx[b]])
			}
			return r.Timestamps[idx[a]].Before(r.Timestamps[idx[b]])
		})
		wr := cwWireResult{ID: r.ID, Label: r.Label, Timestamps: []time.Time{}, Values: []float64{}}
		for _, m := range r.Messages {
			wr.Messages = append(wr.Messages, cwWireMessage{Code: m[0], Value: m[1]})
		}
		for _, i := range idx {
			if pos >= offset && pos < end && i < len(r.Values) {
				wr.Timestamps = append(wr.Timestamps, r.Timestamps[i].UTC())
				wr.Values = append(wr.Values, r.Values[i])
			}
			pos++
		}
		wr.StatusCode = r.StatusCode
		if wr.StatusCode == "" {
			wr.StatusCode = "Complete"
			if pos > end {
				wr.StatusCode = "PartialData"
			}
		}
		out.MetricDataResults = append(out.MetricDataResults, wr)
	}
	if pos > end {
		out.NextToken = "fake-page-" + strconv.Itoa(end)
	}
	return out, nil
}
