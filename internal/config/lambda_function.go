package config

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/gitops-pipe/pipe/internal/lazyre"
)

// KindLambdaFunction is the kind of a LambdaApp's function manifest
// (PipeCD's `function.yaml`). It is not a configuration kind: pipe does not
// discover such files, it reads the one a LambdaApp names in
// spec.input.functionManifestFile.
const KindLambdaFunction Kind = "LambdaFunction"

// LambdaFunctionSpec is the spec of a function manifest, field for field
// PipeCD's FunctionManifestSpec
// (pkg/app/piped/platformprovider/lambda/function.go). Values are kept as
// written: PipeCD's template text (`{{ .encryptedSecrets.key }}`) is left
// for the deployment to fill in, and values holding it are not checked
// beyond their type.
type LambdaFunctionSpec struct {
	// The function's name (or its ARN).
	Name string `json:"name"`
	// The ARN of the function's execution role.
	Role string `json:"role"`
	// The container image of the function (the code comes from it).
	ImageURI string `json:"image"`
	// The S3 bucket of the function's zip (with s3Key).
	S3Bucket string `json:"s3Bucket"`
	// The S3 key of the function's zip.
	S3Key string `json:"s3Key"`
	// The version of the S3 object, pinning the code to the commit.
	S3ObjectVersion string `json:"s3ObjectVersion"`
	// A directory of a Git repository zipped as the function's code.
	SourceCode LambdaSourceCode `json:"source"`
	// The function's entry point (zip functions only).
	Handler string `json:"handler"`
	// The instruction set: one of x86_64, arm64.
	Architectures []LambdaArchitecture `json:"architectures,omitempty"`
	// The size of /tmp.
	EphemeralStorage *LambdaEphemeralStorage `json:"ephemeralStorage,omitempty"`
	// The runtime (zip functions only), e.g. nodejs20.x.
	Runtime string `json:"runtime"`
	// Memory in MB, 128 to 10240.
	Memory int32 `json:"memory"`
	// Timeout in seconds, 1 to 900.
	Timeout int32 `json:"timeout"`
	// Tags of the function.
	Tags map[string]string `json:"tags,omitempty"`
	// Environment variables of the function.
	Environments map[string]string `json:"environments,omitempty"`
	// The VPC the function runs in.
	VPCConfig *LambdaVPCConfig `json:"vpcConfig,omitempty"`
	// Layers, by ARN with their version (zip functions only).
	Layers []string `json:"layers,omitempty"`
}

// LambdaSourceCode is a directory of a Git repository, zipped as the
// function's code.
type LambdaSourceCode struct {
	// The repository's remote URL.
	Git string `json:"git"`
	// The commit (or tag, branch) to read.
	Ref string `json:"ref"`
	// The directory in the repository; empty for its root.
	Path string `json:"path"`
}

// LambdaArchitecture is one instruction set architecture of the function.
type LambdaArchitecture struct {
	Name string `json:"name"`
}

// LambdaEphemeralStorage is the size of the function's /tmp, in MB.
type LambdaEphemeralStorage struct {
	Size int32 `json:"size,omitempty"`
}

// LambdaVPCConfig attaches the function to a VPC.
type LambdaVPCConfig struct {
	SecurityGroupIDs []string `json:"securityGroupIds,omitempty"`
	SubnetIDs        []string `json:"subnetIds,omitempty"`
}

// LambdaFunctionFile is a parsed function manifest.
type LambdaFunctionFile struct {
	// Path is the file's path as given (repository-relative when read
	// through ReadLambdaFunctionIn).
	Path string
	// Spec is nil when the envelope could not be read.
	Spec *LambdaFunctionSpec
	// Positions maps a field path ("spec.memory", "spec.environments.FOO")
	// to where it was written (a map entry: its key).
	Positions map[string]Pos
	// Diags are the problems found, sorted by position.
	Diags Diagnostics
}

