package lambda

import (
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/gitops-pipe/pipe/internal/config"
)

// AWS's defaults for what a function manifest may leave unset: a live
// function shows them.
const (
	defaultMemory           = 128
	defaultTimeout          = 3
	defaultEphemeralStorage = 512
	defaultArchitecture     = "x86_64"
)

// fnConfig is a function's configuration as pipe compares it, from Git
// (a function manifest) or from AWS (a function's live configuration),
// normalised: AWS's defaults filled in, lists that are sets sorted, empty
// maps nil. The code is Image for an image function; the code of a zip
// function is not part of it (AWS does not show where it came from).
type fnConfig struct {
	Name          string
	Role          string
	Image         string
	Handler       string
	Runtime       string
	Memory        int32
	Timeout       int32
	Ephemeral     int32
	Architectures []string
	Environment   map[string]string
	Tags          map[string]string
	Layers        []string
	Subnets       []string
	SecGroups     []string
}

// desiredConfig is the configuration a manifest asks for.
func desiredConfig(s *config.LambdaFunctionSpec) fnConfig {
	c := fnConfig{
		Name:        s.Name,
		Role:        s.Role,
		Image:       s.ImageURI,
		Handler:     s.Handler,
		Runtime:     s.Runtime,
		Memory:      s.Memory,
		Timeout:     s.Timeout,
		Environment: maps.Clone(s.Environments),
		Tags:        maps.Clone(s.Tags),
		Layers:      slices.Clone(s.Layers),
	}
	if s.EphemeralStorage != nil {
		c.Ephemeral = s.EphemeralStorage.Size
	}
	for _, a := range s.Architectures {
		c.Architectures = append(c.Architectures, a.Name)
	}
	if s.VPCConfig != nil {
		c.Subnets = slices.Clone(s.VPCConfig.SubnetIDs)
		c.SecGroups = slices.Clone(s.VPCConfig.SecurityGroupIDs)
	}
	return c.normalise()
}

// liveConfig is the configuration of a live function.
func liveConfig(fc *types.FunctionConfiguration, code *types.FunctionCodeLocation, tags map[string]string) fnConfig {
	c := fnConfig{
		Name:    deref(fc.FunctionName),
		Role:    deref(fc.Role),
		Handler: deref(fc.Handler),
		Runtime: string(fc.Runtime),
	}
	if fc.MemorySize != nil {
		c.Memory = *fc.MemorySize
	}
	if fc.Timeout != nil {
		c.Timeout = *fc.Timeout
	}
	if fc.EphemeralStorage != nil && fc.EphemeralStorage.Size != nil {
		c.Ephemeral = *fc.EphemeralStorage.Size
	}
	for _, a := range fc.Architectures {
		c.Architectures = append(c.Architectures, string(a))
	}
	if fc.Environment != nil {
		c.Environment = maps.Clone(fc.Environment.Variables)
	}
	for _, l := range fc.Layers {
		c.Layers = append(c.Layers, deref(l.Arn))
	}
	if fc.VpcConfig != nil {
		c.Subnets = slices.Clone(fc.VpcConfig.SubnetIds)
		c.SecGroups = slices.Clone(fc.VpcConfig.SecurityGroupIds)
	}
	if fc.PackageType == types.PackageTypeImage && code != nil {
		c.Image = deref(code.ImageUri)
	}
	// Tags AWS adds itself (aws:cloudformation:..., aws:...) are no one's
	// to compare.
	for k, v := range tags {
		if strings.HasPrefix(k, "aws:") {
			continue
		}
		if c.Tags == nil {
			c.Tags = map[string]string{}
		}
		c.Tags[k] = v
	}
	return c.normalise()
}

