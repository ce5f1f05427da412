package awsemu

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Services: CreateService, UpdateService, DescribeServices, DeleteService,
// ListServices.

// serviceExtras are the members kept and returned as given.
var serviceExtras = []string{"placementConstraints", "placementStrategy", "deploymentConfiguration", "serviceRegistries",
	"capacityProviderStrategy", "healthCheckGracePeriodSeconds", "serviceConnectConfiguration", "volumeConfigurations",
	"vpcLatticeConfigurations", "availabilityZoneRebalancing"}

type serviceInput struct {
	Cluster              string             `json:"cluster"`
	ServiceName          *string            `json:"serviceName"`
	Service              *string            `json:"service"`
	TaskDefinition       *string            `json:"taskDefinition"`
	DesiredCount         *int32             `json:"desiredCount"`
	LoadBalancers        *[]ecsLoadBalancer `json:"loadBalancers"`
	NetworkConfiguration json.RawMessage    `json:"networkConfiguration"`
	LaunchType           *string            `json:"launchType"`
	PlatformVersion      *string            `json:"platformVersion"`
	SchedulingStrategy   *string            `json:"schedulingStrategy"`
	DeploymentController *struct {
		Type string `json:"type"`
	} `json:"deploymentController"`
	Tags                 []ecsTag `json:"tags"`
	PropagateTags        *string  `json:"propagateTags"`
	EnableECSManagedTags *bool    `json:"enableECSManagedTags"`
	EnableExecuteCommand *bool    `json:"enableExecuteCommand"`
	Role                 *string  `json:"role"`
	ForceNewDeployment   bool     `json:"forceNewDeployment"`
	Force                bool     `json:"force"`
	Include              []string `json:"include"`
	Services             []string `json:"services"`
}

