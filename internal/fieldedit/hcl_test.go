package fieldedit

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

const tfvars = `# Set by the event watcher.
project_id = "pipecd-dev"
image_tag  = "v0.1.0" # the web image
replicas   = 3
enabled    = true
`

const mainTF = `locals {
  region = "asia-northeast1"
}

locals {
  # The image deployed.
  image    = "gcr.io/pipecd/web:v0.1.0"
  tag_only = "v0.1.0"
}

module "web" {
  source    = "./modules/web" # local module
  image_tag = "v0.1.0"        # aligned comment
  port      = 8080
}

resource "aws_lambda_function" "fn" {
  function_name = "fn"
  image_uri     = "123.dkr.ecr.us-east-1.amazonaws.com/fn:v0.1.0"
  environment {
    variables = {
      TAG = "v0.1.0"
    }
  }
}

variable "image" {
  type    = string
  default = <<EOT
gcr.io/pipecd/web:v0.1.0
EOT
}
`

func TestHCL(t *testing.T) {
	tests := []struct {
		name, in, path, value, want string
		old                         []string
		lines                       []int
	}{
		{"tfvars attribute", tfvars, "image_tag", "v0.2.0",
			strings.Replace(tfvars, `"v0.1.0" #`, `"v0.2.0" #`, 1), []string{"v0.1.0"}, []int{3}},
		{"$. prefix", tfvars, "$.image_tag", "v0.2.0",
			strings.Replace(tfvars, `"v0.1.0" #`, `"v0.2.0" #`, 1), []string{"v0.1.0"}, []int{3}},
		{"number stays a number", tfvars, "replicas", "5", strings.Replace(tfvars, "= 3", "= 5", 1), []string{"3"}, []int{4}},
		{"number replaced by a string", tfvars, "replicas", "five", strings.Replace(tfvars, "= 3", `= "five"`, 1), []string{"3"}, []int{4}},
		{"bool stays a bool", tfvars, "enabled", "false", strings.Replace(tfvars, "true", "false", 1), []string{"true"}, []int{5}},
		{"up to date", tfvars, "image_tag", "v0.1.0", tfvars, nil, nil},
		{"the locals block holding it", mainTF, "locals.image", "gcr.io/pipecd/web:v0.2.0",
			strings.Replace(mainTF, `"gcr.io/pipecd/web:v0.1.0"`, `"gcr.io/pipecd/web:v0.2.0"`, 1), []string{"gcr.io/pipecd/web:v0.1.0"}, []int{7}},
		{"module, alignment and comments kept", mainTF, "module.web.image_tag", "v0.2.0",
			strings.Replace(mainTF, `"v0.1.0"        # aligned`, `"v0.2.0"        # aligned`, 1), []string{"v0.1.0"}, []int{13}},
		{"resource with two labels", mainTF, "resource.aws_lambda_function.fn.image_uri", "123.dkr.ecr.us-east-1.amazonaws.com/fn:v0.2.0",
			strings.Replace(mainTF, "fn:v0.1.0", "fn:v0.2.0", 1), []string{"123.dkr.ecr.us-east-1.amazonaws.com/fn:v0.1.0"}, []int{19}},
		{"nested block", mainTF, "resource.aws_lambda_function.fn.environment.variables", "x",
			strings.Replace(mainTF, "{\n      TAG = \"v0.1.0\"\n    }", `"x"`, 1), []string{"{\n      TAG = \"v0.1.0\"\n    }"}, []int{21}},
		{"a heredoc becomes a string", mainTF, "variable.image.default", "gcr.io/pipecd/web:v0.2.0",
			strings.Replace(mainTF, "<<EOT\ngcr.io/pipecd/web:v0.1.0\nEOT", `"gcr.io/pipecd/web:v0.2.0"`, 1), []string{"gcr.io/pipecd/web:v0.1.0\n"}, []int{29}},
		{"template sequences are escaped", tfvars, "image_tag", `${var.x} %{if}"\`,
			strings.Replace(tfvars, `"v0.1.0" #`, `"$${var.x} %%{if}\"\\" #`, 1), []string{"v0.1.0"}, []int{3}},
		{"an interpolation is replaced whole", "tag = \"v${local.n}\"\n", "tag", "v2", "tag = \"v2\"\n", []string{`"v${local.n}"`}, []int{1}},
		{"CRLF and BOM", "\ufeffa = \"x\"\r\nb = 1\r\n", "a", "y\nz", "\ufeffa = \"y\\nz\"\r\nb = 1\r\n", []string{"x"}, []int{1}},
		{"a quoted label with a dot", "module \"web.v2\" {\n  tag = \"a\"\n}\n", "module.'web.v2'.tag", "b", "module \"web.v2\" {\n  tag = \"b\"\n}\n", []string{"a"}, []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := HCL([]byte(tt.in), tt.path, tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Out) != tt.want || res.Changed != (tt.in != tt.want) {
				t.Errorf("got %v:\n%s\nwant:\n%s", res.Changed, res.Out, tt.want)
			}
			if !slices.Equal(res.Old, tt.old) || !slices.Equal(res.Lines, tt.lines) {
				t.Errorf("Old, Lines = %q, %v", res.Old, res.Lines)
			}
		})
	}
}