func (c fnConfig) normalise() fnConfig {
	if c.Memory == 0 {
		c.Memory = defaultMemory
	}
	if c.Timeout == 0 {
		c.Timeout = defaultTimeout
	}
	if c.Ephemeral == 0 {
		c.Ephemeral = defaultEphemeralStorage
	}
	if len(c.Architectures) == 0 {
		c.Architectures = []string{defaultArchitecture}
	}
	sort.Strings(c.Architectures)
	sort.Strings(c.Subnets)
	sort.Strings(c.SecGroups)
	if len(c.Environment) == 0 {
		c.Environment = nil
	}
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	if len(c.Layers) == 0 {
		c.Layers = nil
	}
	if len(c.Subnets) == 0 {
		c.Subnets = nil
	}
	if len(c.SecGroups) == 0 {
		c.SecGroups = nil
	}
	return c
}

// field is one compared field of a function's configuration, named as the
// function manifest names it.
type field struct {
	Path  string
	Value any
}

// fields lists c's fields, one per leaf (one per environment variable and
// tag), in manifest order: what drift and the configuration update
// compare. mask renders an environment value.
func (c fnConfig) fields(mask func(name, value string) string) []field {
	out := []field{
		{"role", c.Role},
		{"image", c.Image},
		{"handler", c.Handler},
		{"runtime", c.Runtime},
		{"memory", c.Memory},
		{"timeout", c.Timeout},
		{"ephemeralStorage.size", c.Ephemeral},
		{"architectures", strings.Join(c.Architectures, ",")},
		{"layers", strings.Join(c.Layers, ",")},
		{"vpcConfig.subnetIds", strings.Join(c.Subnets, ",")},
		{"vpcConfig.securityGroupIds", strings.Join(c.SecGroups, ",")},
	}
	for _, k := range sortedKeys(c.Environment) {
		v := c.Environment[k]
		if mask != nil {
			v = mask(k, v)
		}
		out = append(out, field{"environments." + k, v})
	}
	for _, k := range sortedKeys(c.Tags) {
		out = append(out, field{"tags." + k, c.Tags[k]})
	}
	return out
}

// doc renders c as the manifest's spec would, for diffs: set fields only
// (plus what AWS defaults), environment values rendered by mask.
func (c fnConfig) doc(mask func(name, value string) string) map[string]any {
	m := map[string]any{
		"name":             c.Name,
		"role":             c.Role,
		"memory":           int(c.Memory),
		"timeout":          int(c.Timeout),
		"ephemeralStorage": map[string]any{"size": int(c.Ephemeral)},
		"architectures":    toAny(c.Architectures),
	}
	if c.Image != "" {
		m["image"] = c.Image
	}
	if c.Handler != "" {
		m["handler"] = c.Handler
	}
	if c.Runtime != "" {
		m["runtime"] = c.Runtime
	}
	if c.Layers != nil {
		m["layers"] = toAny(c.Layers)
	}
	if c.Subnets != nil || c.SecGroups != nil {
		vpc := map[string]any{}
		if c.Subnets != nil {
			vpc["subnetIds"] = toAny(c.Subnets)
		}
		if c.SecGroups != nil {
			vpc["securityGroupIds"] = toAny(c.SecGroups)
		}
		m["vpcConfig"] = vpc
	}
	if c.Environment != nil {
		env := map[string]any{}
		for k, v := range c.Environment {
			if mask != nil {
				v = mask(k, v)
			}
			env[k] = v
		}
		m["environments"] = env
	}
	if c.Tags != nil {
		tags := map[string]any{}
		for k, v := range c.Tags {
			tags[k] = v
		}
		m["tags"] = tags
	}
	return m
}

// configEqual reports whether the configuration UpdateFunctionConfiguration
// sets is the same in a and b (the code, architectures and tags are
// updated by other calls).
func configEqual(a, b fnConfig) bool {
	return a.Role == b.Role && a.Handler == b.Handler && a.Runtime == b.Runtime &&
		a.Memory == b.Memory && a.Timeout == b.Timeout && a.Ephemeral == b.Ephemeral &&
		maps.Equal(a.Environment, b.Environment) && slices.Equal(a.Layers, b.Layers) &&
		slices.Equal(a.Subnets, b.Subnets) && slices.Equal(a.SecGroups, b.SecGroups)
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
