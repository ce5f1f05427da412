package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const lambdaExamples = "/work/shared/pipecd-examples/v0/lambda"

func TestLambdaFunctionPipeCDExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(lambdaExamples, "*", "function.yaml"))
	if len(files) == 0 {
		t.Skip("PipeCD examples not available at " + lambdaExamples)
	}
	want := map[string]string{"remote-git": "git", "zip-packing-s3": "s3", "simple": "image", "analysis": "image", "canary": "image", "secret-management": "image"}
	for _, file := range files {
		name := filepath.Base(filepath.Dir(file))
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			f := ParseLambdaFunction(name+"/function.yaml", data)
			if err := f.Err(); err != nil {
				t.Fatalf("example does not parse:\n%v", err)
			}
			// The examples' only warning is their placeholder account
			// ("arn:aws:iam::76xxxxxxx:role/lambda-role"), which AWS refuses.
			if len(f.Diags) != 1 || f.Diags[0].Path != "spec.role" || !strings.Contains(f.Diags[0].Message, `the role's account "76xxxxxxx" is not an AWS account ID`) {
				t.Errorf("diagnostics on a PipeCD example:\n%s", f.Diags.Error())
			}
			if f.Spec == nil || f.Spec.Name == "" || f.Spec.Memory != 512 || f.Spec.Timeout != 30 {
				t.Fatalf("spec = %+v", f.Spec)
			}
			if w, ok := want[name]; ok && f.Spec.CodeSource() != w {
				t.Errorf("CodeSource = %q, want %q", f.Spec.CodeSource(), w)
			}
		})
	}
}

func TestLambdaFunctionFields(t *testing.T) {
	f := ParseLambdaFunction("function.yaml", []byte(`apiVersion: pipecd.dev/v1beta1
kind: LambdaFunction
spec:
  name: fn
  role: arn:aws-cn:iam::123456789012:role/path/to/role
  source:
    git: git@github.com:org/code.git
    ref: dede7cdea5bbd3fdbcc4674bfcd2b2f9e0579603
    path: hello-world
  handler: app.handler
  runtime: provided.al2023
  memory: 1024
  timeout: 900
  architectures:
    - name: arm64
  ephemeralStorage:
    size: 10240
  environments:
    KEY: "{{ .encryptedSecrets.key }}"
    NUM: 1
  tags:
    team: a
  vpcConfig:
    securityGroupIds: [sg-0123]
    subnetIds: [subnet-0a, subnet-0b]
  layers:
    - arn:aws:lambda:us-east-1:123456789012:layer:deps:3
`))
	if err := f.Err(); err != nil {
		t.Fatal(err)
	}
	if len(f.Diags) > 0 {
		t.Fatalf("diagnostics: %s", f.Diags.Error())
	}
	s := f.Spec
	if s.CodeSource() != "git" || s.SourceCode.Path != "hello-world" || s.Architectures[0].Name != "arm64" ||
		s.EphemeralStorage.Size != 10240 || s.Environments["KEY"] != "{{ .encryptedSecrets.key }}" || s.Environments["NUM"] != "1" ||
		len(s.VPCConfig.SubnetIDs) != 2 || s.VPCConfig.SecurityGroupIDs[0] != "sg-0123" || len(s.Layers) != 1 || s.Memory != 1024 {
		t.Errorf("spec = %+v", s)
	}
	for path, want := range map[string]Pos{"spec.memory": {12, 3}, "spec.environments.KEY": {19, 5}, "spec.tags.team": {22, 5}, "spec.source.ref": {8, 5}} {
		if got := f.Positions[path]; got != want {
			t.Errorf("Positions[%s] = %v, want %v", path, got, want)
		}
	}
}

// lambdaDoc is a valid zip-from-S3 manifest; tests replace or add lines.
const lambdaDoc = `apiVersion: pipecd.dev/v1beta1
kind: LambdaFunction
spec:
  name: fn
  role: arn:aws:iam::123456789012:role/lambda
  s3Bucket: my-bucket
  s3Key: fn.zip
  s3ObjectVersion: v1
  handler: app.handler
  runtime: nodejs20.x
  memory: 512
  timeout: 30
`

