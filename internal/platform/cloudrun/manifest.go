package cloudrun

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
	"strings"

	run "google.golang.org/api/run/v1"
	"gopkg.in/yaml.v3"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/gitops-pipe/pipe/internal/yamlalias"
	"github.com/gitops-pipe/pipe/internal/yamlpos"
)

const maxManifestSize = 1 << 20

// PipeCD's labels on the service and its revisions.
const (
	labelManagedBy    = "pipecd-dev-managed-by"
	labelApplication  = "pipecd-dev-application"
	labelCommitHash   = "pipecd-dev-commit-hash"
	labelRevisionName = "pipecd-dev-revision-name"
	managedByPipe     = "pipe"
)

// Manifest is a service manifest: a Knative serving.knative.dev/v1
// Service as a document (what is applied, with pipe's additions) and as
// the client's type (what was checked).
type Manifest struct {
	File string
	Doc  map[string]any
	Name string
	// Image is the first container's image.
	Image string
}

var yamlLineRe = regexp.MustCompile(`line (\d+): (.*)`)

// loadManifest reads an application's service manifest in the tree root.
func loadManifest(root string, app *config.App) (*Manifest, error) {
	spec, ok := app.Spec.(*config.CloudRunApplicationSpec)
	if !ok {
		return nil, fmt.Errorf("%s is a %s, not a CloudRunApp", app.Name, app.Kind)
	}
	file := spec.Input.ServiceManifestFile
	if file == "" {
		file = "service.yaml"
	}
	rel := path.Join(app.Dir, file)
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := fsafe.ReadFile(r, filepath.FromSlash(rel), maxManifestSize)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist: the service manifest (input.serviceManifestFile, default service.yaml)", rel)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	return parseManifest(rel, data)
}

func parseManifest(rel string, data []byte) (*Manifest, error) {
	var node yaml.Node
	if err := yaml.Unmarshal(data, &node); err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %v", rel, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := yamlalias.Check(&node); err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	var doc map[string]any
	if err := node.Decode(&doc); err != nil {
		if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", rel, m[1], m[2])
		}
		return nil, fmt.Errorf("%s: a service manifest is a mapping: %v", rel, err)
	}
	// Knative's fields are case-sensitive (encoding/json is not).
	if key, path := wrongCase(doc, reflect.TypeOf(run.Service{}), ""); key != "" {
		return nil, fmt.Errorf("%s: unknown field `%s` (did you mean `%s`? field names are case-sensitive)", yamlpos.At(rel, &node, key), key, path)
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", rel, err)
	}
	var svc run.Service
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&svc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "json: ")
		if f := yamlpos.UnknownField(err); f != "" {
			msg = "unknown field `" + f + "`"
		}
		return nil, fmt.Errorf("%s: %s (the file is a Knative serving.knative.dev/v1 Service, as `gcloud run services describe --format export` prints it)", yamlpos.At(rel, &node, yamlpos.UnknownField(err)), msg)
	}
	var problems []string
	if svc.ApiVersion != "serving.knative.dev/v1" || svc.Kind != "Service" {
		problems = append(problems, fmt.Sprintf("`apiVersion: serving.knative.dev/v1` and `kind: Service` are required (got %q, %q)", svc.ApiVersion, svc.Kind))
	}
	if svc.Metadata == nil || svc.Metadata.Name == "" {
		problems = append(problems, "`metadata.name` (the service's name) is required")
	}
	if svc.Spec == nil || svc.Spec.Template == nil || svc.Spec.Template.Spec == nil || len(svc.Spec.Template.Spec.Containers) == 0 ||
		svc.Spec.Template.Spec.Containers[0] == nil || svc.Spec.Template.Spec.Containers[0].Image == "" {
		problems = append(problems, "`spec.template.spec.containers[0].image` is required")
	} else {
		for i, c := range svc.Spec.Template.Spec.Containers {
			if c == nil {
				problems = append(problems, fmt.Sprintf("`spec.template.spec.containers[%d]` is empty", i))
			}
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: %s", rel, strings.Join(problems, "; "))
	}
	return &Manifest{File: rel, Doc: doc, Name: svc.Metadata.Name, Image: svc.Spec.Template.Spec.Containers[0].Image}, nil
}

// tag is the image's tag ("latest" without one; a digest shortened).
func tag(image string) string {
	name := image[strings.LastIndex(image, "/")+1:]
	if i := strings.Index(name, "@"); i >= 0 {
		d := name[i+1:]
		if _, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
			return hex[:12]
		}
		return d
	}
	if i := strings.LastIndex(name, ":"); i >= 0 {
		return name[i+1:]
	}
	return "latest"
}

var invalidNameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// revisionName is PipeCD's deterministic revision name for a commit:
// SERVICE-TAG-COMMIT7 (the tag without dots, lower case, within the 63
// characters of a Knative name).
func revisionName(m *Manifest, commit string) string {
	t := invalidNameChars.ReplaceAllString(strings.ToLower(strings.ReplaceAll(tag(m.Image), ".", "")), "-")
	if len(commit) > 7 {
		commit = commit[:7]
	}
	name := m.Name + "-" + strings.Trim(t, "-") + "-" + commit
	if len(name) > 63 {
		over := len(name) - 63
		keep := len(t) - over
		if keep < 1 {
			keep = 1
		}
		if keep < len(t) {
			t = t[:keep]
		}
		name = m.Name + "-" + strings.Trim(t, "-") + "-" + commit
		if len(name) > 63 {
			name = name[:63]
		}
	}
	return strings.Trim(name, "-")
}

// target is the document applied for a commit: the manifest with the
// revision name, PipeCD's labels and the traffic.
func (m *Manifest) target(app, commit string, traffic []*run.TrafficTarget) (*run.Service, error) {
	doc := deepCopy(m.Doc).(map[string]any)
	rev := revisionName(m, commit)
	meta := sub(doc, "metadata")
	labels := sub(meta, "labels")
	for k, v := range map[string]string{labelManagedBy: managedByPipe, labelApplication: app, labelCommitHash: commit, labelRevisionName: rev} {
		labels[k] = v
	}
	tmeta := sub(sub(doc, "spec", "template"), "metadata")
	tmeta["name"] = rev
	tl := sub(tmeta, "labels")
	for k, v := range map[string]string{labelManagedBy: managedByPipe, labelApplication: app, labelCommitHash: commit, labelRevisionName: rev} {
		tl[k] = v
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var svc run.Service
	if err := json.Unmarshal(js, &svc); err != nil {
		return nil, fmt.Errorf("%s: %w", m.File, err)
	}
	svc.Spec.Traffic = traffic
	return &svc, nil
}

// sub returns the map at keys under m, creating it.
func sub(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	return m
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// wrongCase finds a key of doc that matches a field of t only
// case-insensitively; it returns the key and the field's name.
func wrongCase(v any, t reflect.Type, path string) (string, string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return "", ""
		}
		for k, val := range m {
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "" || name == "-" || !strings.EqualFold(name, k) {
					continue
				}
				if name != k {
					return k, name
				}
				if key, p := wrongCase(val, f.Type, path+"."+name); key != "" {
					return key, p
				}
			}
		}
	case reflect.Slice:
		if l, ok := v.([]any); ok {
			for _, e := range l {
				if key, p := wrongCase(e, t.Elem(), path); key != "" {
					return key, p
				}
			}
		}
	}
	return "", ""
}
