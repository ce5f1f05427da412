package cloudrun

import (
	"context"
	"errors"
	"fmt"

	run "google.golang.org/api/run/v1"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
)

// Stage metadata keys of the Cloud Run stages.
const (
	metaTrafficBefore = "trafficBefore"
	metaRevision      = "revision"
	metaTraffic       = "traffic"
	metaLeftRevision  = "leftRevision"
	noTraffic         = "none"
)

// Runner runs the stages of a CloudRunApp (execute.Platform):
// CLOUDRUN_SYNC (the commit's revision, all traffic to it),
// CLOUDRUN_PROMOTE (a percentage to it, the rest to the running commit's
// revision) and ROLLBACK (all traffic back to the running revision).
type Runner struct {
	cl  *client
	App string
	// Head is the service manifest at the deployed commit HeadHash.
	Head     *Manifest
	HeadHash string
	// Running loads the manifest at the last successful deployment's
	// commit RunningHash; nil when there is none.
	Running     func(ctx context.Context) (*Manifest, error)
	RunningHash string
}

// RunStage implements execute.Platform.
func (r *Runner) RunStage(ctx context.Context, st *execute.Stage) error {
	r.cl.say = st.Emitf
	rev := revisionName(r.Head, r.HeadHash)
	switch st.Plan.Name {
	case config.StageCloudRunSync:
		return r.deploy(ctx, st, r.Head, r.HeadHash, []*run.TrafficTarget{{RevisionName: rev, Percent: 100}})
	case config.StageCloudRunPromote:
		percent := 0
		if st.Config != nil {
			if o, ok := st.Config.With.(*config.CloudRunPromoteStageOptions); ok && o != nil {
				percent = o.Percent.Number
			}
		}
		if percent == 100 {
			return r.deploy(ctx, st, r.Head, r.HeadHash, []*run.TrafficTarget{{RevisionName: rev, Percent: 100}})
		}
		old, err := r.previousRevision(ctx, st)
		if err != nil {
			return err
		}
		if old == rev {
			st.Emitf("revision %s already serves the running commit: all traffic to it", rev)
			return r.deploy(ctx, st, r.Head, r.HeadHash, []*run.TrafficTarget{{RevisionName: rev, Percent: 100}})
		}
		return r.deploy(ctx, st, r.Head, r.HeadHash, []*run.TrafficTarget{
			{RevisionName: rev, Percent: int64(percent)}, {RevisionName: old, Percent: int64(100 - percent)}})
	}
	return fmt.Errorf("stage %s is not a Cloud Run stage", st.Plan.Name)
}

// previousRevision is the revision the rest of the traffic goes to: the
// running commit's (PipeCD's), or, when it does not exist (the service was
// deployed another way), the one that served the most traffic before.
func (r *Runner) previousRevision(ctx context.Context, st *execute.Stage) (string, error) {
	if r.Running != nil {
		m, err := r.Running(ctx)
		if err != nil {
			return "", fmt.Errorf("the service manifest of the running commit %s: %w", short(r.RunningHash), err)
		}
		name := revisionName(m, r.RunningHash)
		ok, err := r.cl.revisionExists(ctx, name)
		if err != nil {
			return "", err
		}
		if ok {
			return name, nil
		}
	}
	if err := r.recordBefore(ctx, st); err != nil {
		return "", err
	}
	before, _ := st.Deployment.Record.StageMeta(metaTrafficBefore)
	ts, err := parseTraffic(before)
	if err == nil && len(ts) > 0 && ts[0].RevisionName != "" && ts[0].RevisionName != "LATEST" {
		return ts[0].RevisionName, nil
	}
	return "", errors.New("CLOUDRUN_PROMOTE splits the traffic with the running revision, and there is none (a first deployment): promote with percent: 100, or deploy once with a quick sync")
}

// recordBefore writes the service's traffic before the deployment changed
// anything, once, before the first change.
func (r *Runner) recordBefore(ctx context.Context, st *execute.Stage) error {
	if _, ok := st.Deployment.Record.StageMeta(metaTrafficBefore); ok {
		return nil
	}
	cur, err := r.cl.get(ctx, r.Head.Name)
	if err != nil {
		return err
	}
	v := noTraffic
	if cur != nil && cur.Status != nil {
		if t := traffic(cur.Status.Traffic); t != "" {
			v = t
		}
	}
	st.SetMeta(metaTrafficBefore, v)
	return st.Checkpoint()
}

// deploy applies m's service for commit with the traffic and waits for
// its revision.
func (r *Runner) deploy(ctx context.Context, st *execute.Stage, m *Manifest, commit string, t []*run.TrafficTarget) error {
	if err := r.recordBefore(ctx, st); err != nil {
		return err
	}
	svc, err := m.target(r.App, commit, t)
	if err != nil {
		return err
	}
	rev := revisionName(m, commit)
	st.SetMeta(metaRevision, rev)
	out, err := r.cl.apply(ctx, svc)
	if err != nil {
		return err
	}
	gen := int64(0)
	if out.Metadata != nil {
		gen = out.Metadata.Generation
	}
	if _, err := r.cl.waitReady(ctx, m.Name, gen, rev); err != nil {
		return err
	}
	st.SetMeta(metaTraffic, traffic(t))
	st.Emitf("service %s: %s", m.Name, describe(t))
	return st.Checkpoint()
}

func describe(t []*run.TrafficTarget) string {
	s := ""
	for i, x := range t {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %d%%", x.RevisionName, x.Percent)
	}
	return s
}

// Rollback implements execute.Platform: all traffic back to the running
// commit's revision (the service re-applied from its manifest); the new
// revision stays, at 0%, named in the record.
func (r *Runner) Rollback(ctx context.Context, st *execute.Stage) error {
	r.cl.say = st.Emitf
	if _, ok := st.Deployment.Record.StageMeta(metaTrafficBefore); !ok {
		st.Emitf("no Cloud Run stage had changed service %s: nothing to roll back", r.Head.Name)
		return nil
	}
	if r.Running == nil {
		st.Warnf("this was the first deployment of %s: there is no earlier revision to send the traffic to; the service is left as the deployment left it", r.Head.Name)
		return nil
	}
	m, err := r.Running(ctx)
	if err != nil {
		return fmt.Errorf("the service manifest of the running commit %s: %w", short(r.RunningHash), err)
	}
	rev := revisionName(m, r.RunningHash)
	st.Emitf("traffic back to revision %s (commit %s)", rev, short(r.RunningHash))
	if err := r.deploy(ctx, st, m, r.RunningHash, []*run.TrafficTarget{{RevisionName: rev, Percent: 100}}); err != nil {
		return err
	}
	if left := revisionName(r.Head, r.HeadHash); left != rev {
		st.SetMeta(metaLeftRevision, left)
		st.Emitf("revision %s is kept at 0%% of the traffic", left)
	}
	return st.Checkpoint()
}

func short(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}
