package config

import (
	"io"
	"strings"
	"text/template"
)

// EventWatcherConfig updates files of the application when a matching event
// is registered (`pipe event register`).
type EventWatcherConfig struct {
	// Which events are handled.
	Matcher EventWatcherMatcher `json:"matcher" jsonschema:"required"`
	// What is done for a matching event.
	Handler EventWatcherHandler `json:"handler" jsonschema:"required"`
}

// EventWatcherMatcher selects events by name and labels.
type EventWatcherMatcher struct {
	// The event name.
	Name string `json:"name" jsonschema:"required"`
	// Labels the event must have; they tell apart events of the same name.
	Labels map[string]string `json:"labels,omitempty"`
}

// Validate implements validatable.
func (m *EventWatcherMatcher) Validate(c *Checker, path string) {
	if c.Has(path+".name") && strings.TrimSpace(m.Name) == "" {
		c.Errorf(path+".name", "", "the event name must not be empty")
	}
}

// EventWatcherHandler says how a matching event is handled.
type EventWatcherHandler struct {
	// The handler type; only GIT_UPDATE exists.
	Type string `json:"type" jsonschema:"required,enum=GIT_UPDATE"`
	// The handler's settings.
	Config EventWatcherHandlerConfig `json:"config" jsonschema:"required"`
}

// Validate implements validatable.
func (h *EventWatcherHandler) Validate(c *Checker, path string) {
	if c.Has(path+".type") && h.Type != "GIT_UPDATE" {
		c.Errorf(path+".type", enumHint(h.Type, []string{"GIT_UPDATE"}), "unknown event handler type %q", h.Type)
	}
}

// EventWatcherHandlerConfig configures the GIT_UPDATE handler.
type EventWatcherHandlerConfig struct {
	// The commit message of the update; a default message is used when empty.
	CommitMessage string `json:"commitMessage,omitempty"`
	// Push the update to a new branch and open a pull request instead of pushing to the branch.
	MakePullRequest bool `json:"makePullRequest,omitempty"`
	// Where the event's value is written.
	Replacements []EventWatcherConfigReplacement `json:"replacements" jsonschema:"required"`
}

// Validate implements validatable.
func (h *EventWatcherHandlerConfig) Validate(c *Checker, path string) {
	if h.CommitMessage != "" {
		t, err := template.New("commitMessage").Parse(h.CommitMessage)
		if err == nil {
			// Render with empty data: a field that does not exist is caught
			// here, a label or context that is missing only with the event.
			err = t.Execute(io.Discard, struct {
				Value, EventName, App string
				Labels, Contexts      map[string]string
			}{})
		}
		if err != nil {
			c.Errorf(path+".commitMessage", "the template sees {{ .Value }}, {{ .EventName }}, {{ .Labels }}, {{ .Contexts }} and {{ .App }}",
				"commitMessage is not a valid template: %v", strings.TrimPrefix(err.Error(), "template: "))
		}
	}
	if c.Has(path+".replacements") && len(h.Replacements) == 0 {
		c.Errorf(path+".replacements", "add a replacement: file and one of yamlField, jsonField, hclField, regex", "an event handler needs at least one replacement")
	}
}

// EventWatcherConfigReplacement is one place updated with the event's value.
type EventWatcherConfigReplacement struct {
	// The file to update, relative to the application directory.
	File string `json:"file" jsonschema:"required"`
	// YAML path of the field to update, starting at the root `$` (e.g. `$.spec.template.spec.containers[0].image`).
	YAMLField string `json:"yamlField,omitempty"`
	// JSON path of the field to update, starting at the root `$`.
	JSONField string `json:"jsonField,omitempty"`
	// HCL path of the field to update.
	HCLField string `json:"hclField,omitempty"`
	// Regular expression whose first capturing group is replaced by the value.
	Regex string `json:"regex,omitempty"`
}

// Validate implements validatable.
func (r *EventWatcherConfigReplacement) Validate(c *Checker, path string) {
	if c.Has(path + ".file") {
		c.CheckFileRef(path+".file", r.File, "", RefFile)
	}
	var set []string
	for _, f := range []struct{ name, v string }{{"yamlField", r.YAMLField}, {"jsonField", r.JSONField}, {"hclField", r.HCLField}, {"regex", r.Regex}} {
		if f.v != "" {
			set = append(set, f.name)
		}
	}
	switch len(set) {
	case 0:
		c.Errorf(path, "set one of yamlField, jsonField, hclField or regex", "the replacement says nothing about what to replace")
	case 1:
	default:
		c.Errorf(path+"."+set[1], "use one replacement per field", "the replacement sets both %s and %s", set[0], set[1])
	}
	for _, f := range []struct{ name, v string }{{"yamlField", r.YAMLField}, {"jsonField", r.JSONField}} {
		if f.v != "" && !strings.HasPrefix(f.v, "$") {
			c.Errorf(path+"."+f.name, "start the path at the root: `$."+strings.TrimPrefix(f.v, ".")+"`", "%s must start with `$`", f.name)
		}
	}
	if re := checkRegexp(c, path+".regex", r.Regex); re != nil && re.NumSubexp() == 0 {
		c.Errorf(path+".regex", "enclose the part to replace in parentheses, e.g. `image: repo/app:(v[0-9.]+)`",
			"the regex has no capturing group to replace")
	}
}
