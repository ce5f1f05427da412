package awsemu

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

const scriptUsage = `usage: awsemu start [delay] | fail-next-update FUNCTION REASON... | throttle N | deny ACTION | delay DURATION |
       alias FUNCTION ALIAS | function FUNCTION | versions FUNCTION | put-object BUCKET KEY FILE | calls OPERATION | set-env FUNCTION K=V |
       cluster NAME | alb NAME | weights LISTENER | tasksets CLUSTER SERVICE | service CLUSTER SERVICE | fail-tasks IMAGE REASON... |
       set-desired CLUSTER SERVICE N | kms-key ALIAS | kms-disable KEY`

// ScriptCmd is the testscript command that runs an emulator per script:
//
//	awsemu start [delay]              start one (UpdateDelay delay, default 0); set AWS_ENDPOINT_URL,
//	                                  AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
//	                                  AWS_EC2_METADATA_DISABLED and AWS_CONFIG_FILE /
//	                                  AWS_SHARED_CREDENTIALS_FILE (to a path under $WORK that does not exist)
//	awsemu fail-next-update FUNCTION REASON...
//	awsemu throttle N
//	awsemu deny ACTION                ("" clears)
//	awsemu delay DURATION
//	awsemu alias FUNCTION ALIAS       print version=N[ weights=V:W.WW,...]
//	awsemu function FUNCTION          print $LATEST as indented JSON (code omitted)
//	awsemu versions FUNCTION          print "N sha=... memory=... env=k=v,..." per published version
//	awsemu put-object BUCKET KEY FILE put a file of the script, print its version ID
//	awsemu calls OPERATION            print how many requests of OPERATION were made
//	awsemu set-env FUNCTION K=V       change $LATEST's environment out of band (V "" removes K)
//	awsemu cluster NAME               create an ECS cluster
//	awsemu alb NAME                   SetupALB; set ALB_ARN, ALB_LISTENER, BLUE_TG, GREEN_TG, OTHER_TG,
//	                                  ALB_RULE_10 and ALB_RULE_20
//	awsemu weights LISTENER           print "PRIORITY tg=W ..." per rule, "default tg=W ..." last
//	                                  (target groups by name less the load balancer's NAME- prefix, sorted)
//	awsemu tasksets CLUSTER SERVICE   print "STATUS scale=N% running=R/D stability=S taskdef=F:REV tg=T" per
//	                                  task set, the PRIMARY first
//	awsemu service CLUSTER SERVICE    print "STATUS desired=D running=R pending=P taskdef=F:REV controller=C"
//	awsemu fail-tasks IMAGE REASON... make tasks of IMAGE stop with REASON, exit code 1 ("" "" clears)
//	awsemu set-desired CLUSTER SERVICE N  change a service's desired count out of band
//	awsemu kms-key ALIAS              create a KMS key and alias/ALIAS of it; print its ARN, set KMS_KEY_ARN
//	awsemu kms-disable KEY            disable a KMS key (key ID, key ARN, alias name or alias ARN)
func ScriptCmd() func(ts *testscript.TestScript, neg bool, args []string) {
	var mu sync.Mutex
	emus := map[*testscript.TestScript]*Emulator{}
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) == 0 {
			ts.Fatalf("%s", scriptUsage)
		}
		if neg {
			ts.Fatalf("awsemu does not support !")
		}
		mu.Lock()
		e := emus[ts]
		mu.Unlock()
		if args[0] != "start" && e == nil {
			ts.Fatalf("awsemu start first")
		}
		want := func(n int) {
			if len(args) != n {
				ts.Fatalf("%s", scriptUsage)
			}
		}
		out := ts.Stdout()
		switch args[0] {
		case "start":
			if e != nil {
				ts.Fatalf("awsemu already started")
			}
			var delay time.Duration
			if len(args) > 2 {
				ts.Fatalf("%s", scriptUsage)
			}
			if len(args) == 2 {
				d, err := time.ParseDuration(args[1])
				ts.Check(err)
				delay = d
			}
			emu, srv := Start(Options{UpdateDelay: delay})
			ts.Defer(srv.Close)
			ts.Defer(func() {
				mu.Lock()
				delete(emus, ts)
				mu.Unlock()
			})
			mu.Lock()
			emus[ts] = emu
			mu.Unlock()
			for k, v := range ClientEnv(srv.URL, emu.Region()) {
				ts.Setenv(k, v)
			}
			ts.Setenv("AWS_CONFIG_FILE", ts.MkAbs("aws-config-does-not-exist"))
			ts.Setenv("AWS_SHARED_CREDENTIALS_FILE", ts.MkAbs("aws-credentials-do-not-exist"))
		case "fail-next-update":
			if len(args) < 3 {
				ts.Fatalf("%s", scriptUsage)
			}
			e.FailNextUpdate(args[1], strings.Join(args[2:], " "))
		case "throttle":
			want(2)
			n, err := strconv.Atoi(args[1])
			ts.Check(err)
			e.Throttle(n)
		case "deny":
			want(2)
			e.Deny(args[1])
		case "delay":
			want(2)
			d, err := time.ParseDuration(args[1])
			ts.Check(err)
			e.SetUpdateDelay(d)
		case "alias":
			want(3)
			a, ok := e.Alias(args[1], args[2])
			if !ok {
				ts.Fatalf("no alias %s of %s", args[2], args[1])
			}
			fmt.Fprintln(out, FormatAlias(a))
		case "function":
			want(2)
			f, ok := e.Function(args[1])
			if !ok {
				ts.Fatalf("no function %s", args[1])
			}
			f.Code = nil
			b, err := json.MarshalIndent(f, "", "  ")
			ts.Check(err)
			fmt.Fprintf(out, "%s\n", b)
		case "versions":
			want(2)
			for _, v := range e.Versions(args[1]) {
				if v.Version != "" {
					fmt.Fprintln(out, FormatVersion(v))
				}
			}
		case "put-object":
			want(4)
			data, err := os.ReadFile(ts.MkAbs(args[3]))
			ts.Check(err)
			fmt.Fprintln(out, e.PutObject(args[1], args[2], data))
		case "calls":
			want(2)
			fmt.Fprintln(out, e.Calls(args[1]))
		case "set-env":
			want(3)
			k, v, ok := strings.Cut(args[2], "=")
			if !ok {
				ts.Fatalf("set-env FUNCTION K=V")
			}
			if !e.SetEnvironment(args[1], k, v) {
				ts.Fatalf("no function %s", args[1])
			}
		default:
			if !ecsScriptCmd(ts, e, args) && !kmsScriptCmd(ts, e, args) {
				ts.Fatalf("%s", scriptUsage)
			}
		}
	}
}

