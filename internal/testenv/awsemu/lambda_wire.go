package awsemu

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// The Lambda wire shapes (REST-JSON), as aws-sdk-go-v2's service/lambda
// schemas and the AWS CLI read and write them.

type codeInput struct {
	ZipFile         []byte  `json:"ZipFile"`
	S3Bucket        *string `json:"S3Bucket"`
	S3Key           *string `json:"S3Key"`
	S3ObjectVersion *string `json:"S3ObjectVersion"`
	ImageUri        *string `json:"ImageUri"`
}

type environmentInput struct {
	Variables map[string]string `json:"Variables"`
}

type ephemeralStorageInput struct {
	Size *int32 `json:"Size"`
}

type vpcInput struct {
	SubnetIds        []string `json:"SubnetIds"`
	SecurityGroupIds []string `json:"SecurityGroupIds"`
}

// configInput is what CreateFunction and UpdateFunctionConfiguration
// share.
type configInput struct {
	Role             *string                `json:"Role"`
	Handler          *string                `json:"Handler"`
	Runtime          *string                `json:"Runtime"`
	Description      *string                `json:"Description"`
	MemorySize       *int32                 `json:"MemorySize"`
	Timeout          *int32                 `json:"Timeout"`
	Environment      *environmentInput      `json:"Environment"`
	EphemeralStorage *ephemeralStorageInput `json:"EphemeralStorage"`
	VpcConfig        *vpcInput              `json:"VpcConfig"`
	Layers           *[]string              `json:"Layers"`
	RevisionId       *string                `json:"RevisionId"`
}

type createFunctionInput struct {
	configInput
	FunctionName  *string           `json:"FunctionName"`
	Code          *codeInput        `json:"Code"`
	Publish       bool              `json:"Publish"`
	PackageType   *string           `json:"PackageType"`
	Architectures []string          `json:"Architectures"`
	Tags          map[string]string `json:"Tags"`
}

type updateCodeInput struct {
	codeInput
	Publish       bool     `json:"Publish"`
	DryRun        bool     `json:"DryRun"`
	RevisionId    *string  `json:"RevisionId"`
	Architectures []string `json:"Architectures"`
}

type publishVersionInput struct {
	CodeSha256  *string `json:"CodeSha256"`
	Description *string `json:"Description"`
	RevisionId  *string `json:"RevisionId"`
}

type routingConfig struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
}

type aliasInput struct {
	Name            *string        `json:"Name"`
	FunctionVersion *string        `json:"FunctionVersion"`
	Description     *string        `json:"Description"`
	RoutingConfig   *routingConfig `json:"RoutingConfig"`
	RevisionId      *string        `json:"RevisionId"`
}

type tagsInput struct {
	Tags map[string]string `json:"Tags"`
}

// functionConfiguration is FunctionConfiguration on the wire.
type functionConfiguration struct {
	FunctionName               string            `json:"FunctionName"`
	FunctionArn                string            `json:"FunctionArn"`
	Runtime                    string            `json:"Runtime,omitempty"`
	Role                       string            `json:"Role"`
	Handler                    string            `json:"Handler,omitempty"`
	CodeSize                   int64             `json:"CodeSize"`
	Description                string            `json:"Description"`
	Timeout                    int32             `json:"Timeout"`
	MemorySize                 int32             `json:"MemorySize"`
	LastModified               string            `json:"LastModified"`
	CodeSha256                 string            `json:"CodeSha256"`
	Version                    string            `json:"Version"`
	VpcConfig                  *vpcOutput        `json:"VpcConfig,omitempty"`
	Environment                *environmentInput `json:"Environment,omitempty"`
	TracingConfig              map[string]string `json:"TracingConfig"`
	RevisionId                 string            `json:"RevisionId"`
	Layers                     []layerOutput     `json:"Layers,omitempty"`
	State                      string            `json:"State,omitempty"`
	StateReason                string            `json:"StateReason,omitempty"`
	StateReasonCode            string            `json:"StateReasonCode,omitempty"`
	LastUpdateStatus           string            `json:"LastUpdateStatus,omitempty"`
	LastUpdateStatusReason     string            `json:"LastUpdateStatusReason,omitempty"`
	LastUpdateStatusReasonCode string            `json:"LastUpdateStatusReasonCode,omitempty"`
	PackageType                string            `json:"PackageType"`
	Architectures              []string          `json:"Architectures"`
	EphemeralStorage           struct {
		Size int32 `json:"Size"`
	} `json:"EphemeralStorage"`
	SnapStart     map[string]string `json:"SnapStart"`
	LoggingConfig map[string]string `json:"LoggingConfig"`
}

type vpcOutput struct {
	SubnetIds        []string `json:"SubnetIds"`
	SecurityGroupIds []string `json:"SecurityGroupIds"`
	VpcId            string   `json:"VpcId"`
}

type layerOutput struct {
	Arn      string `json:"Arn"`
	CodeSize int64  `json:"CodeSize"`
}

