package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/ctxtime"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/manifest"
)

// Rollback implements Platform: re-apply the running commit's manifests,
// delete the canary and baseline objects and the objects the failed commit
// introduced, then wait for readiness. While the cluster is unreachable
// (e.g. the apiserver restarting) it tries again, until ctx ends.
func (k *Runner) Rollback(ctx context.Context, st *execute.Stage) error {
	delay := time.Second
	for {
		err := k.rollback(ctx, st)
		if err == nil || !errors.Is(err, ErrUnreachable) || ctx.Err() != nil {
			return err
		}
		st.Warnf("the cluster is unreachable; trying the rollback again in %s: %v", delay, err)
		if ctxtime.Sleep(ctx, delay) != nil {
			return err
		}
		delay = min(delay*2, 15*time.Second)
	}
}

func (k *Runner) rollback(ctx context.Context, st *execute.Stage) error {
	headKeys := map[Key]bool{}
	for _, u := range k.Desired {
		headKeys[manifest.KeyOf(u)] = true
	}
	var res *Result
	app := App{Namespaces: k.Namespaces, ID: k.AppID, CommitHash: k.Running}
	keep := map[Key]bool{}
	if k.Running != "" && k.RunningObjects != nil {
		objs, err := k.RunningObjects(ctx)
		if err != nil {
			return fmt.Errorf("render the running commit %s: %w", short(k.Running), err)
		}
		running := objs
		if objs, err = k.primaryObjects(objs, false, true, ""); err != nil {
			return err
		}
		if k.istioRouted() {
			// All traffic back to the primary subset.
			vs, err := k.istioObject(running, 100, 0, 0)
			if err != nil {
				return err
			}
			objs = append(objs, vs)
		}
		if k.gatewayRouted() {
			// All traffic back to the primary Service.
			route, err := k.gatewayAPIObject(running, 100, 0, 0)
			if err != nil {
				return err
			}
			objs = append(objs, route)
		}
		for _, u := range objs {
			keep[manifest.KeyOf(u)] = true
		}
		st.Emitf("re-applying the running commit %s", short(k.Running))
		if res, err = k.apply(ctx, st, objs, app); err != nil {
			return err
		}
	} else {
		st.Warnf("no successful deployment is recorded: only the canary and baseline variants are removed")
		keep = headKeys
	}
	err := k.deleteLive(ctx, st, func(u *unstructured.Unstructured) bool {
		key := manifest.KeyOf(u)
		return VariantOf(u) != VariantPrimary || (headKeys[key] && !keep[key])
	}, keep)
	if err != nil {
		return err
	}
	if res != nil {
		return k.wait(ctx, st, res, app)
	}
	return nil
}

// clean deletes the live objects of a variant.
func (k *Runner) clean(ctx context.Context, st *execute.Stage, value string) error {
	return k.deleteLive(ctx, st, func(u *unstructured.Unstructured) bool { return VariantOf(u) == value }, nil)
}

// deleteLive deletes the application's live objects that match (and are
// pipe's to delete), noting them in the stage's metadata.
func (k *Runner) deleteLive(ctx context.Context, st *execute.Stage, match func(*unstructured.Unstructured) bool, keep map[Key]bool) error {
	app := App{Namespaces: k.Namespaces, ID: k.AppID}
	var ns []string
	if k.Spec.Input.Namespace != "" {
		ns = []string{k.Spec.Input.Namespace}
	}
	live, err := k.Cluster.Live(ctx, app, LiveOptions{Namespaces: ns, Events: k.events(st)})
	if err != nil {
		return fmt.Errorf("list the live objects: %w", err)
	}
	var del []*unstructured.Unstructured
	for _, u := range Prunable(live, keep, app) {
		if match(u) {
			del = append(del, u)
		}
	}
	if len(del) == 0 {
		return nil
	}
	deleted, err := k.Cluster.Delete(ctx, del, k.events(st))
	if len(deleted) > 0 {
		prev := st.Record.Metadata[MetaDeleted]
		if prev != "" {
			prev += ", "
		}
		st.SetMeta(MetaDeleted, prev+joinKeys(deleted))
		_ = st.Checkpoint()
	}
	return err
}