// Err returns nil when the manifest has no error diagnostics, else the
// error diagnostics (one a line, "file:line:col: error: path: message
// (hint)", as everywhere in pipe).
func (f *LambdaFunctionFile) Err() error {
	if errs := f.Diags.Errors(); len(errs) > 0 {
		return errs
	}
	return nil
}

// CodeSource says where the function's code comes from: "image", "s3",
// "git", or "" when none is set. When several are (an invalid manifest),
// PipeCD's precedence is followed: image, then S3, then Git.
func (s *LambdaFunctionSpec) CodeSource() string {
	switch {
	case s.ImageURI != "":
		return "image"
	case s.S3Bucket != "":
		return "s3"
	case s.SourceCode.Git != "":
		return "git"
	}
	return ""
}

// ParseLambdaFunction parses a function manifest from data: the checks of
// every configuration file (size, UTF-8, YAML syntax, aliases, one
// document), the envelope (apiVersion pipecd.dev/v1beta1, kind
// LambdaFunction, spec), strict decoding and AWS Lambda's and PipeCD's
// rules. It never panics: every problem becomes a diagnostic.
func ParseLambdaFunction(path string, data []byte) *LambdaFunctionFile {
	return lambdaFunctionFile(parseYAML(path, data, parseLambdaFunctionDocument))
}

// ReadLambdaFunctionIn reads and parses the function manifest rel
// (slash-separated) of the repository opened as root, as ReadFileIn reads
// a configuration file: confined to root, a regular file, at most
// MaxFileSize bytes.
func ReadLambdaFunctionIn(root *os.Root, rel string) *LambdaFunctionFile {
	data, err := fsafe.ReadFile(root, filepath.FromSlash(rel), MaxFileSize)
	return lambdaFunctionFile(parseRead(rel, data, err, parseLambdaFunctionDocument))
}

func lambdaFunctionFile(f *File) *LambdaFunctionFile {
	lf := &LambdaFunctionFile{Path: f.Path, Positions: f.Positions, Diags: f.Diags}
	lf.Spec, _ = f.Spec.(*LambdaFunctionSpec)
	lf.Diags.Sort()
	return lf
}

func parseLambdaFunctionDocument(path string, doc *yaml.Node) *File {
	f := parseEnvelope(path, doc, func(k Kind) any {
		if k == KindLambdaFunction {
			return &LambdaFunctionSpec{}
		}
		return nil
	}, []string{string(KindLambdaFunction)})
	spec, ok := f.Spec.(*LambdaFunctionSpec)
	if !ok {
		return f
	}
	lambdaMapKeyPositions(doc, f.Positions)
	c := &Checker{File: path, Kind: KindLambdaFunction, Positions: f.Positions}
	c.Walk(spec, "spec")
	// A value the decoder refused is not checked again (a memory written as
	// text is not also "out of range").
	bad := map[string]bool{}
	for _, d := range f.Diags {
		if d.Severity == SeverityError && d.Path != "" && !strings.HasPrefix(d.Message, "unknown field") {
			bad[d.Path] = true
		}
	}
	for _, d := range c.Diags {
		if !lambdaPathRefused(bad, d.Path) {
			f.Diags = append(f.Diags, d)
		}
	}
	return f
}

func lambdaPathRefused(bad map[string]bool, p string) bool {
	for ; p != ""; p = parentPath(p) {
		if bad[p] {
			return true
		}
	}
	return false
}

// lambdaMapKeyPositions points the entries of spec.environments and
// spec.tags at their keys (the decoder records a map entry at its value):
// a bad name is reported where the name is.
func lambdaMapKeyPositions(doc *yaml.Node, pos map[string]Pos) {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	spec := lambdaMappingValue(resolveAlias(root), "spec")
	for _, field := range []string{"environments", "tags"} {
		m := lambdaMappingValue(spec, field)
		if m == nil || m.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if k := m.Content[i]; k.Kind == yaml.ScalarNode && !isMergeKey(k) {
				pos[mapKeyPath("spec."+field, k.Value)] = Pos{k.Line, k.Column}
			}
		}
	}
}

func lambdaMappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return resolveAlias(m.Content[i+1])
		}
	}
	return nil
}

// AWS Lambda's limits (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
const (
	lambdaMinMemory     = 128
	lambdaMaxMemory     = 10240
	lambdaMinTimeout    = 1
	lambdaMaxTimeout    = 900
	lambdaMinEphemeral  = 512
	lambdaMaxEphemeral  = 10240
	lambdaMaxLayers     = 5
	lambdaMaxEnvBytes   = 4 << 10
	lambdaMaxTags       = 50
	lambdaMaxTagKey     = 128
	lambdaMaxTagValue   = 256
	lambdaMaxSubnets    = 16
	lambdaMaxSecGroups  = 5
	lambdaMaxNameLength = 64
)

var (
	lambdaNameRe    = lazyre.New(`^[a-zA-Z0-9_-]+$`)
	lambdaFuncARNRe = lazyre.New(`^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[^:\s]+:function:[a-zA-Z0-9_-]{1,64}$`)
	// The account is not checked to be 12 digits: PipeCD's examples write
	// placeholders (76xxxxxxx).
	lambdaRoleAccountRe = lazyre.New(`^arn:aws[a-zA-Z-]*:iam::([^:]*):role/`)
	lambdaAccountIDRe   = lazyre.New(`^\d{12}$`)
	lambdaRoleARNRe     = lazyre.New(`^arn:aws[a-zA-Z-]*:iam::[^:\s/]+:role/[\w+=,.@/-]+$`)
	lambdaLayerARNRe    = lazyre.New(`^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[^:\s]+:layer:[a-zA-Z0-9_-]+:[0-9]+$`)
	lambdaEnvNameRe     = lazyre.New(`^[a-zA-Z][a-zA-Z0-9_]+$`)
	lambdaBucketRe      = lazyre.New(`^[0-9A-Za-z._-]{3,63}$`)
	lambdaRuntimeRe     = lazyre.New(`^[a-z][a-z0-9.]*$`)
	lambdaSubnetRe      = lazyre.New(`^subnet-[0-9a-zA-Z]+$`)
	lambdaSecGroupRe    = lazyre.New(`^sg-[0-9a-zA-Z]+$`)
)

// lambdaReservedEnv are the environment variables Lambda sets itself and
// refuses in a function's configuration
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
var lambdaReservedEnv = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

// templated reports whether a value holds PipeCD template text, filled in
// at deployment: it is not checked.
func templated(v string) bool { return strings.Contains(v, "{{") }

// unknownFieldHint explains fields of other tools' Lambda formats.
func (s *LambdaFunctionSpec) unknownFieldHint(key string) string {
	switch key {
	case "functionName", "FunctionName":
		return "the function's name is `name`"
	case "memorySize", "MemorySize":
		return "did you mean `memory`? (in MB)"
	case "imageUri", "imageURI", "ImageUri":
		return "did you mean `image`?"
	case "environment", "env", "environmentVariables", "Environment", "variables":
		return "environment variables go in `environments`, a mapping of names to values"
	case "vpc", "VpcConfig":
		return "did you mean `vpcConfig`?"
	case "architecture":
		return "write `architectures: [{name: arm64}]`"
	case "codeUri", "CodeUri", "code":
		return "the code comes from `image`, `s3Bucket` and `s3Key`, or `source: {git, ref, path}`"
	}
	return ""
}

