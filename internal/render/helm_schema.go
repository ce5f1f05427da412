package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/gitops-pipe/pipe/internal/redact"
	"github.com/santhosh-tekuri/jsonschema/v6"
	chart "helm.sh/helm/v4/pkg/chart/v2"
)

// schemaFile is the name of a chart's JSON Schema for its values.
const schemaFile = "values.schema.json"

// maxRemoteSchemas bounds the http(s) documents the schemas of one chart
// may refer to.
const maxRemoteSchemas = 32

// validateValues checks the coalesced values against the values.schema.json
// of the chart and of each dependency with values, like Helm's
// ValidateAgainstSchema: all violations are reported together, the error
// located at the first failing schema. Unlike Helm, a schema may not refer
// to files of the machine (file://), and its http(s) references are
// downloaded through the renderer, bounded.
func (r *Renderer) validateValues(ctx context.Context, ch *helmChart, c *chart.Chart, vals map[string]any) error {
	l := &schemaLoader{ctx: ctx, r: r}
	var (
		report strings.Builder
		first  string
	)
	var walk func(c *chart.Chart, vals map[string]any) error
	walk = func(c *chart.Chart, vals map[string]any) error {
		if c.Schema != nil {
			file := path.Join(c.ChartFullPath(), schemaFile)
			msg, err := l.validate(c.Schema, vals)
			if err != nil {
				return &Error{File: ch.templateFile(file), Err: fmt.Errorf("helm template %s: %w", ch.desc, err)}
			}
			if msg != "" {
				fmt.Fprintf(&report, "%s:\n%s\n", c.Name(), msg)
				if first == "" {
					first = file
				}
			}
		}
		for _, sub := range c.Dependencies() {
			raw, ok := vals[sub.Name()]
			if !ok || raw == nil {
				continue
			}
			m, ok := raw.(map[string]any)
			if !ok {
				fmt.Fprintf(&report, "%s:\ninvalid type for values: expected object (map), got %T\n", sub.Name(), raw)
				if first == "" {
					first = path.Join(sub.ChartFullPath(), schemaFile)
				}
				continue
			}
			if err := walk(sub, m); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(c, vals); err != nil {
		return err
	}
	if report.Len() == 0 {
		return nil
	}
	return &Error{File: ch.templateFile(first), Err: fmt.Errorf(
		"helm template %s: the values do not match the chart's %s (fix the values in helmOptions, or the schema):\n%s",
		ch.desc, schemaFile, strings.TrimRight(report.String(), "\n"))}
}

// schemaLoader loads what schemas refer to: http(s) through the renderer,
// urn: as Helm (a permissive schema), nothing else.
type schemaLoader struct {
	ctx    context.Context
	r      *Renderer
	remote int
}

// validate compiles a schema and checks values against it; it returns the
// violations (Helm's wording), or an error when the schema is unusable.
func (l *schemaLoader) validate(schema []byte, vals map[string]any) (msg string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("unable to validate the schema: %v", p)
		}
	}()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return "", fmt.Errorf("not valid JSON: %w", err)
	}
	const loc = "file:///" + schemaFile
	comp := jsonschema.NewCompiler()
	comp.UseLoader(l)
	if err := comp.AddResource(loc, doc); err != nil {
		return "", err
	}
	sch, err := comp.Compile(loc)
	if err != nil {
		return "", fmt.Errorf("invalid schema: %w", err)
	}
	verr := sch.Validate(vals)
	if verr == nil {
		return "", nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(verr, &ve) {
		return "", verr
	}
	return strings.TrimPrefix(ve.Error(), "jsonschema validation failed with '"+loc+"#'\n"), nil
}

// Load implements jsonschema.URLLoader.
func (l *schemaLoader) Load(raw string) (any, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http", "https":
		if l.remote++; l.remote > maxRemoteSchemas {
			return nil, fmt.Errorf("the schemas refer to more than %d remote documents", maxRemoteSchemas)
		}
		b, err := l.r.get(l.ctx, "the schema", raw)
		if err != nil {
			return nil, err
		}
		return jsonschema.UnmarshalJSON(bytes.NewReader(b))
	case "urn":
		// Helm's default: an unresolved URN is a schema allowing anything.
		return true, nil
	}
	return nil, fmt.Errorf("a chart's schema may refer to http(s) documents only, not to files of the machine rendering it (Helm resolves %s from the file system's root, not from the chart)", redact.URL(raw))
}