func (e *Emulator) ecsCreateService(body []byte) (any, *apiError) {
	var raw map[string]json.RawMessage
	var in serviceInput
	if err := decodeECS(body, &raw); err != nil {
		return nil, err
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	c, err := e.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.ServiceName == nil || !ecsNameRE.MatchString(*in.ServiceName) {
		return nil, invalidParam("Service name can only contain alphanumeric characters, dashes and underscores, and must be between 1 and 255 characters long.")
	}
	if old := c.service(*in.ServiceName); old != nil && old.status != "INACTIVE" {
		return nil, invalidParam("Creation of service was not idempotent.")
	}
	s := &ecsService{cluster: c, name: *in.ServiceName, arn: e.ecsARN("service", c.name+"/"+*in.ServiceName), status: "ACTIVE",
		controller: "ECS", schedulingStrategy: "REPLICA", propagateTags: "NONE", createdAt: e.now(), extra: map[string]json.RawMessage{}}
	if in.DeploymentController != nil && in.DeploymentController.Type != "" {
		s.controller = in.DeploymentController.Type
	}
	switch s.controller {
	case "ECS", "EXTERNAL", "CODE_DEPLOY":
	default:
		return nil, invalidParam("Invalid deployment controller type %q.", s.controller)
	}
	var td *ecsTaskDef
	if in.TaskDefinition != nil {
		if td = e.findTaskDef(*in.TaskDefinition, false); td == nil {
			return nil, clientErr("TaskDefinition not found.")
		}
		s.taskDefinition = td.arn
	} else if s.controller == "ECS" {
		return nil, invalidParam("TaskDefinition must be specified.")
	}
	if in.DesiredCount != nil {
		if *in.DesiredCount < 0 {
			return nil, invalidParam("Desired count must be greater than or equal to 0.")
		}
		s.desired = *in.DesiredCount
	}
	if in.SchedulingStrategy != nil {
		if *in.SchedulingStrategy != "REPLICA" && *in.SchedulingStrategy != "DAEMON" {
			return nil, invalidParam("Invalid scheduling strategy %q.", *in.SchedulingStrategy)
		}
		s.schedulingStrategy = *in.SchedulingStrategy
	}
	if in.LaunchType != nil {
		s.launchType = *in.LaunchType
	} else if raw["capacityProviderStrategy"] == nil {
		s.launchType = "EC2"
	}
	if err := e.checkLaunch(s.launchType, td, in.NetworkConfiguration); err != nil {
		return nil, err
	}
	s.networkConfiguration = in.NetworkConfiguration
	if in.PlatformVersion != nil {
		s.platformVersion = *in.PlatformVersion
	} else if s.launchType == "FARGATE" {
		s.platformVersion = "LATEST"
	}
	if s.launchType == "FARGATE" {
		s.platformFamily = "Linux"
	}
	if in.LoadBalancers != nil {
		if err := e.checkLoadBalancers(*in.LoadBalancers, td); err != nil {
			return nil, err
		}
		s.loadBalancers = *in.LoadBalancers
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	s.tags = in.Tags
	if in.Role != nil {
		s.roleArn = *in.Role
	}
	s.applyOptions(&in, raw)
	if s.extra["deploymentConfiguration"] == nil {
		dc := `{"maximumPercent":200,"minimumHealthyPercent":100}`
		if s.controller == "ECS" {
			dc = `{"deploymentCircuitBreaker":{"enable":false,"rollback":false},"maximumPercent":200,"minimumHealthyPercent":100}`
		}
		s.extra["deploymentConfiguration"] = json.RawMessage(dc)
	}
	c.services = append(c.services, s)
	if s.controller == "ECS" {
		e.newDeployment(s, td)
	}
	e.settleService(s)
	return map[string]any{"service": e.serviceWire(s, true)}, nil
}

// applyOptions sets what CreateService and UpdateService both take as
// given: the tag and execute-command switches a request names, and the
// serviceExtras members it has.
func (s *ecsService) applyOptions(in *serviceInput, raw map[string]json.RawMessage) {
	if in.PropagateTags != nil {
		s.propagateTags = *in.PropagateTags
	}
	if in.EnableECSManagedTags != nil {
		s.enableManagedTags = *in.EnableECSManagedTags
	}
	if in.EnableExecuteCommand != nil {
		s.enableExecuteCommand = *in.EnableExecuteCommand
	}
	for _, k := range serviceExtras {
		if v, ok := raw[k]; ok {
			s.extra[k] = v
		}
	}
}

// newDeployment makes td the service's PRIMARY deployment; the previous
// one becomes ACTIVE and drains once the new one is steady.
func (e *Emulator) newDeployment(s *ecsService, td *ecsTaskDef) {
	for _, ts := range s.taskSets {
		if ts.status == "PRIMARY" {
			ts.status, ts.updatedAt = "ACTIVE", e.now()
		}
	}
	id := e.taskSetID()
	s.taskSets = append(s.taskSets, &ecsTaskSet{svc: s, id: id, arn: e.ecsARN("task-set", s.cluster.name+"/"+s.name+"/"+id),
		status: "PRIMARY", deployment: true, taskDef: td, scale: 100, launchType: s.launchType, platformVersion: s.platformVersion,
		loadBalancers: s.loadBalancers, networkConfiguration: s.networkConfiguration, createdAt: e.now(), updatedAt: e.now(), stability: "STABILIZING", stabilityAt: e.now()})
}

// taskSetID is ecs-svc/ and 19 digits.
func (e *Emulator) taskSetID() string {
	h := e.nextID("taskset")
	var b strings.Builder
	b.WriteString("ecs-svc/")
	for i := 0; b.Len() < len("ecs-svc/")+19; i++ {
		b.WriteByte('0' + h[i]%10)
	}
	return b.String()
}

// checkLaunch validates a launch type and network configuration against a
// task definition, as ECS words it.
func (e *Emulator) checkLaunch(launchType string, td *ecsTaskDef, netConf json.RawMessage) *apiError {
	switch launchType {
	case "", "EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES":
	default:
		return invalidParam("Invalid launch type %q.", launchType)
	}
	if netConf != nil {
		var nc struct {
			Awsvpc *struct {
				Subnets []string `json:"subnets"`
			} `json:"awsvpcConfiguration"`
		}
		if json.Unmarshal(netConf, &nc) != nil {
			return ecsErr("SerializationException", "Could not parse networkConfiguration.")
		}
		if nc.Awsvpc == nil || len(nc.Awsvpc.Subnets) == 0 {
			return invalidParam("subnets can not be empty.")
		}
	}
	if td == nil {
		return nil
	}
	if launchType == "FARGATE" && (td.networkMode != "awsvpc" || td.cpu == "" || td.memory == "") {
		return invalidParam("Task definition does not support launch_type FARGATE.")
	}
	if td.networkMode == "awsvpc" && netConf == nil {
		return invalidParam("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	if td.networkMode != "awsvpc" && netConf != nil {
		return invalidParam("Network Configuration is not valid for the given networkMode of this task definition.")
	}
	return nil
}

// checkLoadBalancers validates loadBalancers as ECS does: the target group
// exists and has a load balancer, the container and port exist.
func (e *Emulator) checkLoadBalancers(lbs []ecsLoadBalancer, td *ecsTaskDef) *apiError {
	for _, lb := range lbs {
		if lb.TargetGroupArn == "" {
			if lb.LoadBalancerName == "" {
				return invalidParam("Either targetGroupArn or loadBalancerName must be specified.")
			}
			continue
		}
		tg := e.elb.tgs[lb.TargetGroupArn]
		if tg == nil {
			return invalidParam("Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions.")
		}
		if len(e.tgLoadBalancers(tg)) == 0 {
			return invalidParam("The target group with targetGroupArn %s does not have an associated load balancer.", lb.TargetGroupArn)
		}
		if td == nil {
			continue
		}
		if td.networkMode == "awsvpc" && tg.targetType != "ip" {
			return invalidParam("The provided target group %s has target type %s, which is incompatible with the awsvpc network mode specified in the task definition.", lb.TargetGroupArn, tg.targetType)
		}
		var cd *ecsContainerDef
		for i := range td.containers {
			if td.containers[i].Name == lb.ContainerName {
				cd = &td.containers[i]
			}
		}
		if cd == nil {
			return invalidParam("The container %s does not exist in the task definition.", lb.ContainerName)
		}
		found := false
		for _, pm := range cd.PortMappings {
			if pm.ContainerPort != nil && lb.ContainerPort != nil && *pm.ContainerPort == *lb.ContainerPort {
				found = true
			}
		}
		if !found {
			port := "null"
			if lb.ContainerPort != nil {
				port = fmt.Sprint(*lb.ContainerPort)
			}
			return invalidParam("The container %s did not have a container port %s defined.", lb.ContainerName, port)
		}
	}
	return nil
}

// activeService resolves a service that must be ACTIVE.
func (e *Emulator) activeService(cluster string, ref *string) (*ecsService, *apiError) {
	c, err := e.cluster(cluster)
	if err != nil {
		return nil, err
	}
	if ref == nil || *ref == "" {
		return nil, invalidParam("Service must not be null or empty.")
	}
	s := c.service(*ref)
	if s == nil {
		return nil, ecsErr("ServiceNotFoundException", "Service not found.")
	}
	if s.status != "ACTIVE" {
		return nil, ecsErr("ServiceNotActiveException", "Service was not ACTIVE.")
	}
	return s, nil
}

// externalUpdatable are the members UpdateService accepts for a service
// with the EXTERNAL (or CODE_DEPLOY) deployment controller.
var externalUpdatable = []string{"cluster", "service", "desiredCount", "placementConstraints", "placementStrategy",
	"healthCheckGracePeriodSeconds", "enableECSManagedTags", "propagateTags", "forceNewDeployment"}

func (e *Emulator) ecsUpdateService(body []byte) (any, *apiError) {
	var raw map[string]json.RawMessage
	var in serviceInput
	if err := decodeECS(body, &raw); err != nil {
		return nil, err
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	s, err := e.activeService(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if s.controller != "ECS" {
		for _, k := range sortedKeys(raw) {
			if !slices.Contains(externalUpdatable, k) {
				if s.controller == "CODE_DEPLOY" {
					return nil, invalidParam("Unable to update %s on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.", k)
				}
				return nil, invalidParam("Unable to update %s on services with a EXTERNAL deployment controller. Use a new task set (CreateTaskSet) instead.", k)
			}
		}
		if in.ForceNewDeployment {
			return nil, invalidParam("Unable to force a new deployment on services with a %s deployment controller.", s.controller)
		}
	}
	td := s.primary()
	var newTD *ecsTaskDef
	if in.TaskDefinition != nil {
		if newTD = e.findTaskDef(*in.TaskDefinition, false); newTD == nil {
			return nil, clientErr("TaskDefinition not found.")
		}
	}
	cur := newTD
	if cur == nil && td != nil {
		cur = td.taskDef
	}
	netConf := s.networkConfiguration
	if raw["networkConfiguration"] != nil {
		netConf = in.NetworkConfiguration
	}
	launchType := s.launchType
	if in.LaunchType != nil {
		launchType = *in.LaunchType
	}
	if s.controller == "ECS" {
		if err := e.checkLaunch(launchType, cur, netConf); err != nil {
			return nil, err
		}
	}
	lbs := s.loadBalancers
	if in.LoadBalancers != nil {
		if err := e.checkLoadBalancers(*in.LoadBalancers, cur); err != nil {
			return nil, err
		}
		lbs = *in.LoadBalancers
	}
	if in.DesiredCount != nil {
		if *in.DesiredCount < 0 {
			return nil, invalidParam("Desired count must be greater than or equal to 0.")
		}
		s.desired = *in.DesiredCount
	}
	if in.PlatformVersion != nil {
		s.platformVersion = *in.PlatformVersion
	}
	s.applyOptions(&in, raw)
	changed := newTD != nil && (td == nil || td.taskDef != newTD) || in.ForceNewDeployment ||
		raw["networkConfiguration"] != nil || in.LoadBalancers != nil || launchType != s.launchType
	s.networkConfiguration, s.loadBalancers, s.launchType = netConf, lbs, launchType
	if newTD != nil {
		s.taskDefinition = newTD.arn
	}
	if s.controller == "ECS" && changed {
		e.newDeployment(s, cur)
		s.steady = false
	}
	e.settleService(s)
	return map[string]any{"service": e.serviceWire(s, false)}, nil
}

func (e *Emulator) ecsDescribeServices(body []byte) (any, *apiError) {
	var in serviceInput
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	c, err := e.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.Services) == 0 {
		return nil, invalidParam("Services cannot be empty.")
	}
	if len(in.Services) > 10 {
		return nil, invalidParam("Services cannot contain more than 10 items.")
	}
	services, failures := []map[string]any{}, []ecsFailure{}
	for _, ref := range in.Services {
		s := c.service(ref)
		if s == nil {
			failures = append(failures, ecsFailure{Arn: e.ecsARN("service", c.name+"/"+ecsName(ref)), Reason: "MISSING"})
			continue
		}
		services = append(services, e.serviceWire(s, slices.Contains(in.Include, "TAGS")))
	}
	return map[string]any{"services": services, "failures": failures}, nil
}

func (e *Emulator) ecsDeleteService(body []byte) (any, *apiError) {
	var in serviceInput
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	c, err := e.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.Service == nil {
		return nil, invalidParam("Service must not be null or empty.")
	}
	s := c.service(*in.Service)
	if s == nil || s.status == "INACTIVE" {
		return nil, ecsErr("ServiceNotFoundException", "Service not found.")
	}
	if s.status == "ACTIVE" {
		if s.desired > 0 && !in.Force && s.schedulingStrategy != "DAEMON" {
			return nil, invalidParam("The service cannot be stopped while it is scaled above 0.")
		}
		s.status, s.desired = "DRAINING", 0
		for _, ts := range s.taskSets {
			if !ts.deployment {
				ts.status = "DRAINING"
			}
		}
		e.settleService(s)
	}
	return map[string]any{"service": e.serviceWire(s, false)}, nil
}

func (e *Emulator) ecsListServices(body []byte) (any, *apiError) {
	var in struct {
		Cluster            string `json:"cluster"`
		LaunchType         string `json:"launchType"`
		SchedulingStrategy string `json:"schedulingStrategy"`
	}
	if err := decodeECS(body, &in); err != nil {
		return nil, err
	}
	c, err := e.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	arns := []string{}
	for _, s := range c.services {
		if s.status == "INACTIVE" || (in.LaunchType != "" && s.launchType != in.LaunchType) ||
			(in.SchedulingStrategy != "" && s.schedulingStrategy != in.SchedulingStrategy) {
			continue
		}
		arns = append(arns, s.arn)
	}
	return map[string]any{"serviceArns": arns}, nil
}