// Validate implements validatable: PipeCD's rules for a function manifest
// and the AWS Lambda limits a deployment would otherwise fail on.
func (s *LambdaFunctionSpec) Validate(c *Checker, path string) {
	p := func(field string) string { return path + "." + field }
	if lambdaRequired(c, p("name"), s.Name, "write the function's name: `name: my-function`") && !templated(s.Name) {
		checkLambdaName(c, p("name"), s.Name)
	}
	if lambdaRequired(c, p("role"), s.Role, "write the ARN of the function's execution role: `role: arn:aws:iam::123456789012:role/my-role`") &&
		!templated(s.Role) && !lambdaRoleARNRe().MatchString(s.Role) {
		hint := "an IAM role ARN: arn:aws:iam::<account>:role/<name>"
		if !strings.HasPrefix(s.Role, "arn:") {
			hint = "write the role's ARN, not its name: arn:aws:iam::<account>:role/" + truncate(s.Role, 40)
		}
		c.Errorf(p("role"), hint, "invalid role %q", truncate(s.Role, 80))
	} else if m := lambdaRoleAccountRe().FindStringSubmatch(s.Role); m != nil && !lambdaAccountIDRe().MatchString(m[1]) {
		c.Warnf(p("role"), "write the 12-digit ID of the account the role is in", "the role's account %q is not an AWS account ID: AWS refuses it when deploying", truncate(m[1], 40))
	}
	zip := s.validateCode(c, path)
	s.validateSettings(c, path, zip)
	s.validateEnvironments(c, p("environments"))
	s.validateTags(c, p("tags"))
}

func lambdaRequired(c *Checker, path, v, hint string) bool {
	switch {
	case !c.Has(path):
		c.Errorf(path, hint, "missing required field `%s`", lastField(path))
		return false
	case v == "":
		c.Errorf(path, hint, "`%s` is empty", lastField(path))
		return false
	}
	return true
}

func checkLambdaName(c *Checker, path, name string) {
	switch {
	case strings.HasPrefix(name, "arn:"):
		if !lambdaFuncARNRe().MatchString(name) {
			c.Errorf(path, "a function ARN is arn:aws:lambda:<region>:<account>:function:<name>, without a version or alias", "invalid function ARN %q", truncate(name, 80))
		}
	case len(name) > lambdaMaxNameLength:
		c.Errorf(path, "AWS Lambda function names are at most 64 characters", "function name is %d characters long", len(name))
	case !lambdaNameRe().MatchString(name):
		c.Errorf(path, "AWS Lambda function names are letters, digits, hyphens and underscores (or the function's ARN)", "invalid function name %q", truncate(name, 80))
	}
}

