package config

// ECSApplicationSpec is the spec of an ECSApp: an ECS service (task
// definition + service definition) or a standalone task (task definition
// only).
type ECSApplicationSpec struct {
	GenericApplicationSpec
	// Input for ECS deployment: the definition files, target groups...
	Input ECSDeploymentInput `json:"input"`
	// Configuration for quick sync.
	QuickSync ECSSyncStageOptions `json:"quickSync"`
}

// ECS access types: how the service receives traffic.
const (
	ECSAccessTypeELB              = "ELB"
	ECSAccessTypeServiceDiscovery = "SERVICE_DISCOVERY"
)

// ECSDeploymentInput describes what to deploy and how it is reached.
type ECSDeploymentInput struct {
	// The ARN of the cluster; used to run a standalone task.
	ClusterArn string `json:"clusterArn,omitempty"`
	// The launch type of a standalone task.
	LaunchType string `json:"launchType" jsonschema:"default=FARGATE,enum=FARGATE,enum=EC2,enum=EXTERNAL"`
	// The network configuration of a standalone task in awsvpc mode.
	AwsVpcConfiguration ECSVpcConfiguration `json:"awsvpcConfiguration"`
	// The service definition file (YAML or JSON), relative to the
	// application directory. Empty means the application is a standalone
	// task: only the task definition is registered and run.
	ServiceDefinitionFile string `json:"serviceDefinitionFile,omitempty"`
	// The task definition file (YAML or JSON), relative to the application
	// directory.
	TaskDefinitionFile string `json:"taskDefinitionFile" jsonschema:"default=taskdef.json"`
	// The target groups the task sets are registered to (access type ELB).
	TargetGroups ECSTargetGroups `json:"targetGroups"`
	// Automatically revert all changes when a stage fails.
	AutoRollback bool `json:"autoRollback" jsonschema:"default=true"`
	// Run the task of a standalone-task application; false only registers
	// its task definition.
	RunStandaloneTask bool `json:"runStandaloneTask" jsonschema:"default=true"`
	// How the service is reached: ELB (through the target groups) or
	// SERVICE_DISCOVERY (ECS service discovery; no traffic routing stage).
	AccessType string `json:"accessType" jsonschema:"default=ELB,enum=ELB,enum=SERVICE_DISCOVERY"`
}

// IsStandaloneTask reports whether the application is a task, not a service.
func (in *ECSDeploymentInput) IsStandaloneTask() bool { return in.ServiceDefinitionFile == "" }

// IsAccessedViaELB reports whether traffic reaches the service through ELB target groups.
func (in *ECSDeploymentInput) IsAccessedViaELB() bool { return in.AccessType == ECSAccessTypeELB }

// ECSVpcConfiguration is the awsvpc network configuration of a standalone task.
type ECSVpcConfiguration struct {
	// The subnets the task runs in.
	Subnets []string `json:"subnets,omitempty"`
	// Whether the task gets a public IP: ENABLED or DISABLED.
	AssignPublicIP string `json:"assignPublicIp,omitempty" jsonschema:"enum=ENABLED,enum=DISABLED"`
	// The security groups of the task.
	SecurityGroups []string `json:"securityGroups,omitempty"`
}

// ECSTargetGroups are the load balancer target groups of the variants.
type ECSTargetGroups struct {
	// The target group of the PRIMARY task set.
	Primary *ECSTargetGroup `json:"primary,omitempty"`
	// The target group of the CANARY task set; needed for traffic routing.
	Canary *ECSTargetGroup `json:"canary,omitempty"`
}

// ECSTargetGroup is an ECS load balancer entry (as in the ECS API's LoadBalancer).
type ECSTargetGroup struct {
	// The ARN of an ALB/NLB target group.
	TargetGroupArn string `json:"targetGroupArn,omitempty"`
	// The name of a Classic Load Balancer (instead of a target group).
	LoadBalancerName string `json:"loadBalancerName,omitempty"`
	// The container that receives the traffic.
	ContainerName string `json:"containerName" jsonschema:"required"`
	// The port of that container.
	ContainerPort int `json:"containerPort" jsonschema:"required,minimum=1,maximum=65535"`
}