// lambdaWith returns lambdaDoc with the line starting with `  <old>:`
// replaced by repl (or removed when repl is empty; appended when old is "").
func lambdaWith(old, repl string) string {
	lines := strings.Split(strings.TrimSuffix(lambdaDoc, "\n"), "\n")
	var out []string
	done := old == ""
	for _, l := range lines {
		if !done && strings.HasPrefix(l, "  "+old+":") {
			done = true
			if repl != "" {
				out = append(out, repl)
			}
			continue
		}
		out = append(out, l)
	}
	if !done {
		panic("no line " + old)
	}
	if old == "" {
		out = append(out, repl)
	}
	return strings.Join(out, "\n") + "\n"
}

func TestLambdaFunctionDocIsValid(t *testing.T) {
	f := ParseLambdaFunction("function.yaml", []byte(lambdaDoc))
	if len(f.Diags) > 0 || f.Spec.CodeSource() != "s3" {
		t.Fatalf("diags: %s, source %q", f.Diags.Error(), f.Spec.CodeSource())
	}
}

func TestLambdaFunctionRules(t *testing.T) {
	image := "apiVersion: pipecd.dev/v1beta1\nkind: LambdaFunction\nspec:\n  name: fn\n  role: arn:aws:iam::123456789012:role/r\n  image: x.dkr.ecr.us-east-1.amazonaws.com/fn:v1\n  memory: 128\n  timeout: 3\n"
	source := "apiVersion: pipecd.dev/v1beta1\nkind: LambdaFunction\nspec:\n  name: fn\n  role: arn:aws:iam::123456789012:role/r\n  source:\n    git: https://github.com/o/r.git\n    ref: main\n    path: %s\n  handler: h\n  runtime: go1.x\n  memory: 128\n  timeout: 3\n"
	tests := []struct {
		name string
		data string
		sev  Severity
		pos  string // line:column
		path string
		msg  string
		hint string
	}{
		{"missing name", lambdaWith("name", ""), SeverityError, "4:3", "spec.name", "missing required field `name`", "name: my-function"},
		{"empty name", lambdaWith("name", "  name: \"\""), SeverityError, "4:3", "spec.name", "`name` is empty", ""},
		{"bad name", lambdaWith("name", "  name: my.function"), SeverityError, "4:3", "spec.name", `invalid function name "my.function"`, "letters, digits, hyphens and underscores"},
		{"long name", lambdaWith("name", "  name: "+strings.Repeat("a", 65)), SeverityError, "4:3", "spec.name", "function name is 65 characters long", "at most 64"},
		{"name ARN ok is not reported, bad ARN is", lambdaWith("name", "  name: arn:aws:lambda:us-east-1:123456789012:function:fn:live"), SeverityError, "4:3", "spec.name", "invalid function ARN", "without a version or alias"},
		{"missing role", lambdaWith("role", ""), SeverityError, "4:3", "spec.role", "missing required field `role`", "arn:aws:iam::"},
		{"role name", lambdaWith("role", "  role: lambda-role"), SeverityError, "5:3", "spec.role", `invalid role "lambda-role"`, "not its name"},
		{"role not iam", lambdaWith("role", "  role: arn:aws:iam::1:user/u"), SeverityError, "5:3", "spec.role", "invalid role", "arn:aws:iam::<account>:role/<name>"},
		{"no code", strings.Replace(strings.Replace(strings.Replace(lambdaDoc, "  s3Bucket: my-bucket\n", "", 1), "  s3Key: fn.zip\n", "", 1), "  s3ObjectVersion: v1\n", "", 1),
			SeverityError, "4:3", "spec", "the function has no code", "`source: {git, ref, path}`"},
		{"image and s3", lambdaWith("", "  image: fn:v1"), SeverityError, "6:3", "spec.s3Bucket", "`image` and `s3Bucket` are both set", "PipeCD would use `image`"},
		{"s3 and source", lambdaWith("", "  source: {git: g, ref: r}"), SeverityError, "13:3", "spec.source", "`s3Bucket` and `source` are both set", ""},
		{"s3 without bucket", lambdaWith("s3Bucket", ""), SeverityError, "4:3", "spec.s3Bucket", "missing required field `s3Bucket`", ""},
		{"s3 without key", lambdaWith("s3Key", ""), SeverityError, "4:3", "spec.s3Key", "missing required field `s3Key`", ""},
		{"s3 bad bucket", lambdaWith("s3Bucket", "  s3Bucket: a b"), SeverityError, "6:3", "spec.s3Bucket", `invalid S3 bucket name "a b"`, ""},
		{"s3 unpinned", lambdaWith("s3ObjectVersion", ""), SeverityWarning, "4:3", "spec.s3ObjectVersion", "not pinned", "versioning"},
		{"zip without handler", lambdaWith("handler", ""), SeverityError, "4:3", "spec.handler", "missing required field `handler`", "app.lambdaHandler"},
		{"zip without runtime", lambdaWith("runtime", ""), SeverityError, "4:3", "spec.runtime", "missing required field `runtime`", "nodejs20.x"},
		{"bad runtime", lambdaWith("runtime", "  runtime: Node JS"), SeverityError, "10:3", "spec.runtime", `invalid runtime "Node JS"`, ""},
		{"image with handler", image + "  handler: h\n", SeverityWarning, "9:3", "spec.handler", "`handler` is ignored for a container image function", ""},
		{"image with layers", image + "  layers: [arn:aws:lambda:us-east-1:123456789012:layer:l:1]\n", SeverityError, "9:3", "spec.layers", "`layers` with `image`", "build them into the image"},
		{"source without ref", strings.Replace(fmt.Sprintf(source, "x"), "    ref: main\n", "", 1), SeverityError, "6:3", "spec.source.ref", "missing required field `ref`", ""},
		{"source path out", fmt.Sprintf(source, "../x"), SeverityError, "9:5", "spec.source.path", `source path "../x" leads out of the repository`, ""},
		{"source path absolute", fmt.Sprintf(source, "/x"), SeverityError, "9:5", "spec.source.path", `invalid source path "/x"`, "relative"},
		{"source path unclean", fmt.Sprintf(source, "a//b"), SeverityError, "9:5", "spec.source.path", `source path "a//b" is not clean`, "write `a/b`"},
		{"missing memory", lambdaWith("memory", ""), SeverityError, "4:3", "spec.memory", "missing required field `memory`", "PipeCD requires it"},
		{"memory low", lambdaWith("memory", "  memory: 64"), SeverityError, "11:3", "spec.memory", "memory 64 MB is out of range", "128 to 10240"},
		{"memory high", lambdaWith("memory", "  memory: 10241"), SeverityError, "11:3", "spec.memory", "memory 10241 MB is out of range", ""},
		{"memory text", lambdaWith("memory", "  memory: 1G"), SeverityError, "11:11", "spec.memory", "expected an integer", ""},
		{"memory int32 overflow", lambdaWith("memory", "  memory: 9999999999"), SeverityError, "11:11", "spec.memory", "out of range", ""},
		{"missing timeout", lambdaWith("timeout", ""), SeverityError, "4:3", "spec.timeout", "missing required field `timeout`", "1 to 900"},
		{"timeout zero", lambdaWith("timeout", "  timeout: 0"), SeverityError, "12:3", "spec.timeout", "timeout 0 s is out of range", "1 to 900"},
		{"timeout high", lambdaWith("timeout", "  timeout: 901"), SeverityError, "12:3", "spec.timeout", "timeout 901 s is out of range", ""},
		{"bad architecture", lambdaWith("", "  architectures: [{name: amd64}]"), SeverityError, "13:20", "spec.architectures[0].name", `invalid value "amd64"`, "allowed: x86_64, arm64"},
		{"two architectures", lambdaWith("", "  architectures:\n  - name: x86_64\n  - name: arm64"), SeverityError, "15:5", "spec.architectures[1]", "a function has one architecture; 2 are listed", ""},
		{"ephemeral low", lambdaWith("", "  ephemeralStorage:\n    size: 256"), SeverityError, "14:5", "spec.ephemeralStorage.size", "ephemeral storage 256 MB is out of range", "512 to 10240"},
		{"ephemeral no size", lambdaWith("", "  ephemeralStorage: {}"), SeverityError, "13:3", "spec.ephemeralStorage.size", "missing required field `size`", ""},
		{"vpc no subnets", lambdaWith("", "  vpcConfig:\n    securityGroupIds: [sg-1]"), SeverityError, "13:3", "spec.vpcConfig.subnetIds", "`vpcConfig` without `subnetIds`", ""},
		{"vpc bad subnet", lambdaWith("", "  vpcConfig:\n    subnetIds: [sg-1]"), SeverityError, "14:17", "spec.vpcConfig.subnetIds[0]", `invalid subnet ID "sg-1"`, ""},
		{"env reserved", lambdaWith("", "  environments:\n    FOO: bar\n    AWS_REGION: us-east-1"), SeverityError, "15:5", "spec.environments.AWS_REGION", "environment variable AWS_REGION is reserved by AWS Lambda", "Lambda sets AWS_REGION itself"},
		{"env reserved handler", lambdaWith("", "  environments:\n    _HANDLER: x"), SeverityError, "14:5", "spec.environments._HANDLER", "reserved", ""},
		{"env bad name", lambdaWith("", "  environments:\n    MY-VAR: x"), SeverityError, "14:5", "spec.environments.MY-VAR", `invalid environment variable name "MY-VAR"`, "a letter then letters, digits and underscores"},
		{"env one letter", lambdaWith("", "  environments:\n    A: x"), SeverityError, "14:5", "spec.environments.A", `invalid environment variable name "A"`, ""},
		{"env too big", lambdaWith("", "  environments:\n    BIG: "+strings.Repeat("x", 4094)), SeverityError, "13:3", "spec.environments", "environment variables are 4.0 KiB, over AWS Lambda's 4 KB limit", "Secrets Manager"},
		{"env not a map", lambdaWith("", "  environments: [A=b]"), SeverityError, "13:17", "spec.environments", "expected a mapping, got a list", ""},
		{"layer without version", lambdaWith("", "  layers: [arn:aws:lambda:us-east-1:123456789012:layer:deps]"), SeverityError, "13:12", "spec.layers[0]", "invalid layer", "add the layer's version"},
		{"layer not an ARN", lambdaWith("", "  layers: [deps]"), SeverityError, "13:12", "spec.layers[0]", `invalid layer "deps"`, "arn:aws:lambda"},
		{"six layers", lambdaWith("", "  layers: [{{range .}}]"), SeverityError, "13:3", "", "", ""}, // replaced below
		{"tag key too long", lambdaWith("", "  tags:\n    "+strings.Repeat("k", 129)+": v"), SeverityError, "14:5", "spec.tags." + strings.Repeat("k", 129), "tag key is 129 characters long", "at most 128"},
		{"tag aws prefix", lambdaWith("", "  tags:\n    \"aws:x\": v"), SeverityError, "14:5", `spec.tags["aws:x"]`, `tag key "aws:x" is reserved`, ""},
		{"unknown field", lambdaWith("", "  memmory: 3"), SeverityError, "13:3", "spec.memmory", "unknown field `memmory`", "did you mean `memory`?"},
		{"memorySize", lambdaWith("", "  memorySize: 3"), SeverityError, "13:3", "spec.memorySize", "unknown field `memorySize`", "did you mean `memory`? (in MB)"},
		{"environment", lambdaWith("", "  environment: {A: b}"), SeverityError, "13:3", "spec.environment", "unknown field `environment`", "`environments`"},
		{"unknown source field", lambdaWith("", "  sauce: {}"), SeverityError, "13:3", "spec.sauce", "unknown field `sauce`", "did you mean `source`?"},
		{"wrong kind", strings.Replace(lambdaDoc, "kind: LambdaFunction", "kind: LambdaApp", 1), SeverityError, "2:7", "kind", `unknown kind "LambdaApp"`, "allowed: LambdaFunction"},
		{"wrong apiVersion", strings.Replace(lambdaDoc, "pipecd.dev/v1beta1", "v1", 1), SeverityError, "1:13", "apiVersion", `unsupported apiVersion "v1"`, ""},
		{"duplicate field", lambdaWith("", "  memory: 256"), SeverityError, "13:3", "spec.memory", "field `memory` is set twice", "first set at line 11"},
	}
	layers := make([]string, 6)
	for i := range layers {
		layers[i] = fmt.Sprintf("arn:aws:lambda:us-east-1:123456789012:layer:l%d:1", i)
	}
	for i := range tests {
		if tests[i].name == "six layers" {
			tests[i].data = lambdaWith("", "  layers:\n  - "+strings.Join(layers, "\n  - "))
			tests[i].pos, tests[i].path, tests[i].msg, tests[i].hint = "19:5", "spec.layers[5]", "6 layers", "5 layers per function"
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ParseLambdaFunction("fn/function.yaml", []byte(tt.data))
			d := findDiag(f.Diags, tt.msg)
			if d == nil {
				t.Fatalf("no diagnostic containing %q; got:\n%s", tt.msg, f.Diags.Error())
			}
			if d.Severity != tt.sev {
				t.Errorf("severity = %s, want %s", d.Severity, tt.sev)
			}
			if got := fmt.Sprintf("%d:%d", d.Line, d.Column); got != tt.pos {
				t.Errorf("position = %s, want %s (%s)", got, tt.pos, d)
			}
			if d.Path != tt.path {
				t.Errorf("path = %q, want %q", d.Path, tt.path)
			}
			if !strings.Contains(d.Hint, tt.hint) {
				t.Errorf("hint = %q, want it to contain %q", d.Hint, tt.hint)
			}
			if d.File != "fn/function.yaml" {
				t.Errorf("file = %q", d.File)
			}
			if (f.Err() != nil) != (tt.sev == SeverityError) {
				t.Errorf("Err() = %v", f.Err())
			}
			if n := len(f.Diags); n != 1 && tt.name != "missing name" {
				t.Logf("%d diagnostics:\n%s", n, f.Diags.Error())
			}
		})
	}
}

