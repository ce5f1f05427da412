package lambda

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/docdiff"
	"github.com/gitops-pipe/pipe/internal/manifest"
	"github.com/gitops-pipe/pipe/internal/plan"
)

// RuleVersionChange: the code's version (image tag, S3 object version,
// Git ref) changed: the pipeline, as PipeCD's Lambda planner decides.
const RuleVersionChange plan.Rule = "version-change"

// Details are a LambdaApp plan's own facts (plan.Plan.Details).
type Details struct {
	Function string `json:"function"`
	// Code says where the head's code comes from; CodeSource is image,
	// s3 or git.
	Code       string `json:"code"`
	CodeSource string `json:"codeSource"`
	Version    string `json:"version"`
	// RunningVersion is the running commit's code version.
	RunningVersion string `json:"runningVersion,omitempty"`
	// Alias is the live routing of the alias Service (live plans only).
	Alias string `json:"alias,omitempty"`
	// Fields are the configuration fields that change, as the function
	// manifest names them.
	Fields []string `json:"fields,omitempty"`
}

// planInput is everything the Lambda planner decides from.
type planInput struct {
	plan.Input
	Spec *config.LambdaApplicationSpec
	Head Target
	// Compared is what the head is compared with: the running commit's
	// function, a --base revision's, or the live one; nil when there is
	// nothing (every field is added).
	Compared *Target
	// CompareCommit is the commit of Compared (the running commit or
	// --base); nil for a live plan or when there is nothing to compare.
	CompareCommit *plan.Commit
	// Running is the running commit's function (the planner's rules read
	// its version); nil for a first deployment.
	Running *Target
	// Live marks a comparison with the live function; LiveRouting is its
	// alias routing then.
	Live        bool
	LiveRouting *routing
	// Mask renders environment values in diffs.
	Mask masker
}

// planLambda plans a deployment of a LambdaApp. The strategy is decided
// by the first rule that applies, in PipeCD's order for Lambda:
//
//  1. forced by the command (--strategy);
//  2. no pipeline configured: quick sync;
//  3. planner.alwaysUsePipeline: pipeline;
//  4. commitMatcher.pipeline, then commitMatcher.quickSync;
//  5. no successful deployment recorded: quick sync (the first
//     deployment);
//  6. the code's version changed: pipeline ("Sync with pipeline to update
//     version from X to Y");
//  7. otherwise the pipeline ("Sync with the specified pipeline").
func planLambda(in planInput) (*plan.Plan, error) {
	spec := in.Spec
	input := in.Input
	input.Spec = spec.Generic()
	version := in.Head.Code.Version()
	if in.Head.Missing != nil {
		version = versionUnknown
	}
	p, err := plan.New(input, plan.Kind{
		QuickSync:         plan.Stage{ID: "LambdaSync", Name: config.StageLambdaSync, Desc: "Deploy the new version and configure all traffic to it"},
		AutoRollback:      spec.AutoRollbackEnabled(config.KindLambdaApp),
		NoPipelineReason:  fmt.Sprintf("Quick sync to deploy version %s and configure all traffic to it (pipeline was not configured)", version),
		CommitMatchReason: fmt.Sprintf("Quick sync to deploy version %s and configure all traffic to it", version),
		Decide: func() (plan.Decision, error) {
			if in.Running == nil {
				return plan.Decision{Strategy: plan.StrategyQuickSync, Rule: plan.RuleFirstDeployment,
					Reason: fmt.Sprintf("Quick sync to deploy version %s and configure all traffic to it (it seems this is the first deployment)", version)}, nil
			}
			old := in.Running.Code.Version()
			if in.Running.Missing != nil {
				old = versionUnknown
			}
			if old != version || in.Running.Code.Kind != in.Head.Code.Kind {
				return plan.Decision{Strategy: plan.StrategyPipeline, Rule: RuleVersionChange,
					Reason: fmt.Sprintf("Sync with pipeline to update version from %s to %s", old, version)}, nil
			}
			return plan.Decision{Strategy: plan.StrategyPipeline, Rule: plan.RuleOtherChange, Reason: "Sync with the specified pipeline"}, nil
		},
	})
	if err != nil {
		return nil, err
	}
	p.App.Kind = string(config.KindLambdaApp)
	p.Version = version
	d := Details{Function: in.Head.Config.Name, Code: in.Head.Code.String(), CodeSource: in.Head.Code.Kind, Version: version}
	if in.Running != nil {
		d.RunningVersion = in.Running.Code.Version()
	}
	var change *plan.Change
	if in.Head.Missing == nil {
		change, d.Fields = functionChange(in)
	} else {
		p.Compared = "nothing: " + in.Head.Missing.Error()
	}
	if change != nil {
		p.Changes = []plan.Change{*change}
	}
	p.Summary = plan.Summarize(p.Changes)
	if !in.Live && in.Compared != nil && in.CompareCommit != nil {
		c := *in.CompareCommit
		p.Base = &c
	}
	if in.Live {
		p.Mode = plan.ModeLive
		alias := "no alias " + AliasName + " yet"
		if in.LiveRouting != nil {
			alias = "alias " + AliasName + ": " + in.LiveRouting.Describe()
		}
		p.Compared = fmt.Sprintf("the live function %s (%s) with the head's function manifest", in.Head.Config.Name, alias)
		d.Alias = in.LiveRouting.Describe()
		live := "absent"
		if in.Compared != nil {
			live = docdiff.Digest(in.Compared.Config.doc(nil))
		}
		p.Source.Live = &plan.LiveFingerprint{Digest: live, Objects: map[string]string{changeKey(in.Head.Config.Name): live}}
	}
	if p.Details, err = json.Marshal(d); err != nil {
		return nil, err
	}
	p.Source.Desired = docdiff.Digest(map[string]any{"config": in.Head.Config.doc(nil), "code": in.Head.Code})
	p.Source.DesiredChanged = "the function manifest resolves differently than when the plan was made"
	return p, nil
}