// ECSSyncStageOptions are the options of an ECS_SYNC stage and of quick sync.
type ECSSyncStageOptions struct {
	// Delete the old task sets before creating the new one. The service may
	// be unavailable for a short time.
	Recreate bool `json:"recreate,omitempty"`
}

// ECSCanaryRolloutStageOptions are the options of an ECS_CANARY_ROLLOUT stage.
type ECSCanaryRolloutStageOptions struct {
	// The size of the CANARY task set, as a percentage of the PRIMARY's
	// desired count. Required: Validate reports it missing (a `jsonschema`
	// required tag would make the decoder report it twice, the second time
	// at no line); the schema generator (schemagen) marks it required.
	Scale Percentage `json:"scale"`
}

// ECSTrafficRoutingStageOptions are the options of an ECS_TRAFFIC_ROUTING
// stage: set one of primary or canary; the other gets the rest.
type ECSTrafficRoutingStageOptions struct {
	// The percentage of the traffic routed to the PRIMARY variant.
	Primary *Percentage `json:"primary,omitempty"`
	// The percentage of the traffic routed to the CANARY variant.
	Canary *Percentage `json:"canary,omitempty"`
}

// Split returns the traffic split: the written side and 100 minus it; all to
// PRIMARY when neither is written. (PipeCD treats a written 0 as unset; pipe
// takes it literally: `primary: 0` sends everything to CANARY.)
func (o ECSTrafficRoutingStageOptions) Split() (primary, canary int) {
	switch {
	case o.Primary != nil:
		return o.Primary.Number, 100 - o.Primary.Number
	case o.Canary != nil:
		return 100 - o.Canary.Number, o.Canary.Number
	}
	return 100, 0
}

// Stage names of ECS applications.
const (
	StageECSSync           StageName = "ECS_SYNC"
	StageECSCanaryRollout  StageName = "ECS_CANARY_ROLLOUT"
	StageECSPrimaryRollout StageName = "ECS_PRIMARY_ROLLOUT"
	StageECSCanaryClean    StageName = "ECS_CANARY_CLEAN"
	StageECSTrafficRouting StageName = "ECS_TRAFFIC_ROUTING"
)

func ecsStages() map[StageName]stageSpec {
	k := []Kind{KindECSApp}
	return map[StageName]stageSpec{
		StageECSSync:           {kinds: k, options: func() any { return &ECSSyncStageOptions{} }},
		StageECSCanaryRollout:  {kinds: k, options: func() any { return &ECSCanaryRolloutStageOptions{} }, requiresWith: true},
		StageECSPrimaryRollout: {kinds: k},
		StageECSCanaryClean:    {kinds: k},
		StageECSTrafficRouting: {kinds: k, options: func() any { return &ECSTrafficRoutingStageOptions{} }},
	}
}

// AutoRollbackEnabled reports whether a failed deployment is rolled back
// automatically: planner.autoRollback when written, else input.autoRollback
// (PipeCD's switch; default true).
func (s *ECSApplicationSpec) AutoRollbackEnabled(Kind) bool {
	if s.Planner.AutoRollback != nil {
		return *s.Planner.AutoRollback
	}
	return s.Input.AutoRollback
}