type aliasOutput struct {
	AliasArn        string         `json:"AliasArn"`
	Name            string         `json:"Name"`
	FunctionVersion string         `json:"FunctionVersion"`
	Description     string         `json:"Description"`
	RevisionId      string         `json:"RevisionId"`
	RoutingConfig   *routingConfig `json:"RoutingConfig,omitempty"`
}

// lastModifiedFormat is how Lambda writes LastModified.
const lastModifiedFormat = "2006-01-02T15:04:05.000-0700"

func configurationOf(f *Function) functionConfiguration {
	c := functionConfiguration{
		FunctionName: f.Name, FunctionArn: f.ARN, Runtime: f.Runtime, Role: f.Role, Handler: f.Handler,
		CodeSize: f.CodeSize, Description: f.Description, Timeout: f.Timeout, MemorySize: f.MemorySize,
		LastModified: f.LastModified.UTC().Format(lastModifiedFormat), CodeSha256: f.CodeSha256, Version: f.Version,
		TracingConfig: map[string]string{"Mode": "PassThrough"}, RevisionId: f.RevisionID,
		State: f.State, StateReason: f.StateReason, StateReasonCode: f.StateReasonCode,
		LastUpdateStatus: f.LastUpdateStatus, LastUpdateStatusReason: f.LastUpdateStatusReason,
		LastUpdateStatusReasonCode: f.LastUpdateStatusReasonCode,
		PackageType:                f.PackageType, Architectures: slices.Clone(f.Architectures),
		SnapStart:     map[string]string{"ApplyOn": "None", "OptimizationStatus": "Off"},
		LoggingConfig: map[string]string{"LogFormat": "Text", "LogGroup": "/aws/lambda/" + f.Name},
	}
	c.EphemeralStorage.Size = f.EphemeralStorage
	if len(f.SubnetIDs) > 0 || len(f.SecurityGroupIDs) > 0 {
		c.VpcConfig = &vpcOutput{SubnetIds: nonNil(f.SubnetIDs), SecurityGroupIds: nonNil(f.SecurityGroupIDs), VpcId: "vpc-0a1b2c3d4e5f60718"}
	}
	if len(f.Environment) > 0 {
		c.Environment = &environmentInput{Variables: maps.Clone(f.Environment)}
	}
	for _, l := range f.Layers {
		c.Layers = append(c.Layers, layerOutput{Arn: l, CodeSize: 0})
	}
	return c
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

func aliasOutputOf(a *Alias) aliasOutput {
	out := aliasOutput{AliasArn: a.ARN, Name: a.Name, FunctionVersion: a.FunctionVersion, Description: a.Description, RevisionId: a.RevisionID}
	if len(a.AdditionalVersionWeights) > 0 {
		out.RoutingConfig = &routingConfig{AdditionalVersionWeights: maps.Clone(a.AdditionalVersionWeights)}
	}
	return out
}

// capitalMessage are the errors whose message member is "Message" on the
// wire (the others' is "message"), per the SDK's error shapes.
var capitalMessage = map[string]bool{
	"ResourceNotFoundException": true,
	"ServiceException":          true,
	"ResourceInUseException":    true,
	"AccessDeniedException":     true,
}

// writeJSONError writes a REST-JSON error as Lambda does: the
// X-Amzn-ErrorType header and {"Type":"User","message":...}.
func writeJSONError(w http.ResponseWriter, status int, code, message string, extra map[string]any) {
	body := map[string]any{"Type": "User"}
	if status >= 500 {
		body["Type"] = "Service"
	}
	if capitalMessage[code] {
		body["Message"] = message
	} else {
		body["message"] = message
	}
	maps.Copy(body, extra)
	w.Header().Set("X-Amzn-ErrorType", code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// apiError is an error response being built.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func notFound(format string, args ...any) *apiError {
	return &apiError{http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf(format, args...)}
}

func invalidParameter(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterValueException", fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) *apiError {
	return &apiError{http.StatusConflict, "ResourceConflictException", fmt.Sprintf(format, args...)}
}

// validation collects constraint violations into one ValidationException
// worded like AWS's.
type validation []string

func (v *validation) add(value any, member, constraint string) {
	var s string
	switch x := value.(type) {
	case nil:
		s = "null"
	case string:
		s = "'" + x + "'"
	default:
		s = fmt.Sprintf("'%v'", x)
	}
	*v = append(*v, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", s, member, constraint))
}

func (v validation) err() *apiError {
	if len(v) == 0 {
		return nil
	}
	n := "1 validation error"
	if len(v) > 1 {
		n = fmt.Sprintf("%d validation errors", len(v))
	}
	return &apiError{http.StatusBadRequest, "ValidationException", n + " detected: " + strings.Join(v, "; ")}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeJSON reads a request body as Lambda does: malformed JSON is an
// InvalidRequestContentException.
func decodeJSON(body []byte, v any) *apiError {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: Could not parse payload into json: " + err.Error()}
	}
	return nil
}
