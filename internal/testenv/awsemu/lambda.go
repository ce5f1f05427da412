package awsemu

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// maxLambdaRequest is Lambda's request size limit.
const maxLambdaRequest = 70167211

var (
	functionNameRE = regexp.MustCompile(`^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?$`)
	roleRE         = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
	layerRE        = regexp.MustCompile(`^arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+$`)
	aliasNameRE    = regexp.MustCompile(`^(?:[a-zA-Z0-9-_]*[a-zA-Z-_][a-zA-Z0-9-_]*)$`)
)

const functionNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`

// reservedEnv are the environment variables Lambda refuses to set.
var reservedEnv = []string{"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
	"AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"}

// lambdaRoute is what a Lambda request's method and path name.
type lambdaRoute struct {
	op       string
	function string // the raw FunctionName path segment (or the tagged ARN)
	alias    string
}

func routeLambda(r *http.Request) lambdaRoute {
	var segs []string
	for _, s := range strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/") {
		u, err := url.PathUnescape(s)
		if err != nil {
			return lambdaRoute{}
		}
		segs = append(segs, u)
	}
	m := r.Method
	if len(segs) >= 3 && segs[0] == "2017-03-31" && segs[1] == "tags" {
		rt := lambdaRoute{function: strings.Join(segs[2:], "/")}
		switch m {
		case http.MethodGet:
			rt.op = "ListTags"
		case http.MethodPost:
			rt.op = "TagResource"
		case http.MethodDelete:
			rt.op = "UntagResource"
		}
		return rt
	}
	if len(segs) < 2 || segs[0] != "2015-03-31" || segs[1] != "functions" {
		return lambdaRoute{}
	}
	segs = segs[2:]
	switch {
	case len(segs) == 0 && m == http.MethodGet:
		return lambdaRoute{op: "ListFunctions"}
	case len(segs) == 0 && m == http.MethodPost:
		return lambdaRoute{op: "CreateFunction"}
	case len(segs) == 0:
		return lambdaRoute{}
	}
	rt := lambdaRoute{function: segs[0]}
	switch sub := segs[1:]; {
	case len(sub) == 0 && m == http.MethodGet:
		rt.op = "GetFunction"
	case len(sub) == 0 && m == http.MethodDelete:
		rt.op = "DeleteFunction"
	case len(sub) == 1 && sub[0] == "configuration" && m == http.MethodGet:
		rt.op = "GetFunctionConfiguration"
	case len(sub) == 1 && sub[0] == "configuration" && m == http.MethodPut:
		rt.op = "UpdateFunctionConfiguration"
	case len(sub) == 1 && sub[0] == "code" && m == http.MethodPut:
		rt.op = "UpdateFunctionCode"
	case len(sub) == 1 && sub[0] == "versions" && m == http.MethodGet:
		rt.op = "ListVersionsByFunction"
	case len(sub) == 1 && sub[0] == "versions" && m == http.MethodPost:
		rt.op = "PublishVersion"
	case len(sub) == 1 && sub[0] == "aliases" && m == http.MethodGet:
		rt.op = "ListAliases"
	case len(sub) == 1 && sub[0] == "aliases" && m == http.MethodPost:
		rt.op = "CreateAlias"
	case len(sub) == 2 && sub[0] == "aliases":
		rt.alias = sub[1]
		switch m {
		case http.MethodGet:
			rt.op = "GetAlias"
		case http.MethodPut:
			rt.op = "UpdateAlias"
		case http.MethodDelete:
			rt.op = "DeleteAlias"
		}
	case len(sub) == 1 && sub[0] == "invocations" && m == http.MethodPost:
		rt.op = "Invoke"
	}
	return rt
}

// parseFunctionName splits a FunctionName (name, name:qualifier, ARN or
// partial ARN) into the name and the qualifier it carries.
func parseFunctionName(s string) (name, qualifier string, err *apiError) {
	m := functionNameRE.FindStringSubmatch(s)
	if m == nil || len(s) > 170 || len(m[7]) > 64 {
		var v validation
		v.add(s, "functionName", "Member must satisfy regular expression pattern: "+functionNamePattern)
		return "", "", v.err()
	}
	return m[7], m[9], nil
}

// serveLambda serves one Lambda request.
func (e *Emulator) serveLambda(w http.ResponseWriter, r *http.Request, c *call, auth authErr, region string) {
	rt := routeLambda(r)
	c.operation = rt.op
	var name, qualifier string
	var perr *apiError
	if rt.function != "" && rt.op != "" {
		name, qualifier, perr = parseFunctionName(rt.function)
		c.function = name
	}
	switch {
	case auth == authUnknownKey:
		writeJSONError(w, http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.", nil)
		return
	case auth == authExpired:
		writeJSONError(w, http.StatusForbidden, "ExpiredTokenException", "The security token included in the request is expired", nil)
		return
	case region != e.region:
		writeJSONError(w, http.StatusForbidden, "InvalidSignatureException", "Credential should be scoped to a valid region. ", nil)
		return
	}
	e.mu.Lock()
	throttled := e.throttle > 0
	if throttled {
		e.throttle--
	}
	e.mu.Unlock()
	if throttled {
		w.Header().Set("Retry-After", "1")
		writeJSONError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Rate exceeded", map[string]any{"Reason": "CallerRateLimitExceeded"})
		return
	}
	if rt.op == "" {
		writeJSONError(w, http.StatusNotFound, "UnknownOperationException", "Unknown operation "+r.Method+" "+r.URL.Path, nil)
		return
	}
	if perr != nil {
		writeLambdaErr(w, perr)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLambdaRequest))
	if err != nil {
		writeJSONError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than 70167211 bytes for the "+rt.op+" operation", nil)
		return
	}
	if rt.op == "CreateFunction" {
		var in createFunctionInput
		if aerr := decodeJSON(body, &in); aerr != nil {
			writeLambdaErr(w, aerr)
			return
		}
		if in.FunctionName != nil {
			name, qualifier, perr = parseFunctionName(*in.FunctionName)
			c.function = name
		}
		if e.lambdaDenied(w, c, rt.op, name, "") {
			return
		}
		e.handleLambda(w, r, rt, name, qualifier, body)
		return
	}
	if e.lambdaDenied(w, c, rt.op, name, qualifier) {
		return
	}
	e.handleLambda(w, r, rt, name, qualifier, body)
}

// lambdaDenied writes the AccessDeniedException of a denied action.
func (e *Emulator) lambdaDenied(w http.ResponseWriter, c *call, op, name, qualifier string) bool {
	action := "lambda:" + op
	if op == "Invoke" {
		action = "lambda:InvokeFunction"
	}
	if !e.denied(action) {
		return false
	}
	resource := "*"
	if name != "" {
		resource = e.functionARN(name)
		if qualifier != "" {
			resource += ":" + qualifier
		}
	}
	writeJSONError(w, http.StatusForbidden, "AccessDeniedException", deniedMessage(c.principal, action, resource), nil)
	return true
}

func writeLambdaErr(w http.ResponseWriter, err *apiError) {
	writeJSONError(w, err.status, err.code, err.message, nil)
}

// handleLambda runs an operation under the emulator's lock.
func (e *Emulator) handleLambda(w http.ResponseWriter, r *http.Request, rt lambdaRoute, name, qualifier string, body []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q := queryValues(r)
	if qq := q.Get("Qualifier"); qq != "" {
		if qualifier != "" && qualifier != qq {
			writeLambdaErr(w, invalidParameter("The derived qualifier from the function name does not match the specified qualifier."))
			return
		}
		qualifier = qq
	}
	var status = http.StatusOK
	var out any
	var aerr *apiError
	switch rt.op {
	case "ListFunctions":
		out = e.listFunctions()
	case "CreateFunction":
		status = http.StatusCreated
		out, aerr = e.createFunction(body)
	case "GetFunction":
		out, aerr = e.getFunction(r, name, qualifier)
	case "GetFunctionConfiguration":
		var f *Function
		if f, aerr = e.qualified(name, qualifier); aerr == nil {
			out = configurationOf(f)
		}
	case "DeleteFunction":
		status = http.StatusNoContent
		aerr = e.deleteFunction(name, qualifier)
	case "UpdateFunctionCode":
		out, aerr = e.updateFunctionCode(name, qualifier, body)
	case "UpdateFunctionConfiguration":
		out, aerr = e.updateFunctionConfiguration(name, qualifier, body)
	case "PublishVersion":
		status = http.StatusCreated
		out, aerr = e.publishVersion(name, body)
	case "ListVersionsByFunction":
		out, aerr = e.listVersions(name, q)
	case "CreateAlias":
		status = http.StatusCreated
		out, aerr = e.createAlias(name, body)
	case "GetAlias":
		out, aerr = e.getAlias(name, rt.alias)
	case "UpdateAlias":
		out, aerr = e.updateAlias(name, rt.alias, body)
	case "DeleteAlias":
		status = http.StatusNoContent
		aerr = e.deleteAlias(name, rt.alias)
	case "ListAliases":
		out, aerr = e.listAliases(name, q)
	case "TagResource", "UntagResource", "ListTags":
		out, aerr = e.tags(rt.op, rt.function, name, qualifier, q, body)
		if rt.op != "ListTags" {
			status = http.StatusNoContent
		}
	case "Invoke":
		e.invoke(w, r, name, qualifier, body)
		return
	}
	if aerr != nil {
		writeLambdaErr(w, aerr)
		return
	}
	w.Header().Set("X-Amzn-RequestId", e.uuid())
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, out)
}

// function returns the function name or its ResourceNotFoundException.
// Callers hold e.mu.
func (e *Emulator) function(name string) (*function, *apiError) {
	fn := e.lookup(name)
	if fn == nil {
		return nil, notFound("Function not found: %s", e.functionARN(name))
	}
	return fn, nil
}

// qualified resolves $LATEST, a version or an alias. Callers hold e.mu.
func (e *Emulator) qualified(name, qualifier string) (*Function, *apiError) {
	fn, err := e.function(name)
	if err != nil {
		return nil, err
	}
	return e.resolve(fn, qualifier)
}

func (e *Emulator) resolve(fn *function, qualifier string) (*Function, *apiError) {
	switch {
	case qualifier == "" || qualifier == "$LATEST":
		return &fn.latest, nil
	case fn.aliases[qualifier] != nil:
		return e.resolve(fn, fn.aliases[qualifier].FunctionVersion)
	}
	if n, ok := versionNumber(qualifier); ok && n <= len(fn.versions) {
		return &fn.versions[n-1], nil
	}
	return nil, notFound("Function not found: %s:%s", fn.latest.ARN, qualifier)
}

func (e *Emulator) listFunctions() any {
	var out []functionConfiguration
	for _, n := range sortedKeys(e.functions) {
		out = append(out, configurationOf(&e.lookup(n).latest))
	}
	if out == nil {
		out = []functionConfiguration{}
	}
	return map[string]any{"Functions": out}
}

// code is a function's code, resolved from its source.
type code struct {
	zip                        []byte
	imageURI                   string
	s3Bucket, s3Key, s3Version string
	sha                        string
}

// resolveCode reads the code a request names. Callers hold e.mu.
func (e *Emulator) resolveCode(in *codeInput, packageType string) (code, *apiError) {
	var c code
	sources := 0
	if in.ZipFile != nil {
		sources++
	}
	if in.S3Bucket != nil || in.S3Key != nil {
		sources++
	}
	if in.ImageUri != nil {
		sources++
	}
	switch {
	case sources == 0:
		return c, invalidParameter("Please provide a source for function code.")
	case sources > 1:
		return c, invalidParameter("Please do not provide other FunctionCode parameters when providing a ZipFile.")
	}
	if in.ImageUri != nil {
		if packageType != "Image" {
			return c, invalidParameter("Please provide ImageUri when updating a function with packageType Image.")
		}
		uri := *in.ImageUri
		if uri == "" || !strings.Contains(uri, "/") || strings.ContainsAny(uri, " \t\n") {
			return c, invalidParameter("Source image %s is not valid. Provide a valid source image.", uri)
		}
		sum := sha256.Sum256([]byte(uri))
		c.imageURI, c.sha = uri, hex.EncodeToString(sum[:])
		return c, nil
	}
	if packageType == "Image" {
		return c, invalidParameter("Please provide ImageUri when updating a function with packageType Image.")
	}
	if in.ZipFile != nil {
		c.zip = in.ZipFile
	} else {
		if in.S3Bucket == nil || in.S3Key == nil || *in.S3Bucket == "" || *in.S3Key == "" {
			return c, invalidParameter("Please provide both S3Bucket and S3Key.")
		}
		c.s3Bucket, c.s3Key = *in.S3Bucket, *in.S3Key
		if in.S3ObjectVersion != nil {
			c.s3Version = *in.S3ObjectVersion
		}
		obj, code := e.getObject(c.s3Bucket, c.s3Key, c.s3Version)
		if code != "" {
			return c, invalidParameter("Error occurred while GetObject. S3 Error Code: %s. S3 Error Message: %s", code, s3Messages[code])
		}
		c.zip, c.s3Version = obj.data, obj.versionID
	}
	if _, err := zip.NewReader(bytes.NewReader(c.zip), int64(len(c.zip))); err != nil {
		return c, invalidParameter("Could not unzip uploaded file. Please check your file, then try to upload again.")
	}
	sum := sha256.Sum256(c.zip)
	c.sha = base64.StdEncoding.EncodeToString(sum[:])
	return c, nil
}

func (c *code) apply(f *Function) {
	f.Code, f.ImageURI, f.CodeSha256 = slices.Clone(c.zip), c.imageURI, c.sha
	f.CodeSize = int64(len(c.zip))
	f.S3Bucket, f.S3Key, f.S3ObjectVersion = c.s3Bucket, c.s3Key, c.s3Version
}

// validateConfig checks and applies a configuration to f.
func validateConfig(in *configInput, f *Function) *apiError {
	var v validation
	if in.Role != nil {
		if !roleRE.MatchString(*in.Role) {
			v.add(*in.Role, "role", `Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`)
		}
		f.Role = *in.Role
	}
	if in.Handler != nil {
		if len(*in.Handler) > 128 || strings.ContainsAny(*in.Handler, " \t\r\n") {
			v.add(*in.Handler, "handler", `Member must satisfy regular expression pattern: [^\s]+`)
		}
		f.Handler = *in.Handler
	}
	if in.Runtime != nil {
		if *in.Runtime != "" && !slices.Contains(lambdatypes.Runtime("").Values(), lambdatypes.Runtime(*in.Runtime)) {
			var names []string
			for _, r := range lambdatypes.Runtime("").Values() {
				names = append(names, string(r))
			}
			v.add(*in.Runtime, "runtime", "Member must satisfy enum value set: ["+strings.Join(names, ", ")+"] or be a valid ARN")
		}
		f.Runtime = *in.Runtime
	}
	if in.Description != nil {
		if len(*in.Description) > 256 {
			v.add(*in.Description, "description", "Member must have length less than or equal to 256")
		}
		f.Description = *in.Description
	}
	if in.MemorySize != nil {
		if *in.MemorySize < 128 {
			v.add(*in.MemorySize, "memorySize", "Member must have value greater than or equal to 128")
		} else if *in.MemorySize > 10240 {
			v.add(*in.MemorySize, "memorySize", "Member must have value less than or equal to 10240")
		}
		f.MemorySize = *in.MemorySize
	}
	if in.Timeout != nil {
		if *in.Timeout < 1 {
			v.add(*in.Timeout, "timeout", "Member must have value greater than or equal to 1")
		} else if *in.Timeout > 900 {
			v.add(*in.Timeout, "timeout", "Member must have value less than or equal to 900")
		}
		f.Timeout = *in.Timeout
	}
	if in.EphemeralStorage != nil {
		switch s := in.EphemeralStorage.Size; {
		case s == nil:
			v.add(nil, "ephemeralStorage.size", "Member must not be null")
		case *s < 512:
			v.add(*s, "ephemeralStorage.size", "Member must have value greater than or equal to 512")
		case *s > 10240:
			v.add(*s, "ephemeralStorage.size", "Member must have value less than or equal to 10240")
		default:
			f.EphemeralStorage = *s
		}
	}
	if in.VpcConfig != nil {
		if len(in.VpcConfig.SubnetIds) > 16 {
			v.add(fmt.Sprint(in.VpcConfig.SubnetIds), "vpcConfig.subnetIds", "Member must have length less than or equal to 16")
		}
		if len(in.VpcConfig.SecurityGroupIds) > 5 {
			v.add(fmt.Sprint(in.VpcConfig.SecurityGroupIds), "vpcConfig.securityGroupIds", "Member must have length less than or equal to 5")
		}
		f.SubnetIDs, f.SecurityGroupIDs = slices.Clone(in.VpcConfig.SubnetIds), slices.Clone(in.VpcConfig.SecurityGroupIds)
	}
	if in.Layers != nil {
		for i, l := range *in.Layers {
			if !layerRE.MatchString(l) {
				v.add(l, fmt.Sprintf("layers.%d.member", i+1), `Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+`)
			}
		}
		if len(*in.Layers) > 5 {
			return invalidParameter("Cannot reference more than 5 layers.")
		}
		f.Layers = slices.Clone(*in.Layers)
	}
	if err := v.err(); err != nil {
		return err
	}
	if in.Environment != nil {
		var reserved []string
		size := 0
		for k, val := range in.Environment.Variables {
			if slices.Contains(reservedEnv, k) {
				reserved = append(reserved, k)
			}
			size += len(k) + len(val) + 6
		}
		if len(reserved) > 0 {
			slices.Sort(reserved)
			return invalidParameter("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ", "))
		}
		if size > 4096 {
			return invalidParameter("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %d bytes", size)
		}
		f.Environment = nil
		if len(in.Environment.Variables) > 0 {
			f.Environment = map[string]string{}
			for k, val := range in.Environment.Variables {
				f.Environment[k] = val
			}
		}
	}
	return nil
}

func validateArchitectures(archs []string) *apiError {
	var v validation
	if len(archs) > 1 {
		v.add(fmt.Sprint(archs), "architectures", "Member must have length less than or equal to 1")
	}
	for _, a := range archs {
		if a != "x86_64" && a != "arm64" {
			v.add(a, "architectures", "Member must satisfy enum value set: [x86_64, arm64]")
		}
	}
	return v.err()
}

func (e *Emulator) createFunction(body []byte) (any, *apiError) {
	var in createFunctionInput
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	var v validation
	if in.FunctionName == nil {
		v.add(nil, "functionName", "Member must not be null")
	}
	if in.Role == nil {
		v.add(nil, "role", "Member must not be null")
	}
	if in.Code == nil {
		v.add(nil, "code", "Member must not be null")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	name, qualifier, err := parseFunctionName(*in.FunctionName)
	if err != nil {
		return nil, err
	}
	if qualifier != "" {
		return nil, invalidParameter("Unsupported FunctionName: %s. FunctionName cannot contain a qualifier.", *in.FunctionName)
	}
	if e.functions[name] != nil {
		return nil, conflict("Function already exist: %s", name)
	}
	f := Function{Name: name, ARN: e.functionARN(name), Version: "$LATEST", PackageType: "Zip",
		MemorySize: 128, Timeout: 3, EphemeralStorage: 512, Architectures: []string{"x86_64"}}
	if in.PackageType != nil {
		if *in.PackageType != "Zip" && *in.PackageType != "Image" {
			var v validation
			v.add(*in.PackageType, "packageType", "Member must satisfy enum value set: [Image, Zip]")
			return nil, v.err()
		}
		f.PackageType = *in.PackageType
	}
	if err := validateConfig(&in.configInput, &f); err != nil {
		return nil, err
	}
	if in.Architectures != nil {
		if err := validateArchitectures(in.Architectures); err != nil {
			return nil, err
		}
		f.Architectures = slices.Clone(in.Architectures)
	}
	if f.PackageType == "Zip" && (f.Runtime == "" || f.Handler == "") {
		return nil, invalidParameter("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if f.PackageType == "Image" && (in.Runtime != nil || in.Handler != nil || in.Layers != nil) {
		return nil, invalidParameter("Runtime, Handler and Layers are not supported for functions created with container images.")
	}
	c, err := e.resolveCode(in.Code, f.PackageType)
	if err != nil {
		return nil, err
	}
	c.apply(&f)
	if len(in.Tags) > 0 {
		f.Tags = map[string]string{}
		for k, val := range in.Tags {
			f.Tags[k] = val
		}
	}
	fn := &function{latest: f, aliases: map[string]*Alias{}, invocations: map[string]int{}}
	e.functions[name] = fn
	e.startTransition(fn, true)
	if in.Publish {
		v := e.publish(fn, nil)
		return configurationOf(v), nil
	}
	return configurationOf(&fn.latest), nil
}

func (e *Emulator) getFunction(r *http.Request, name, qualifier string) (any, *apiError) {
	fn, err := e.function(name)
	if err != nil {
		return nil, err
	}
	f, err := e.resolve(fn, qualifier)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"Configuration": configurationOf(f)}
	if f.PackageType == "Image" {
		resolved := f.ImageURI
		if i := strings.LastIndexAny(resolved, ":@"); i > strings.LastIndex(resolved, "/") {
			resolved = resolved[:i]
		}
		out["Code"] = map[string]any{"RepositoryType": "ECR", "ImageUri": f.ImageURI, "ResolvedImageUri": resolved + "@sha256:" + f.CodeSha256}
	} else {
		out["Code"] = map[string]any{"RepositoryType": "S3", "Location": "http://" + r.Host + "/_awsemu/code/" + url.PathEscape(f.Name) + "/" + url.PathEscape(f.Version)}
	}
	if len(fn.latest.Tags) > 0 {
		out["Tags"] = fn.latest.Tags
	}
	return out, nil
}

func (e *Emulator) deleteFunction(name, qualifier string) *apiError {
	fn, err := e.function(name)
	if err != nil {
		return err
	}
	if qualifier == "" {
		delete(e.functions, name)
		return nil
	}
	if qualifier == "$LATEST" {
		return invalidParameter("$LATEST version cannot be deleted without deleting the function.")
	}
	n, ok := versionNumber(qualifier)
	if !ok {
		return invalidParameter("Deletion of aliases is not supported.")
	}
	if n > len(fn.versions) || fn.versions[n-1].Version == "" {
		return notFound("Function not found: %s:%s", fn.latest.ARN, qualifier)
	}
	var using []string
	for _, a := range sortedAliases(fn) {
		if a.FunctionVersion == qualifier {
			using = append(using, a.Name)
		} else if _, ok := a.AdditionalVersionWeights[qualifier]; ok {
			using = append(using, a.Name)
		}
	}
	if len(using) > 0 {
		return conflict("Unable to delete version because the following aliases reference it: %v", using)
	}
	// Version numbers are never reused: keep the slot, emptied.
	fn.versions[n-1] = Function{}
	return nil
}

// inProgress is the conflict of an update while $LATEST is Pending or
// InProgress.
func (e *Emulator) inProgress(fn *function) *apiError {
	if fn.pending {
		return conflict("The operation cannot be performed at this time. An update is in progress for resource: %s", fn.latest.ARN)
	}
	return nil
}

func checkRevision(want *string, have string) *apiError {
	if want != nil && *want != have {
		return &apiError{http.StatusPreconditionFailed, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"}
	}
	return nil
}

// latestToUpdate is the function whose $LATEST an update of what
// ("function code", "function configuration") changes: no qualifier but
// $LATEST, no update in progress, and revisionID (when given) the current
// one.
func (e *Emulator) latestToUpdate(name, qualifier, what string, revisionID *string) (*function, *apiError) {
	fn, err := e.function(name)
	if err != nil {
		return nil, err
	}
	if qualifier != "" && qualifier != "$LATEST" {
		return nil, invalidParameter("Please do not provide a qualifier when updating %s.", what)
	}
	if err := e.inProgress(fn); err != nil {
		return nil, err
	}
	if err := checkRevision(revisionID, fn.latest.RevisionID); err != nil {
		return nil, err
	}
	return fn, nil
}

func (e *Emulator) updateFunctionCode(name, qualifier string, body []byte) (any, *apiError) {
	var in updateCodeInput
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	fn, err := e.latestToUpdate(name, qualifier, "function code", in.RevisionId)
	if err != nil {
		return nil, err
	}
	c, err := e.resolveCode(&in.codeInput, fn.latest.PackageType)
	if err != nil {
		return nil, err
	}
	if in.Architectures != nil {
		if err := validateArchitectures(in.Architectures); err != nil {
			return nil, err
		}
	}
	if in.DryRun {
		f := fn.latest.clone()
		c.apply(&f)
		return configurationOf(&f), nil
	}
	c.apply(&fn.latest)
	if in.Architectures != nil {
		fn.latest.Architectures = slices.Clone(in.Architectures)
	}
	e.startTransition(fn, false)
	if in.Publish {
		return configurationOf(e.publish(fn, nil)), nil
	}
	return configurationOf(&fn.latest), nil
}

func (e *Emulator) updateFunctionConfiguration(name, qualifier string, body []byte) (any, *apiError) {
	var in configInput
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	fn, err := e.latestToUpdate(name, qualifier, "function configuration", in.RevisionId)
	if err != nil {
		return nil, err
	}
	f := fn.latest.clone()
	if err := validateConfig(&in, &f); err != nil {
		return nil, err
	}
	if f.PackageType == "Image" && (in.Runtime != nil || in.Handler != nil || in.Layers != nil) {
		return nil, invalidParameter("Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image.")
	}
	fn.latest = f
	e.startTransition(fn, false)
	return configurationOf(&fn.latest), nil
}

// publish makes $LATEST a new version, or returns the last version when
// $LATEST has not changed since. Callers hold e.mu.
func (e *Emulator) publish(fn *function, description *string) *Function {
	if n := len(fn.versions); n > 0 && fn.versions[n-1].Version != "" && fn.versions[n-1].fingerprint() == fn.latest.fingerprint() {
		return &fn.versions[n-1]
	}
	v := fn.latest.clone()
	v.Version = strconv.Itoa(len(fn.versions) + 1)
	v.ARN = fn.latest.ARN + ":" + v.Version
	v.Tags = nil
	v.State, v.StateReason, v.StateReasonCode = "Active", "", ""
	v.LastUpdateStatus, v.LastUpdateStatusReason, v.LastUpdateStatusReasonCode = "Successful", "", ""
	if description != nil {
		v.Description = *description
	}
	v.LastModified = e.now()
	v.RevisionID = e.uuid()
	fn.versions = append(fn.versions, v)
	return &fn.versions[len(fn.versions)-1]
}

func (e *Emulator) publishVersion(name string, body []byte) (any, *apiError) {
	var in publishVersionInput
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	fn, err := e.function(name)
	if err != nil {
		return nil, err
	}
	if err := e.inProgress(fn); err != nil {
		return nil, err
	}
	if fn.latest.State == "Failed" {
		return nil, conflict("The operation cannot be performed at this time. The function is currently in the following state: Failed")
	}
	if err := checkRevision(in.RevisionId, fn.latest.RevisionID); err != nil {
		return nil, err
	}
	if in.CodeSha256 != nil && *in.CodeSha256 != fn.latest.CodeSha256 {
		return nil, invalidParameter("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try publishing again.", *in.CodeSha256, fn.latest.CodeSha256)
	}
	return configurationOf(e.publish(fn, in.Description)), nil
}

// page applies Marker and MaxItems (the marker is the index to start at).
func page[T any](items []T, q url.Values) ([]T, string, *apiError) {
	start := 0
	if m := q.Get("Marker"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", invalidParameter("Invalid marker: %s", m)
		}
		start = n
	}
	end := len(items)
	if m := q.Get("MaxItems"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > 10000 {
			var v validation
			v.add(m, "maxItems", "Member must have value greater than or equal to 1")
			return nil, "", v.err()
		}
		end = min(end, start+n)
	}
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

func (e *Emulator) listVersions(name string, q url.Values) (any, *apiError) {
	fn, err := e.function(name)
	if err != nil {
		return nil, err
	}
	all := []functionConfiguration{configurationOf(&fn.latest)}
	for i := range fn.versions {
		if fn.versions[i].Version != "" {
			all = append(all, configurationOf(&fn.versions[i]))
		}
	}
	items, next, err := page(all, q)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"Versions": items}
	if next != "" {
		out["NextMarker"] = next
	}
	return out, nil
}

// checkRouting validates an alias's version and routing as AWS does.
func (e *Emulator) checkRouting(fn *function, version string, rc *routingConfig) *apiError {
	if version != "$LATEST" {
		if n, ok := versionNumber(version); !ok || n > len(fn.versions) || fn.versions[n-1].Version == "" {
			return notFound("Function not found: %s:%s", fn.latest.ARN, version)
		}
	}
	if rc == nil || len(rc.AdditionalVersionWeights) == 0 {
		return nil
	}
	weights := rc.AdditionalVersionWeights
	var v validation
	if len(weights) > 1 {
		v.add(fmt.Sprint(weights), "routingConfig.additionalVersionWeights", "Member must have length less than or equal to 1")
	}
	for k, w := range weights {
		if w < 0 || w > 1 {
			v.add(w, "routingConfig.additionalVersionWeights", "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]")
		}
		if _, ok := versionNumber(k); !ok {
			v.add(k, "routingConfig.additionalVersionWeights", "Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]")
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	if version == "$LATEST" {
		return invalidParameter("$LATEST is not supported for an alias pointing to more than 1 version")
	}
	for k, w := range weights {
		if w == 1 {
			return invalidParameter("Invalid weight %v for version %s: the weight of the additional version must be less than 1.0", w, k)
		}
		if k == version {
			return invalidParameter("Invalid function version %s. The additional version cannot be the same as the primary version of the alias.", k)
		}
		if n, _ := versionNumber(k); n > len(fn.versions) || fn.versions[n-1].Version == "" {
			return notFound("Function not found: %s:%s", fn.latest.ARN, k)
		}
	}
	return nil
}

func (e *Emulator) createAlias(name string, body []byte) (any, *apiError) {
	var in aliasInput
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	var v validation
	if in.Name == nil {
		v.add(nil, "name", "Member must not be null")
	} else if !aliasNameRE.MatchString(*in.Name) || len(*in.Name) > 128 {
		v.add(*in.Name, "name", "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")
	}
	if in.FunctionVersion == nil {
		v.add(nil, "functionVersion", "Member must not be null")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	fn, err := e.function(name)
	if err != nil {
		return nil, err
	}
	arn := fn.latest.ARN + ":" + *in.Name
	if fn.aliases[*in.Name] != nil {
		return nil, conflict("Alias already exists: %s", arn)
	}
	if err := e.checkRouting(fn, *in.FunctionVersion, in.RoutingConfig); err != nil {
		return nil, err
	}
	a := &Alias{Name: *in.Name, FunctionVersion: *in.FunctionVersion, ARN: arn, RevisionID: e.uuid()}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.RoutingConfig != nil && len(in.RoutingConfig.AdditionalVersionWeights) > 0 {
		a.AdditionalVersionWeights = in.RoutingConfig.AdditionalVersionWeights
	}
	fn.aliases[a.Name] = a
	return aliasOutputOf(a), nil
}

func (e *Emulator) alias(name, alias string) (*function, *Alias, *apiError) {
	fn, err := e.function(name)
	if err != nil {
		return nil, nil, err
	}
	a := fn.aliases[alias]
	if a == nil {
		return nil, nil, notFound("Cannot find alias arn: %s:%s", fn.latest.ARN, alias)
	}
	return fn, a, nil
}

func (e *Emulator) getAlias(name, alias string) (any, *apiError) {
	_, a, err := e.alias(name, alias)
	if err != nil {
		return nil, err
	}
	return aliasOutputOf(a), nil
}

func (e *Emulator) updateAlias(name, alias string, body []byte) (any, *apiError) {
	var in aliasInput
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	fn, a, err := e.alias(name, alias)
	if err != nil {
		return nil, err
	}
	if err := checkRevision(in.RevisionId, a.RevisionID); err != nil {
		return nil, err
	}
	version := a.FunctionVersion
	if in.FunctionVersion != nil {
		version = *in.FunctionVersion
	}
	rc := &routingConfig{AdditionalVersionWeights: a.AdditionalVersionWeights}
	if in.RoutingConfig != nil {
		rc = in.RoutingConfig
	}
	if err := e.checkRouting(fn, version, rc); err != nil {
		return nil, err
	}
	a.FunctionVersion = version
	a.AdditionalVersionWeights = nil
	if len(rc.AdditionalVersionWeights) > 0 {
		a.AdditionalVersionWeights = rc.AdditionalVersionWeights
	}
	if in.Description != nil {
		a.Description = *in.Description
	}
	a.RevisionID = e.uuid()
	return aliasOutputOf(a), nil
}

func (e *Emulator) deleteAlias(name, alias string) *apiError {
	fn, err := e.function(name)
	if err != nil {
		return err
	}
	delete(fn.aliases, alias) // deleting a missing alias succeeds, as in AWS
	return nil
}

func (e *Emulator) listAliases(name string, q url.Values) (any, *apiError) {
	fn, err := e.function(name)
	if err != nil {
		return nil, err
	}
	var all []aliasOutput
	for _, a := range sortedAliases(fn) {
		if v := q.Get("FunctionVersion"); v == "" || v == a.FunctionVersion {
			all = append(all, aliasOutputOf(&a))
		}
	}
	if all == nil {
		all = []aliasOutput{}
	}
	items, next, err := page(all, q)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"Aliases": items}
	if next != "" {
		out["NextMarker"] = next
	}
	return out, nil
}

func (e *Emulator) tags(op, arn, name, qualifier string, q url.Values, body []byte) (any, *apiError) {
	if !strings.HasPrefix(arn, "arn:") {
		var v validation
		v.add(arn, "resource", `Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`)
		return nil, v.err()
	}
	if qualifier != "" {
		return nil, invalidParameter("Tags on function aliases and versions are not supported. Please specify a function ARN.")
	}
	fn, err := e.function(name)
	if err != nil {
		return nil, err
	}
	switch op {
	case "TagResource":
		var in tagsInput
		if err := decodeJSON(body, &in); err != nil {
			return nil, err
		}
		if in.Tags == nil {
			var v validation
			v.add(nil, "tags", "Member must not be null")
			return nil, v.err()
		}
		if fn.latest.Tags == nil {
			fn.latest.Tags = map[string]string{}
		}
		for k, v := range in.Tags {
			fn.latest.Tags[k] = v
		}
		return nil, nil
	case "UntagResource":
		for _, k := range q["tagKeys"] {
			delete(fn.latest.Tags, k)
		}
		return nil, nil
	}
	tags := fn.latest.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{"Tags": tags}, nil
}

// invoke picks the version an alias routes to (deterministically: the
// additional version gets exactly its share of the alias's invocations,
// spread evenly) and answers {"version":"N"} with X-Amz-Executed-Version.
func (e *Emulator) invoke(w http.ResponseWriter, r *http.Request, name, qualifier string, body []byte) {
	fn, err := e.function(name)
	if err != nil {
		writeLambdaErr(w, err)
		return
	}
	version := "$LATEST"
	if qualifier != "" {
		version = qualifier
	}
	if a := fn.aliases[qualifier]; a != nil {
		version = a.FunctionVersion
		for k, wgt := range a.AdditionalVersionWeights {
			i := fn.invocations[a.Name]
			if int(float64(i+1)*wgt) > int(float64(i)*wgt) {
				version = k
			}
		}
		fn.invocations[a.Name]++
	}
	f, aerr := e.resolve(fn, version)
	if aerr != nil {
		writeLambdaErr(w, aerr)
		return
	}
	if f.State != "Active" {
		writeLambdaErr(w, conflict("The operation cannot be performed at this time. The function is currently in the following state: %s", f.State))
		return
	}
	if len(body) > 0 && !jsonValid(body) {
		writeJSONError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: Could not parse payload into json: Unrecognized token: was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')", nil)
		return
	}
	w.Header().Set("X-Amzn-RequestId", e.uuid())
	w.Header().Set("X-Amz-Executed-Version", f.Version)
	switch r.Header.Get("X-Amz-Invocation-Type") {
	case "Event":
		w.WriteHeader(http.StatusAccepted)
		return
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Header.Get("X-Amz-Log-Type") == "Tail" {
		w.Header().Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "START Version: %s\nEND\n", f.Version)))
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"version":%q}`, f.Version)
}

func jsonValid(b []byte) bool { return json.Valid(b) }

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
