package lambda

import (
	"context"
	"errors"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/plan"
)

// Drift implements drift.Platform: each function's live configuration
// ($LATEST, what the next version publishes) is compared with its
// manifest in the working tree, normalised as PipeCD does: the code's
// origin (S3 object, Git source) is not compared, as AWS does not show
// it; architectures and VPC subnets and security groups compare as sets;
// AWS's defaults stand for what the manifest leaves unset; tags AWS sets
// (aws:*) are ignored.
func (p *Platform) Drift(ctx context.Context, b *drift.Batch) {
	for i, app := range b.Apps {
		b.GoTree(i, p.opts.Root, func(ctx context.Context, root string, r *drift.AppResult) {
			if err := p.drift(ctx, root, app, r); err != nil {
				r.Status, r.Error = drift.Failed, err.Error()
			}
		})
	}
}

func (p *Platform) drift(ctx context.Context, root string, app *config.App, r *drift.AppResult) error {
	head := deploy.NewRevision(plan.Commit{}, func(context.Context) (*deploy.Tree, error) {
		return &deploy.Tree{Root: root, App: app}, nil
	})
	want, err := load(ctx, head)
	if err != nil {
		return err
	}
	if want.Missing != nil {
		// Deployed by the app's own pipeline (CUSTOM_SYNC, SCRIPT_RUN):
		// pipe has nothing to compare.
		r.Status, r.Reason = drift.Skipped, "no function manifest to compare the live function with: "+want.Missing.Error()
		return nil
	}
	fns, err := p.client(ctx, app)
	if err != nil {
		return err
	}
	cur, err := fns.get(ctx, want.Config.Name)
	if err != nil {
		return err
	}
	r.Objects = 1
	key := changeKey(want.Config.Name)
	object := "function " + want.Config.Name
	if cur.Config == nil {
		r.Status = drift.OutOfSync
		r.Added = 1
		r.Drift = []drift.ObjectDrift{{Key: key, Object: object, Action: drift.ActionAdded, Note: "the function does not exist in AWS"}}
		return nil
	}
	have := liveConfig(cur.Config, cur.Code, cur.Tags)
	if want.Code.Kind != codeImage {
		// A zip function's code origin is not shown by AWS.
		have.Image = ""
	}
	fields := driftFields(want.Config, have, masker{All: p.opts.MaskAllEnv})
	if len(fields) == 0 {
		r.Status = drift.InSync
		return nil
	}
	r.Status = drift.OutOfSync
	r.Changed = 1
	r.Drift = []drift.ObjectDrift{{Key: key, Object: object, Action: drift.ActionChanged, Fields: fields}}
	return nil
}

// driftFields compares Git's configuration with the live one, field by
// field; environment values are masked as plans mask them.
func driftFields(git, live fnConfig, m masker) []drift.FieldDiff {
	gf, lf := git.fields(nil), live.fields(nil)
	lv := map[string]any{}
	for _, f := range lf {
		lv[f.Path] = f.Value
	}
	gv := map[string]any{}
	var out []drift.FieldDiff
	show := func(path string, v any, other any) any {
		name, isEnv := cutPrefix(path, "environments.")
		if !isEnv {
			return v
		}
		s, _ := v.(string)
		o, _ := other.(string)
		if m.secret(name, s, o) {
			return drift.Mask
		}
		return v
	}
	for _, f := range gf {
		gv[f.Path] = f.Value
		l, ok := lv[f.Path]
		switch {
		case !ok:
			out = append(out, drift.FieldDiff{Path: f.Path, Op: drift.FieldMissing, Git: show(f.Path, f.Value, nil)})
		case l != f.Value:
			out = append(out, drift.FieldDiff{Path: f.Path, Op: drift.FieldChanged, Git: show(f.Path, f.Value, l), Live: show(f.Path, l, f.Value)})
		}
	}
	for _, f := range lf {
		if _, ok := gv[f.Path]; !ok {
			out = append(out, drift.FieldDiff{Path: f.Path, Op: drift.FieldLiveOnly, Live: show(f.Path, f.Value, nil)})
		}
	}
	return out
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}

var _ = errors.New