// TestLambdaFunctionOneDiagnostic checks that a problem is told once: a value
// the decoder refused is not checked again.
func TestLambdaFunctionOneDiagnostic(t *testing.T) {
	for _, data := range []string{
		lambdaWith("memory", "  memory: 1G"),
		lambdaWith("timeout", "  timeout: [1]"),
		lambdaWith("", "  environments: [A=b]"),
		lambdaWith("", "  vpcConfig:\n    subnetIds: [{a: b}]"),
		lambdaWith("", "  ephemeralStorage:\n    size: big"),
	} {
		f := ParseLambdaFunction("function.yaml", []byte(data))
		if len(f.Diags) != 1 {
			t.Errorf("want one diagnostic, got:\n%s", f.Diags.Error())
		}
	}
}

func TestLambdaFunctionErr(t *testing.T) {
	f := ParseLambdaFunction("fn/function.yaml", []byte(lambdaWith("memory", "  memory: 64")+"  timeout: 0\n"))
	err := f.Err()
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.HasPrefix(err.Error(), "fn/function.yaml:11:3: error: spec.memory: memory 64 MB is out of range (AWS Lambda allows 128 to 10240 MB)\n") ||
		strings.Count(err.Error(), "\n") != 1 {
		t.Errorf("Err() =\n%v", err)
	}
	// Warnings alone are no error.
	f = ParseLambdaFunction("fn/function.yaml", []byte(lambdaWith("s3ObjectVersion", "")))
	if f.Err() != nil || len(f.Diags) != 1 {
		t.Errorf("Err() = %v, diags %v", f.Err(), f.Diags)
	}
}

