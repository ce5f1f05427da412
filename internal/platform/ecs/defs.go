package ecs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"gopkg.in/yaml.v3"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/gitops-pipe/pipe/internal/yamlalias"
	"github.com/gitops-pipe/pipe/internal/yamlpos"
)

// maxDefinitionSize bounds a task or service definition file.
const maxDefinitionSize = 1 << 20

// ServiceDef is a service definition file: ECS's Service shape, plus the
// `cluster` and `role` names PipeCD's files use for its ARNs.
type ServiceDef struct {
	types.Service
}

// Definitions are an application's task definition and, unless it is a
// standalone task, its service definition, as its files say.
type Definitions struct {
	Task    types.TaskDefinition
	Service *ServiceDef
	// TaskFile and ServiceFile are the files (repository-relative).
	TaskFile, ServiceFile string
	// Missing says that the task definition file does not exist (the
	// rest is empty then).
	Missing error
	// taskDoc and serviceDoc are the files' documents, for diffs.
	taskDoc, serviceDoc map[string]any
}

// loadDefinitions reads the application's definitions in the tree root.
func loadDefinitions(root string, app *config.App) (*Definitions, error) {
	spec, ok := app.Spec.(*config.ECSApplicationSpec)
	if !ok {
		return nil, fmt.Errorf("%s is a %s, not an ECSApp", app.Name, app.Kind)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	d := &Definitions{}
	taskFile := spec.Input.TaskDefinitionFile
	if taskFile == "" {
		taskFile = "taskdef.json"
	}
	d.TaskFile = path.Join(app.Dir, taskFile)
	if _, err := r.Lstat(filepath.FromSlash(d.TaskFile)); errors.Is(err, os.ErrNotExist) {
		// PipeCD plans such an app (version "unknown"); its stages refuse.
		d.Missing = fmt.Errorf("%s does not exist: the task definition (input.taskDefinitionFile, default taskdef.json) is what the ECS stages deploy", d.TaskFile)
		return d, nil
	}
	if d.taskDoc, err = readDoc(r, d.TaskFile, &d.Task, nil); err != nil {
		return nil, err
	}
	if err := checkTask(d.TaskFile, &d.Task); err != nil {
		return nil, err
	}
	if !spec.Input.IsStandaloneTask() {
		d.ServiceFile = path.Join(app.Dir, spec.Input.ServiceDefinitionFile)
		s := &ServiceDef{}
		extra := map[string]*string{"cluster": nil, "role": nil}
		if d.serviceDoc, err = readDoc(r, d.ServiceFile, &s.Service, extra); err != nil {
			return nil, err
		}
		if s.ClusterArn == nil {
			s.ClusterArn = extra["cluster"]
		}
		if s.RoleArn == nil {
			s.RoleArn = extra["role"]
		}
		if err := checkService(d.ServiceFile, s); err != nil {
			return nil, err
		}
		d.Service = s
	}
	return d, nil
}

// readDoc reads a YAML or JSON file of the repository into v (an SDK
// type, whose field names match the file's case-insensitively, as
// PipeCD reads them). A field v does not have is an error at its
// file:line; extra names fields taken aside (their string values).
func readDoc(root *os.Root, rel string, v any, extra map[string]*string) (map[string]any, error) {
	data, err := fsafe.ReadFile(root, filepath.FromSlash(rel), maxDefinitionSize)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist", rel)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	var node yaml.Node
	if err := yaml.Unmarshal(data, &node); err != nil {
		return nil, fmt.Errorf("%s: invalid YAML or JSON: %v", rel, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := yamlalias.Check(&node); err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	var doc map[string]any
	if err := node.Decode(&doc); err != nil {
		if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", rel, m[1], m[2])
		}
		return nil, fmt.Errorf("%s: a definition is a mapping of fields: %v", rel, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	for k := range extra {
		if s, ok := doc[k].(string); ok {
			extra[k] = &s
			delete(doc, k)
		}
	}
	// As sigs.k8s.io/yaml (PipeCD's reader) does: a number or a boolean
	// where the shape has a string (cpu: 256) is that string; a string
	// where it has a list of strings is a list of one.
	js, err := json.Marshal(coerce(doc, reflect.TypeOf(v)))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", rel, err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		where, key := locate(rel, &node, err)
		return nil, fmt.Errorf("%s: %s", where, jsonMessage(err, key))
	}
	for k, p := range extra {
		if p != nil {
			doc[k] = *p
		}
	}
	return doc, nil
}

var (
	yamlLineRe = regexp.MustCompile(`line (\d+): (.*)`)
)

// locate is file:line:column of the key a JSON decoding error names (or
// the file), and the key as the file writes it.
func locate(rel string, root *yaml.Node, err error) (string, string) {
	key := yamlpos.UnknownField(err)
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		key = ute.Field
		if i := strings.LastIndexByte(key, '.'); i >= 0 {
			key = key[i+1:]
		}
	}
	if key == "" {
		return rel, ""
	}
	if n := yamlpos.FindKey(root, key); n != nil {
		return fmt.Sprintf("%s:%d:%d", rel, n.Line, n.Column), n.Value
	}
	return rel, key
}

func jsonMessage(err error, key string) string {
	if f := yamlpos.UnknownField(err); f != "" {
		return fmt.Sprintf("unknown field `%s` (the file is ECS's own JSON shape, e.g. what `aws ecs describe-task-definition` or `describe-services` prints)", f)
	}
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		field := ute.Field
		if key != "" {
			field = key
		}
		return fmt.Sprintf("field `%s` is a %s here, expected %s", field, ute.Value, ute.Type.String())
	}
	return err.Error()
}

func checkTask(file string, td *types.TaskDefinition) error {
	var problems []string
	if deref(td.Family) == "" {
		problems = append(problems, "`family` is required")
	}
	if len(td.ContainerDefinitions) == 0 {
		problems = append(problems, "`containerDefinitions` is empty: a task has at least one container")
	}
	for i, c := range td.ContainerDefinitions {
		if deref(c.Name) == "" {
			problems = append(problems, fmt.Sprintf("containerDefinitions[%d].name is required", i))
		}
		if deref(c.Image) == "" {
			problems = append(problems, fmt.Sprintf("containerDefinitions[%d].image is required", i))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", file, strings.Join(problems, "; "))
	}
	return nil
}

func checkService(file string, s *ServiceDef) error {
	var problems []string
	if deref(s.ServiceName) == "" {
		problems = append(problems, "`serviceName` is required")
	}
	if deref(s.ClusterArn) == "" {
		problems = append(problems, "`cluster` is required (the cluster's ARN or name)")
	}
	if s.DeploymentController == nil || s.DeploymentController.Type != types.DeploymentControllerTypeExternal {
		problems = append(problems, "`deploymentController: {type: EXTERNAL}` is required: pipe deploys the service's task sets itself")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", file, strings.Join(problems, "; "))
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// coerce converts the scalars of a decoded document that t has as
// strings (numbers, booleans) into strings, recursively.
func coerce(v any, t reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		switch x := v.(type) {
		case int:
			return strconv.Itoa(x)
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			return strconv.FormatBool(x)
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(m))
		for k, val := range m {
			if f, ok := fieldByNameCI(t, k); ok {
				out[k] = coerce(val, f.Type)
			} else {
				out[k] = val
			}
		}
		return out
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			if _, scalar := v.(string); scalar && t.Elem().Kind() == reflect.String {
				// `command: /start`: a list of one.
				return []any{v}
			}
			return v
		}
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = coerce(e, t.Elem())
		}
		return out
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(m))
		for k, val := range m {
			out[k] = coerce(val, t.Elem())
		}
		return out
	}
	return v
}

// fieldByNameCI finds an exported field as encoding/json matches a key.
func fieldByNameCI(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.IsExported() && strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
