package awsemu

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Task definitions: RegisterTaskDefinition, DescribeTaskDefinition,
// DeregisterTaskDefinition, ListTaskDefinitions(, Families).

func (e *Emulator) ecsRegisterTaskDefinition(body []byte) (any, *apiError) {
	var raw map[string]json.RawMessage
	if err := decodeECS(body, &raw); err != nil {
		return nil, err
	}
	var in struct {
		Family                  *string           `json:"family"`
		ContainerDefinitions    []ecsContainerDef `json:"containerDefinitions"`
		Tags                    []ecsTag          `json:"tags"`
		Cpu                     *string           `json:"cpu"`
		Memory                  *string           `json:"memory"`
		NetworkMode             *string           `json:"networkMode"`
		RequiresCompatibilities []string          `json:"requiresCompatibilities"`
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	if in.Family == nil || *in.Family == "" {
		return nil, clientErr("Family must not be null or empty.")
	}
	family := *in.Family
	if !ecsNameRE.MatchString(family) {
		return nil, clientErr("Family contains invalid characters. Up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.")
	}
	if len(in.ContainerDefinitions) == 0 {
		return nil, clientErr("Container list cannot be empty.")
	}
	seen := map[string]bool{}
	for _, c := range in.ContainerDefinitions {
		if c.Name == "" {
			return nil, clientErr("Container.name should not be null or empty.")
		}
		if c.Image == "" {
			return nil, clientErr("Container.image should not be null or empty.")
		}
		if seen[c.Name] {
			return nil, clientErr("Container names must be unique within a task definition.")
		}
		seen[c.Name] = true
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	td := &ecsTaskDef{family: family, raw: raw, body: slices.Clone(body), containers: in.ContainerDefinitions,
		status: "ACTIVE", registeredAt: e.now(), tags: in.Tags, requiresCompt: in.RequiresCompatibilities}
	if in.Cpu != nil {
		td.cpu = *in.Cpu
	}
	if in.Memory != nil {
		td.memory = *in.Memory
	}
	if in.NetworkMode != nil {
		td.networkMode = *in.NetworkMode
	}
	if slices.Contains(in.RequiresCompatibilities, "FARGATE") {
		switch {
		case td.networkMode != "awsvpc":
			return nil, clientErr("Fargate only supports network mode ‘awsvpc’.")
		case td.cpu == "":
			return nil, clientErr("Fargate requires that 'cpu' be defined at the task level.")
		case td.memory == "":
			return nil, clientErr("Fargate requires that 'memory' be defined at the task level.")
		}
	}
	delete(raw, "tags")
	revs := e.ecs.families[family]
	td.revision = int32(len(revs) + 1)
	td.arn = e.ecsARN("task-definition", family+":"+strconv.Itoa(int(td.revision)))
	e.ecs.families[family] = append(revs, td)
	return map[string]any{"taskDefinition": e.taskDefinitionWire(td), "tags": nonNilTags(td.tags)}, nil
}

func (e *Emulator) ecsDescribeTaskDefinition(body []byte) (any, *apiError) {
	var in struct {
		TaskDefinition string   `json:"taskDefinition"`
		Include        []string `json:"include"`
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	td := e.findTaskDef(in.TaskDefinition, true)
	if td == nil {
		return nil, clientErr("Unable to describe task definition.")
	}
	out := map[string]any{"taskDefinition": e.taskDefinitionWire(td)}
	if slices.Contains(in.Include, "TAGS") {
		out["tags"] = nonNilTags(td.tags)
	}
	return out, nil
}

func (e *Emulator) ecsDeregisterTaskDefinition(body []byte) (any, *apiError) {
	var in struct {
		TaskDefinition string `json:"taskDefinition"`
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	ref := in.TaskDefinition
	if strings.HasPrefix(ref, "arn:") {
		_, ref, _ = strings.Cut(ref, ":task-definition/")
	}
	if !strings.Contains(ref, ":") {
		return nil, clientErr("Invalid revision number. Number: %s", ref)
	}
	td := e.findTaskDef(ref, true)
	if td == nil {
		return nil, clientErr("The specified task definition does not exist.")
	}
	if td.status == "ACTIVE" {
		td.status, td.deregistered = "INACTIVE", e.now()
	}
	return map[string]any{"taskDefinition": e.taskDefinitionWire(td)}, nil
}

func (e *Emulator) ecsListTaskDefinitions(body []byte) (any, *apiError) {
	var in struct {
		FamilyPrefix string `json:"familyPrefix"`
		Status       string `json:"status"`
		Sort         string `json:"sort"`
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	if in.Status == "" {
		in.Status = "ACTIVE"
	}
	arns := []string{}
	for _, f := range sortedKeys(e.ecs.families) {
		if in.FamilyPrefix != "" && f != in.FamilyPrefix {
			continue
		}
		for _, td := range e.ecs.families[f] {
			if in.Status == "ALL" || td.status == in.Status {
				arns = append(arns, td.arn)
			}
		}
	}
	if in.Sort == "DESC" {
		slices.Reverse(arns)
	}
	return map[string]any{"taskDefinitionArns": arns}, nil
}

func (e *Emulator) ecsListFamilies(body []byte) (any, *apiError) {
	var in struct {
		FamilyPrefix string `json:"familyPrefix"`
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	fams := []string{}
	for _, f := range sortedKeys(e.ecs.families) {
		if strings.HasPrefix(f, in.FamilyPrefix) {
			fams = append(fams, f)
		}
	}
	return map[string]any{"families": fams}, nil
}