func TestLambdaFunctionBadInput(t *testing.T) {
	tests := []struct {
		name, data, msg string
		spec            bool
	}{
		{"empty", "", "file is empty", false},
		{"binary", "\x00\x01", "binary file", false},
		{"garbage", "}}}{{{", "invalid YAML", false},
		{"scalar", "hello", "expected a mapping at the top of the file", false},
		{"no kind", "apiVersion: pipecd.dev/v1beta1\nspec: {}\n", "missing required field `kind`", false},
		{"spec list", "apiVersion: pipecd.dev/v1beta1\nkind: LambdaFunction\nspec: [1]\n", "expected a mapping, got a list", true},
		{"two documents", lambdaDoc + "---\na: b\n", "second one", true},
		{"alias bomb", "apiVersion: pipecd.dev/v1beta1\nkind: LambdaFunction\nspec:\n  tags: &a {x: y}\n" + aliasBomb(), "alias", false},
		{"huge", lambdaDoc + "# " + strings.Repeat("x", MaxFileSize) + "\n", "over the 4.0 MiB limit", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ParseLambdaFunction("function.yaml", []byte(tt.data))
			if findDiag(f.Diags, tt.msg) == nil {
				t.Fatalf("no diagnostic containing %q; got:\n%s", tt.msg, f.Diags.Error())
			}
			if f.Err() == nil {
				t.Error("Err() is nil")
			}
			if (f.Spec != nil) != tt.spec {
				t.Errorf("spec = %v", f.Spec)
			}
			if tt.name == "spec list" && len(f.Diags) != 1 {
				t.Errorf("a spec that is not a mapping is told once, got:\n%s", f.Diags.Error())
			}
		})
	}
}