// versionUnknown is the version of an app without a function manifest
// (PipeCD's).
const versionUnknown = "unknown"

func changeKey(name string) string { return "lambda:Function:" + name }

// functionChange is the change of the function between the compared
// side and the head (nil when there is none), and the fields that change.
func functionChange(in planInput) (*plan.Change, []string) {
	name := in.Head.Config.Name
	newDoc := withCode(in.Head, in.Live)
	var oldDoc map[string]any
	from := "running"
	if in.Compared != nil {
		oldDoc = withCode(*in.Compared, in.Live)
	}
	if in.Live {
		from = "live"
	} else if in.Running == nil && in.Compared != nil {
		from = "base"
	}
	oldMasked, newMasked := in.Mask.docs(in.Compared, &in.Head, oldDoc, newDoc)
	fields := changedFields(oldDoc, newDoc, "")
	if in.Compared != nil && len(fields) == 0 {
		return nil, nil
	}
	c := &plan.Change{Key: changeKey(name), Language: plan.LanguageDiff, Source: in.Head.Source,
		Diff: manifest.Diff(oldMasked, newMasked, "function "+name, from, "head", 3)}
	if in.Compared == nil {
		c.Action = plan.ActionAdd
		if in.Live {
			c.Note = "the function does not exist yet: it is created"
		}
	} else {
		c.Action = plan.ActionChange
	}
	return c, fields
}

// withCode is t's manifest document with its code, as the function
// manifest writes it; a live function shows no zip code's origin.
func withCode(t Target, live bool) map[string]any {
	m := t.Config.doc(nil)
	switch t.Code.Kind {
	case codeS3:
		if !live {
			m["s3Bucket"], m["s3Key"] = t.Code.S3Bucket, t.Code.S3Key
			if t.Code.S3Version != "" {
				m["s3ObjectVersion"] = t.Code.S3Version
			}
		}
	case codeGit:
		if !live {
			src := map[string]any{"git": t.Code.Git, "ref": t.Code.Ref}
			if t.Code.Path != "" {
				src["path"] = t.Code.Path
			}
			m["source"] = src
		}
	}
	return m
}

// changedFields lists the dotted paths whose values differ.
func changedFields(a, b map[string]any, prefix string) []string {
	var out []string
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	for _, k := range sortedSet(keys) {
		av, bv := a[k], b[k]
		am, aok := av.(map[string]any)
		bm, bok := bv.(map[string]any)
		if aok || bok {
			out = append(out, changedFields(am, bm, prefix+k+".")...)
			continue
		}
		if !reflect.DeepEqual(av, bv) {
			out = append(out, prefix+k)
		}
	}
	return out
}

func sortedSet(m map[string]bool) []string {
	s := make(map[string]string, len(m))
	for k := range m {
		s[k] = ""
	}
	return sortedKeys(s)
}
