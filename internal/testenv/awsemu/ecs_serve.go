package awsemu

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// maxECSRequest bounds a request body.
const maxECSRequest = 10 << 20

var ecsNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// ecsOps are the ECS operations the emulator serves. Each runs under e.mu
// after ecsBegin.
var ecsOps = map[string]func(e *Emulator, body []byte) (any, *apiError){
	"CreateCluster":               (*Emulator).ecsCreateCluster,
	"DescribeClusters":            (*Emulator).ecsDescribeClusters,
	"ListClusters":                (*Emulator).ecsListClusters,
	"DeleteCluster":               (*Emulator).ecsDeleteCluster,
	"RegisterTaskDefinition":      (*Emulator).ecsRegisterTaskDefinition,
	"DescribeTaskDefinition":      (*Emulator).ecsDescribeTaskDefinition,
	"DeregisterTaskDefinition":    (*Emulator).ecsDeregisterTaskDefinition,
	"ListTaskDefinitions":         (*Emulator).ecsListTaskDefinitions,
	"CreateService":               (*Emulator).ecsCreateService,
	"UpdateService":               (*Emulator).ecsUpdateService,
	"DescribeServices":            (*Emulator).ecsDescribeServices,
	"DeleteService":               (*Emulator).ecsDeleteService,
	"ListServices":                (*Emulator).ecsListServices,
	"CreateTaskSet":               (*Emulator).ecsCreateTaskSet,
	"UpdateTaskSet":               (*Emulator).ecsUpdateTaskSet,
	"UpdateServicePrimaryTaskSet": (*Emulator).ecsUpdatePrimaryTaskSet,
	"DeleteTaskSet":               (*Emulator).ecsDeleteTaskSet,
	"DescribeTaskSets":            (*Emulator).ecsDescribeTaskSets,
	"RunTask":                     (*Emulator).ecsRunTask,
	"StopTask":                    (*Emulator).ecsStopTask,
	"ListTasks":                   (*Emulator).ecsListTasks,
	"DescribeTasks":               (*Emulator).ecsDescribeTasks,
	"TagResource":                 (*Emulator).ecsTagResource,
	"UntagResource":               (*Emulator).ecsUntagResource,
	"ListTagsForResource":         (*Emulator).ecsListTagsForResource,
	"ListTaskDefinitionFamilies":  (*Emulator).ecsListFamilies,
}

// serveECS serves the awsJson1_1 protocol: POST / with X-Amz-Target.
func (e *Emulator) serveECS(w http.ResponseWriter, r *http.Request, c *call, auth authErr, region string) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, ecsTargetPrefix)
	c.operation = op
	switch {
	case auth == authUnknownKey:
		writeECSError(w, ecsErr("UnrecognizedClientException", "The security token included in the request is invalid."))
		return
	case auth == authExpired:
		writeECSError(w, ecsErr("ExpiredTokenException", "The security token included in the request is expired"))
		return
	case region != e.region:
		writeECSError(w, &apiError{http.StatusForbidden, "InvalidSignatureException", "Credential should be scoped to a valid region. "})
		return
	}
	fn := ecsOps[op]
	if r.Method != http.MethodPost || !ok || fn == nil {
		c.operation = ""
		writeECSError(w, ecsErr("UnknownOperationException", "Operation is not supported: %s", target))
		return
	}
	if e.denied("ecs:" + op) {
		writeECSError(w, ecsErr("AccessDeniedException", "%s", deniedMessage(c.principal, "ecs:"+op, "*")))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxECSRequest))
	if err != nil {
		writeECSError(w, ecsErr("SerializationException", "the request body is too large or unreadable"))
		return
	}
	e.mu.Lock()
	e.ensureECS()
	e.ecsBegin()
	out, aerr := fn(e, body)
	reqID := e.uuid()
	e.mu.Unlock()
	w.Header().Set("X-Amzn-RequestId", reqID)
	if aerr != nil {
		writeECSError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(out)
}

// cluster resolves a cluster name or ARN ("" is default).
func (e *Emulator) cluster(ref string) (*ecsCluster, *apiError) {
	if ref == "" {
		ref = "default"
	}
	c := e.ecs.clusters[ecsName(ref)]
	if c == nil {
		return nil, ecsErr("ClusterNotFoundException", "Cluster not found.")
	}
	return c, nil
}

func (e *Emulator) ecsCreateCluster(body []byte) (any, *apiError) {
	var in struct {
		ClusterName *string         `json:"clusterName"`
		Tags        []ecsTag        `json:"tags"`
		Settings    json.RawMessage `json:"settings"`
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	name := "default"
	if in.ClusterName != nil {
		name = *in.ClusterName
	}
	if !ecsNameRE.MatchString(name) {
		return nil, invalidParam("Cluster name can only contain alphanumeric characters, dashes and underscores, and must be between 1 and 255 characters long.")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	c := e.createCluster(name, in.Tags)
	if in.Settings != nil {
		c.settings = in.Settings
	}
	return map[string]any{"cluster": e.clusterWire(c)}, nil
}

func checkTags(tags []ecsTag) *apiError {
	if len(tags) > 50 {
		return invalidParam("The number of tags exceeds the limit of 50.")
	}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return invalidParam("Tag keys must be between 1 and 128 characters and values at most 256 characters.")
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return invalidParam("Tag keys cannot begin with the reserved prefix aws:.")
		}
	}
	return nil
}

func (e *Emulator) ecsDescribeClusters(body []byte) (any, *apiError) {
	var in struct {
		Clusters []string `json:"clusters"`
		Include  []string `json:"include"`
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	if len(in.Clusters) == 0 {
		in.Clusters = []string{"default"}
	}
	clusters, failures := []clusterWire{}, []ecsFailure{}
	for _, ref := range in.Clusters {
		c := e.ecs.clusters[ecsName(ref)]
		if c == nil {
			failures = append(failures, ecsFailure{Arn: e.ecsARN("cluster", ecsName(ref)), Reason: "MISSING"})
			continue
		}
		cw := e.clusterWire(c)
		if !slices.Contains(in.Include, "TAGS") {
			cw.Tags = nil
		}
		clusters = append(clusters, cw)
	}
	return map[string]any{"clusters": clusters, "failures": failures}, nil
}

func (e *Emulator) ecsListClusters(body []byte) (any, *apiError) {
	if err := decodeECS(body, &struct{}{}); err != nil {
		return nil, err
	}
	arns := []string{}
	for _, n := range sortedKeys(e.ecs.clusters) {
		arns = append(arns, e.ecs.clusters[n].arn)
	}
	return map[string]any{"clusterArns": arns}, nil
}

func (e *Emulator) ecsDeleteCluster(body []byte) (any, *apiError) {
	var in struct {
		Cluster string `json:"cluster"`
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	c, err := e.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	for _, s := range c.services {
		if s.status != "INACTIVE" {
			return nil, ecsErr("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")
		}
	}
	for _, t := range c.tasks {
		if !t.stopped(e.now(), e.ecs.seq) {
			return nil, ecsErr("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
		}
	}
	cw := e.clusterWire(c)
	cw.Status = "INACTIVE"
	delete(e.ecs.clusters, c.name)
	return map[string]any{"cluster": cw}, nil
}
