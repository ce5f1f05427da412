package ecs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// liveState is what runs: the service and its primary task set's task
// definition, as documents shaped like the definition files.
type liveState struct {
	Service *types.Service
	Primary *types.TaskSet
	Task    *types.TaskDefinition
	Defs    *Definitions
}

// observe reads the live service of the head's service definition and the
// task definition its primary task set runs; nil when the service does
// not exist.
func (c *client) observe(ctx context.Context, head *Definitions) (*liveState, error) {
	def := head.Service
	svc, err := c.service(ctx, deref(def.ClusterArn), deref(def.ServiceName))
	if err != nil || svc == nil {
		return nil, err
	}
	ls := &liveState{Service: svc, Defs: &Definitions{TaskFile: head.TaskFile, ServiceFile: head.ServiceFile}}
	sets, err := c.taskSets(ctx, svc)
	if err != nil {
		return nil, err
	}
	for i := range sets {
		if deref(sets[i].Status) == "PRIMARY" {
			ls.Primary = &sets[i]
		}
	}
	if ls.Primary != nil {
		out, err := c.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: ls.Primary.TaskDefinition})
		if err != nil {
			return nil, apiError("DescribeTaskDefinition", shortARN(deref(ls.Primary.TaskDefinition)), err)
		}
		ls.Task = out.TaskDefinition
		ls.Defs.Task = *out.TaskDefinition
		if ls.Defs.taskDoc, err = docOf(out.TaskDefinition); err != nil {
			return nil, err
		}
	}
	ls.Defs.Service = &ServiceDef{Service: *svc}
	if ls.Defs.serviceDoc, err = docOf(svc); err != nil {
		return nil, err
	}
	tags := map[string]any{}
	for _, t := range svc.Tags {
		tags[deref(t.Key)] = deref(t.Value)
	}
	ls.Defs.serviceDoc["tags"] = tags
	return ls, nil
}

// summary says what runs: "task definition web:7 (primary, 2/2 tasks)".
func (ls *liveState) summary() string {
	if ls == nil {
		return "no service yet"
	}
	if ls.Primary == nil {
		return fmt.Sprintf("service %s has no primary task set", deref(ls.Service.ServiceName))
	}
	return fmt.Sprintf("primary task set runs %s, %d/%d tasks", shortARN(deref(ls.Primary.TaskDefinition)), ls.Primary.RunningCount, ls.Primary.ComputedDesiredCount)
}

// docOf is an SDK value as a document (its JSON).
func docOf(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

var _ = aws.String