// validateCode checks the function's code source: exactly one of image,
// S3 or a Git source. It reports whether the function is a zip (S3 or
// Git), which needs a handler and a runtime.
func (s *LambdaFunctionSpec) validateCode(c *Checker, spec string) (zip bool) {
	p := func(field string) string { return spec + "." + field }
	var written []string // the code sources written, by their first field
	if c.Has(p("image")) {
		written = append(written, p("image"))
	}
	for _, f := range []string{"s3Bucket", "s3Key", "s3ObjectVersion"} {
		if c.Has(p(f)) {
			written = append(written, p(f))
			break
		}
	}
	if c.Has(p("source")) {
		written = append(written, p("source"))
	}
	switch len(written) {
	case 0:
		c.Errorf(spec, "set `image` (a container image), `s3Bucket` and `s3Key` (a zip in S3), or `source: {git, ref, path}` (a directory of a Git repository)",
			"the function has no code")
		return false
	case 1:
	default:
		c.Errorf(written[1], fmt.Sprintf("PipeCD would use `%s` and ignore the rest; keep one", lastField(written[0])),
			"`%s` and `%s` are both set; a function's code comes from exactly one of them", lastField(written[0]), lastField(written[1]))
	}
	switch lastField(written[0]) {
	case "image":
		if lambdaRequired(c, p("image"), s.ImageURI, "the container image of the function, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/fn:v1") &&
			strings.ContainsAny(s.ImageURI, " \t\n") {
			c.Errorf(p("image"), "", "invalid image %q: it contains a space", truncate(s.ImageURI, 80))
		}
		for _, f := range []string{"handler", "runtime"} {
			if len(written) == 1 && c.Has(p(f)) { // with another code source, they are that one's
				c.Warnf(p(f), "remove it: the image's own entry point is used", "`%s` is ignored for a container image function", f)
			}
		}
		if len(s.Layers) > 0 {
			c.Errorf(p("layers"), "a container image function cannot use layers; build them into the image", "`layers` with `image`")
		}
		return false
	case "s3Bucket", "s3Key", "s3ObjectVersion":
		if lambdaRequired(c, p("s3Bucket"), s.S3Bucket, "the bucket of the function's zip: `s3Bucket: my-bucket`") && !templated(s.S3Bucket) &&
			(!lambdaBucketRe().MatchString(s.S3Bucket) || strings.HasSuffix(s.S3Bucket, ".")) {
			c.Errorf(p("s3Bucket"), "an S3 bucket name is 3 to 63 letters, digits, dots and hyphens", "invalid S3 bucket name %q", truncate(s.S3Bucket, 80))
		}
		lambdaRequired(c, p("s3Key"), s.S3Key, "the key of the function's zip in the bucket: `s3Key: path/to/function.zip`")
		if s.S3ObjectVersion == "" {
			c.Warnf(p("s3ObjectVersion"), "write the object's version (the bucket needs versioning): without it the code deployed is whatever is at s3Key at the time, not what this commit says",
				"no `s3ObjectVersion`: the function's code is not pinned")
		}
	case "source":
		sp := p("source")
		lambdaRequired(c, sp+".git", s.SourceCode.Git, "the repository's remote URL: `git: git@github.com:org/repo.git`")
		lambdaRequired(c, sp+".ref", s.SourceCode.Ref, "the commit to read: `ref: <commit SHA>`")
		if strings.ContainsAny(s.SourceCode.Git, " \t\n") {
			c.Errorf(sp+".git", "", "invalid Git URL %q: it contains a space", truncate(s.SourceCode.Git, 80))
		}
		if strings.ContainsAny(s.SourceCode.Ref, " \t\n~^:?*[\\") {
			c.Errorf(sp+".ref", "a commit SHA, a tag or a branch", "invalid Git ref %q", truncate(s.SourceCode.Ref, 80))
		}
		if pp := s.SourceCode.Path; pp != "" && !templated(pp) {
			switch {
			case strings.HasPrefix(pp, "/") || filepath.IsAbs(pp) || strings.Contains(pp, `\`):
				c.Errorf(sp+".path", "write the directory relative to the repository's root, with slashes", "invalid source path %q", truncate(pp, 80))
			case pp == ".." || strings.HasPrefix(pp, "../") || strings.Contains(pp, "/../") || strings.HasSuffix(pp, "/.."):
				c.Errorf(sp+".path", "the source directory must be inside the repository", "source path %q leads out of the repository", truncate(pp, 80))
			case path.Clean(pp) != strings.TrimSuffix(pp, "/") || pp == "./":
				c.Errorf(sp+".path", fmt.Sprintf("write `%s`", path.Clean(pp)), "source path %q is not clean", truncate(pp, 80))
			}
		}
	}
	return true
}

// validateSettings checks the settings AWS Lambda bounds.
func (s *LambdaFunctionSpec) validateSettings(c *Checker, path string, zip bool) {
	p := func(field string) string { return path + "." + field }
	if zip {
		if lambdaRequired(c, p("handler"), s.Handler, "the function's entry point, e.g. `handler: app.lambdaHandler`") &&
			(len(s.Handler) > 128 || strings.ContainsAny(s.Handler, " \t\n")) {
			c.Errorf(p("handler"), "a handler is at most 128 characters, without spaces", "invalid handler %q", truncate(s.Handler, 80))
		}
		if lambdaRequired(c, p("runtime"), s.Runtime, "the function's runtime, e.g. `runtime: nodejs20.x`, `python3.12`, `provided.al2023`") &&
			!templated(s.Runtime) && !lambdaRuntimeRe().MatchString(s.Runtime) {
			c.Errorf(p("runtime"), "a Lambda runtime identifier, e.g. nodejs20.x, python3.12, java21, provided.al2023", "invalid runtime %q", truncate(s.Runtime, 80))
		}
	}
	switch {
	case !c.Has(p("memory")):
		c.Errorf(p("memory"), "PipeCD requires it: the function's memory in MB, 128 to 10240", "missing required field `memory`")
	case s.Memory < lambdaMinMemory || s.Memory > lambdaMaxMemory:
		c.Errorf(p("memory"), "AWS Lambda allows 128 to 10240 MB", "memory %d MB is out of range", s.Memory)
	}
	switch {
	case !c.Has(p("timeout")):
		c.Errorf(p("timeout"), "PipeCD requires it: the function's timeout in seconds, 1 to 900", "missing required field `timeout`")
	case s.Timeout < lambdaMinTimeout || s.Timeout > lambdaMaxTimeout:
		c.Errorf(p("timeout"), "AWS Lambda allows 1 to 900 seconds", "timeout %d s is out of range", s.Timeout)
	}
	for i, a := range s.Architectures {
		c.checkEnum(fmt.Sprintf("%s[%d].name", p("architectures"), i), a.Name, "x86_64", "arm64")
	}
	if len(s.Architectures) > 1 {
		c.Errorf(p("architectures[1]"), "keep one: x86_64 or arm64", "a function has one architecture; %d are listed", len(s.Architectures))
	}
	if e := s.EphemeralStorage; e != nil {
		sp := p("ephemeralStorage.size")
		switch {
		case !c.Has(sp):
			c.Errorf(sp, "the size of /tmp in MB, 512 to 10240", "missing required field `size`")
		case e.Size < lambdaMinEphemeral || e.Size > lambdaMaxEphemeral:
			c.Errorf(sp, "AWS Lambda allows 512 to 10240 MB", "ephemeral storage %d MB is out of range", e.Size)
		}
	}
	if v := s.VPCConfig; v != nil {
		vp := p("vpcConfig")
		switch {
		case len(v.SubnetIDs) == 0:
			c.Errorf(vp+".subnetIds", "list the subnets the function runs in: `subnetIds: [subnet-0123456789abcdef0]`", "`vpcConfig` without `subnetIds`")
		case len(v.SubnetIDs) > lambdaMaxSubnets:
			c.Errorf(vp+".subnetIds", "AWS Lambda allows 16 subnets", "%d subnets", len(v.SubnetIDs))
		}
		if len(v.SecurityGroupIDs) > lambdaMaxSecGroups {
			c.Errorf(vp+".securityGroupIds", "AWS Lambda allows 5 security groups", "%d security groups", len(v.SecurityGroupIDs))
		}
		for i, id := range v.SubnetIDs {
			if !templated(id) && !lambdaSubnetRe().MatchString(id) {
				c.Errorf(fmt.Sprintf("%s.subnetIds[%d]", vp, i), "a subnet ID is subnet-<hex>", "invalid subnet ID %q", truncate(id, 80))
			}
		}
		for i, id := range v.SecurityGroupIDs {
			if !templated(id) && !lambdaSecGroupRe().MatchString(id) {
				c.Errorf(fmt.Sprintf("%s.securityGroupIds[%d]", vp, i), "a security group ID is sg-<hex>", "invalid security group ID %q", truncate(id, 80))
			}
		}
	}
	if len(s.Layers) > lambdaMaxLayers {
		c.Errorf(fmt.Sprintf("%s[%d]", p("layers"), lambdaMaxLayers), "AWS Lambda allows 5 layers per function", "%d layers", len(s.Layers))
	}
	for i, l := range s.Layers {
		lp := fmt.Sprintf("%s[%d]", p("layers"), i)
		switch {
		case templated(l):
		case l == "":
			c.Errorf(lp, "a layer ARN: arn:aws:lambda:<region>:<account>:layer:<name>:<version>", "empty layer")
		case !lambdaLayerARNRe().MatchString(l):
			hint := "a layer ARN with its version: arn:aws:lambda:<region>:<account>:layer:<name>:<version>"
			if lambdaLayerARNRe().MatchString(l + ":1") {
				hint = "add the layer's version: " + truncate(l, 80) + ":<version>"
			}
			c.Errorf(lp, hint, "invalid layer %q", truncate(l, 80))
		}
	}
}

func (s *LambdaFunctionSpec) validateEnvironments(c *Checker, path string) {
	names := make([]string, 0, len(s.Environments))
	size := 0
	for k, v := range s.Environments {
		names = append(names, k)
		size += len(k) + len(v)
	}
	sort.Strings(names)
	for _, k := range names {
		kp := mapKeyPath(path, k)
		switch {
		case slices.Contains(lambdaReservedEnv, k):
			c.Errorf(kp, "Lambda sets "+k+" itself; it cannot be set in the function's configuration", "environment variable %s is reserved by AWS Lambda", k)
		case !lambdaEnvNameRe().MatchString(k):
			c.Errorf(kp, "AWS Lambda takes names of a letter then letters, digits and underscores, 2 characters at least", "invalid environment variable name %q", truncate(k, 80))
		}
	}
	if size > lambdaMaxEnvBytes {
		c.Errorf(path, "AWS Lambda allows 4 KB of environment variables in all (names and values, as written here); keep large values in S3, SSM Parameter Store or Secrets Manager",
			"environment variables are %s, over AWS Lambda's 4 KB limit", humanBytes(int64(size)))
	}
}

func (s *LambdaFunctionSpec) validateTags(c *Checker, path string) {
	if len(s.Tags) > lambdaMaxTags {
		c.Errorf(path, "AWS allows 50 tags per resource", "%d tags", len(s.Tags))
	}
	keys := make([]string, 0, len(s.Tags))
	for k := range s.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kp := mapKeyPath(path, k)
		switch {
		case k == "":
			c.Errorf(kp, "", "empty tag key")
		case len(k) > lambdaMaxTagKey:
			c.Errorf(kp, "AWS allows tag keys of at most 128 characters", "tag key is %d characters long", len(k))
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			c.Errorf(kp, "the aws: prefix is reserved for AWS's own tags", "tag key %q is reserved", truncate(k, 80))
		}
		if v := s.Tags[k]; len(v) > lambdaMaxTagValue {
			c.Errorf(kp, "AWS allows tag values of at most 256 characters", "tag value is %d characters long", len(v))
		}
	}
}

// checkFunctionManifest parses a LambdaApp's function manifest (ref,
// relative to the app's directory, written at path) and reports its
// problems at their own file:line. A reference that does not resolve is
// left to checkManifestFile, which reports it.
func (c *Checker) checkFunctionManifest(path, ref string) {
	if ref == "" || c.Ctx.RepoRoot == "" || c.Ctx.FileDir == "" {
		return
	}
	probe := &Checker{File: c.File, Positions: c.Positions, Ctx: c.Ctx}
	if probe.CheckFileRef(path, ref, "", RefFile) == "" || len(probe.Diags) > 0 {
		return
	}
	rel, err := filepath.Rel(c.Ctx.RepoRoot, filepath.Join(c.Ctx.FileDir, filepath.FromSlash(ref)))
	if err != nil || !filepath.IsLocal(rel) {
		return
	}
	root, err := os.OpenRoot(c.Ctx.RepoRoot)
	if err != nil {
		return
	}
	defer root.Close()
	c.Diags = append(c.Diags, ReadLambdaFunctionIn(root, filepath.ToSlash(rel)).Diags...)
}