// aliasBomb is a billion-laughs document fragment under spec.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "  l%d: &l%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestReadLambdaFunctionIn(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app", "function.yaml"), []byte(lambdaWith("memory", "  memory: 1")), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "function.yaml")
	if err := os.WriteFile(outside, []byte(lambdaDoc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "app", "out.yaml")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	f := ReadLambdaFunctionIn(root, "app/function.yaml")
	if d := findDiag(f.Diags, "memory 1 MB is out of range"); d == nil || d.Position() != "app/function.yaml:11:3" {
		t.Errorf("diags: %s", f.Diags.Error())
	}
	f = ReadLambdaFunctionIn(root, "app/out.yaml")
	if findDiag(f.Diags, "outside the repository") == nil || f.Spec != nil {
		t.Errorf("a symlink out was read: %s", f.Diags.Error())
	}
	f = ReadLambdaFunctionIn(root, "app/missing.yaml")
	if findDiag(f.Diags, "cannot read file") == nil {
		t.Errorf("diags: %s", f.Diags.Error())
	}
}

// TestLambdaAppChecksFunctionManifest checks the LambdaApp hook: the
// function manifest's problems are reported at their own file:line, and a
// missing manifest only once (by the file reference check).
func TestLambdaAppChecksFunctionManifest(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, data string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("fn/app.pipecd.yaml", "apiVersion: pipecd.dev/v1beta1\nkind: LambdaApp\nspec:\n  name: fn\n")
	write("fn/function.yaml", lambdaWith("timeout", "  timeout: 1000"))
	write("other/app.pipecd.yaml", "apiVersion: pipecd.dev/v1beta1\nkind: LambdaApp\nspec:\n  name: other\n  input:\n    functionManifestFile: missing.yaml\n")
	repo, err := LoadRepo(dir)
	if err != nil {
		t.Fatal(err)
	}
	all := repo.Diagnostics()
	d := findDiag(all, "timeout 1000 s is out of range")
	if d == nil || d.Position() != "fn/function.yaml:12:3" {
		t.Fatalf("diagnostics:\n%s", all.Error())
	}
	if n := strings.Count(all.Error(), "missing.yaml"); n != 1 {
		t.Errorf("missing.yaml reported %d times:\n%s", n, all.Error())
	}
}

func FuzzParseLambdaFunction(f *testing.F) {
	f.Add([]byte(lambdaDoc))
	f.Add([]byte(lambdaWith("", "  environments: {A: b, AWS_REGION: x}\n  vpcConfig: {subnetIds: [a]}\n  source: {git: g, ref: r, path: ../x}")))
	f.Add([]byte("apiVersion: pipecd.dev/v1beta1\nkind: LambdaFunction\nspec: &a {tags: *a}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lf := ParseLambdaFunction("function.yaml", data)
		if lf.Spec != nil {
			_ = lf.Spec.CodeSource()
		}
		_ = lf.Err()
	})
}