// ecsScriptCmd runs the ECS and ELBv2 subcommands; false when args[0] is
// not one.
func ecsScriptCmd(ts *testscript.TestScript, e *Emulator, args []string) bool {
	out := ts.Stdout()
	want := func(n int) {
		if len(args) != n {
			ts.Fatalf("%s", scriptUsage)
		}
	}
	lines := func(ls []string, ok bool, what string) {
		if !ok {
			ts.Fatalf("no %s", what)
		}
		for _, l := range ls {
			fmt.Fprintln(out, l)
		}
	}
	switch args[0] {
	case "cluster":
		want(2)
		fmt.Fprintln(out, e.CreateCluster(args[1]))
	case "alb":
		want(2)
		a := e.SetupALB(args[1])
		for k, v := range map[string]string{"ALB_ARN": a.LoadBalancerARN, "ALB_LISTENER": a.ListenerARN, "BLUE_TG": a.BlueTG,
			"GREEN_TG": a.GreenTG, "OTHER_TG": a.OtherTG, "ALB_RULE_10": a.RuleARNs[0], "ALB_RULE_20": a.RuleARNs[1]} {
			ts.Setenv(k, v)
		}
	case "weights":
		want(2)
		ls, ok := e.FormatWeights(args[1])
		lines(ls, ok, "listener "+args[1])
	case "tasksets":
		want(3)
		ls, ok := e.FormatTaskSets(args[1], args[2])
		lines(ls, ok, "service "+args[2]+" in cluster "+args[1])
	case "service":
		want(3)
		l, ok := e.FormatService(args[1], args[2])
		lines([]string{l}, ok, "service "+args[2]+" in cluster "+args[1])
	case "fail-tasks":
		if len(args) < 2 {
			ts.Fatalf("%s", scriptUsage)
		}
		e.FailTasks(args[1], strings.Join(args[2:], " "))
	case "set-desired":
		want(4)
		n, err := strconv.Atoi(args[3])
		ts.Check(err)
		if !e.SetDesiredCount(args[1], args[2], int32(n)) {
			ts.Fatalf("no active service %s in cluster %s", args[2], args[1])
		}
	default:
		return false
	}
	return true
}

// ClientEnv is the environment that points the AWS SDKs at an emulator
// serving at url.
func ClientEnv(url, region string) map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":          url,
		"AWS_REGION":                region,
		"AWS_ACCESS_KEY_ID":         AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     SecretAccessKey,
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}

// FormatAlias is "version=3" and, when routed, " weights=2:0.10" (sorted,
// two decimals).
func FormatAlias(a Alias) string {
	s := "version=" + a.FunctionVersion
	if len(a.AdditionalVersionWeights) > 0 {
		var ws []string
		for _, k := range slices.Sorted(maps.Keys(a.AdditionalVersionWeights)) {
			ws = append(ws, fmt.Sprintf("%s:%.2f", k, a.AdditionalVersionWeights[k]))
		}
		s += " weights=" + strings.Join(ws, ",")
	}
	return s
}

// FormatVersion is "N sha=<CodeSha256> memory=<MemorySize> env=<sorted k=v,...>".
func FormatVersion(v Function) string {
	var env []string
	for _, k := range slices.Sorted(maps.Keys(v.Environment)) {
		env = append(env, k+"="+v.Environment[k])
	}
	return fmt.Sprintf("%s sha=%s memory=%d env=%s", v.Version, v.CodeSha256, v.MemorySize, strings.Join(env, ","))
}