func TestHCLErrors(t *testing.T) {
	tests := []struct {
		name, in, path string
		notFound       bool
		line           int
		msg            string
	}{
		{"missing attribute", tfvars, "image", true, 1,
			`image: the file has no attribute "image" (attributes: enabled, image_tag, project_id, replicas)`},
		{"missing block", mainTF, "provider.google.project", true, 1,
			`provider.google.project: the file has no "provider" block (blocks: locals, locals, module "web", resource "aws_lambda_function" "fn", variable "image")`},
		{"no block with those labels", mainTF, "module.api.image_tag", true, 1,
			`module.api.image_tag: the file has no module block matching the path (module "web")`},
		{"attribute in none of the blocks", mainTF, "locals.missing", true, 1,
			`locals.missing: none of the 2 locals blocks of the file has an attribute "missing" (attributes: region; image, tag_only)`},
		{"a block, not an attribute", mainTF, "resource.aws_lambda_function.fn.environment", true, 20,
			`resource.aws_lambda_function.fn.environment: environment is a block in resource "aws_lambda_function" "fn", not an attribute: continue the path to an attribute inside it`},
		{"into an attribute's value", tfvars, "image_tag.x", true, 3,
			`image_tag.x: image_tag is an attribute of the file, not a block: the path cannot go into its value`},
		{"an index", tfvars, "image_tag[0]", false, 0,
			`image_tag[0]: an HCL path is block types, labels and an attribute separated by dots (module.web.image_tag); [0] is not supported`},
		{"invalid HCL", "a = \n", "a", false, 1,
			"a: the file is not valid HCL: line 1: Invalid expression: Expected the start of an expression, but found an invalid expression token."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := HCL([]byte(tt.in), tt.path, "v")
			var fe *Error
			if !errors.As(err, &fe) || errors.Is(err, ErrNotFound) != tt.notFound || fe.Line != tt.line {
				t.Fatalf("got %#v", err)
			}
			if err.Error() != tt.msg {
				t.Errorf("got  %s\nwant %s", err, tt.msg)
			}
		})
	}
}

func TestHCLEveryAttribute(t *testing.T) {
	paths := map[string][]string{
		tfvars: {"project_id", "image_tag", "replicas", "enabled"},
		mainTF: {"locals.region", "locals.image", "locals.tag_only", "module.web.source", "module.web.image_tag", "module.web.port",
			"resource.aws_lambda_function.fn.function_name", "resource.aws_lambda_function.fn.image_uri",
			"resource.aws_lambda_function.fn.environment.variables", "variable.image.type", "variable.image.default"},
	}
	for in, ps := range paths {
		for _, p := range ps {
			for _, v := range trickyValues {
				res, err := HCL([]byte(in), p, v)
				if err != nil {
					t.Fatalf("%s = %q: %v", p, v, err)
				}
				f, diags := hclsyntax.ParseConfig(res.Out, "x.tf", hcl.InitialPos)
				if diags.HasErrors() {
					t.Fatalf("%s = %q: %s\n%s", p, v, diags, res.Out)
				}
				attrs := (&hclFinder{}).find(f.Body.(*hclsyntax.Body), strings.Split(p, "."), "", 0)
				if len(attrs) != 1 {
					t.Fatalf("%s = %q: %d attributes", p, v, len(attrs))
				}
				got, diags := attrs[0].Expr.Value(nil)
				if diags.HasErrors() {
					t.Fatalf("%s = %q: %s", p, v, diags)
				}
				if got.Type() == cty.Number {
					if n, err := cty.ParseNumberVal(v); err != nil || !n.Equals(got).True() {
						t.Fatalf("%s = %q: reads back as %#v", p, v, got)
					}
				} else if s, err := convert.Convert(got, cty.String); err != nil || s.AsString() != v {
					t.Fatalf("%s = %q: reads back as %#v", p, v, got)
				}
			}
		}
	}
}