// Validate implements validatable.
func (s *ECSApplicationSpec) Validate(c *Checker, path string) {
	s.GenericApplicationSpec.Validate(c, path)
	c.checkAutoRollbackAgreement(path, s.Planner.AutoRollback, s.Input.AutoRollback)
	in := &s.Input
	ipath := path + ".input"
	if c.Has(ipath + ".serviceDefinitionFile") {
		c.CheckFileRef(ipath+".serviceDefinitionFile", in.ServiceDefinitionFile, "", RefFile)
	}
	c.checkManifestFile(ipath+".taskDefinitionFile", in.TaskDefinitionFile, "taskdef.json")
	accessOK := c.checkEnum(ipath+".accessType", in.AccessType, ECSAccessTypeELB, ECSAccessTypeServiceDiscovery)
	c.checkEnum(ipath+".launchType", in.LaunchType, "FARGATE", "EC2", "EXTERNAL")

	if accessOK && !in.IsAccessedViaELB() && (in.TargetGroups.Primary != nil || in.TargetGroups.Canary != nil) {
		c.Warnf(ipath+".targetGroups", "remove targetGroups, or use accessType ELB",
			"targetGroups is not used with accessType %s", in.AccessType)
	}
	stages := stagesOf(&s.GenericApplicationSpec, path)
	if in.IsStandaloneTask() {
		// Task sets, variants and routing need a service: warn once, at the
		// first stage that needs one.
		for _, st := range stages {
			if name := st.Stage.Name; name == StageECSCanaryRollout || name == StageECSPrimaryRollout || name == StageECSCanaryClean || name == StageECSTrafficRouting {
				c.Warnf(st.Path+".name", "set input.serviceDefinitionFile, or deploy the task with quick sync",
					"%s and the other variant stages need an ECS service, but the application has no serviceDefinitionFile: it is a standalone task", name)
				break
			}
		}
		return
	}
	for _, st := range stages {
		name := st.Stage.Name
		if name != StageECSTrafficRouting || !accessOK {
			continue
		}
		if !in.IsAccessedViaELB() {
			c.Errorf(st.Path+".name", "with service discovery, traffic follows the task counts: remove this stage",
				"ECS_TRAFFIC_ROUTING is not supported with accessType SERVICE_DISCOVERY")
		} else if in.TargetGroups.Primary == nil || in.TargetGroups.Canary == nil {
			c.Warnf(st.Path+".name", "set input.targetGroups.primary and input.targetGroups.canary",
				"ECS_TRAFFIC_ROUTING routes between two target groups, but the application does not have both")
		}
	}
}

// Validate implements validatable.
func (v *ECSVpcConfiguration) Validate(c *Checker, path string) {
	if c.Has(path + ".assignPublicIp") {
		c.checkEnum(path+".assignPublicIp", v.AssignPublicIP, "ENABLED", "DISABLED")
	}
}

// Validate implements validatable.
func (t *ECSTargetGroup) Validate(c *Checker, path string) {
	if t.TargetGroupArn == "" && t.LoadBalancerName == "" {
		c.Errorf(path, "set targetGroupArn (ALB/NLB) or loadBalancerName (Classic Load Balancer)", "the target group has neither targetGroupArn nor loadBalancerName")
	}
	if c.Has(path+".containerPort") && (t.ContainerPort < 1 || t.ContainerPort > 65535) {
		c.Errorf(path+".containerPort", "", "port %d is out of range 1-65535", t.ContainerPort)
	}
}

// Validate implements validatable.
func (o *ECSCanaryRolloutStageOptions) Validate(c *Checker, path string) {
	if c.Has(path) && !c.Has(path+".scale") {
		c.Errorf(path, "write e.g. `scale: 30` (percent of the PRIMARY's tasks)", "missing required field `scale`")
	}
}

// Validate implements validatable.
func (o *ECSTrafficRoutingStageOptions) Validate(c *Checker, path string) {
	if o.Primary != nil && o.Canary != nil && o.Primary.Number+o.Canary.Number != 100 {
		c.Errorf(path, "set only one of them; the other gets the rest",
			"primary (%d%%) and canary (%d%%) do not add up to 100%%", o.Primary.Number, o.Canary.Number)
	}
}

// unknownFieldHint explains ECS input fields that PipeCD once had.
func (*ECSDeploymentInput) unknownFieldHint(key string) string {
	switch key {
	case "vpcConfigurationFile", "clusterDefinitionFile":
		return "removed from PipeCD: use clusterArn and awsvpcConfiguration"
	case "listenerRuleSelector":
		return "removed from PipeCD: every listener rule forwarding to the target groups is routed"
	}
	return ""
}
