package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/gitops-pipe/pipe/internal/ctxtime"
)

// path is the REST path of an object (name "" for the collection).
func path(gvr schema.GroupVersionResource, namespace, name string) string {
	var b strings.Builder
	if gvr.Group == "" {
		b.WriteString("/api/" + gvr.Version)
	} else {
		b.WriteString("/apis/" + gvr.Group + "/" + gvr.Version)
	}
	if namespace != "" {
		b.WriteString("/namespaces/" + namespace)
	}
	b.WriteString("/" + gvr.Resource)
	if name != "" {
		b.WriteString("/" + name)
	}
	return b.String()
}

// applyOne writes one object as its annotations ask: server-side apply,
// replace (sync-by-replace) or delete and create (force-sync-by-replace).
// prevRV is the live resourceVersion when known, to tell unchanged objects.
func (c *Client) applyOne(ctx context.Context, s *sink, o *object, force bool, prevRV string) (Action, *unstructured.Unstructured, error) {
	ann := o.u.GetAnnotations()
	switch {
	case annotationEnabled(ann, LabelForceSyncReplace):
		return c.recreate(ctx, s, o)
	case annotationEnabled(ann, LabelSyncReplace):
		return c.replace(ctx, s, o, false)
	}
	out, code, err := c.serverSideApply(ctx, s, o, force, false)
	switch {
	case err != nil:
		return "", nil, err
	case code == http.StatusCreated:
		return ActionCreated, out, nil
	case prevRV != "" && out.GetResourceVersion() == prevRV:
		return ActionUnchanged, out, nil
	}
	return ActionConfigured, out, nil
}

// serverSideApply sends the object as a server-side apply patch (field
// manager pipe, strict field validation) and returns the answer and its
// status code (201: created).
func (c *Client) serverSideApply(ctx context.Context, s *sink, o *object, force, dryRun bool) (*unstructured.Unstructured, int, error) {
	op := "apply"
	if dryRun {
		op = "dry-run"
	}
	body, err := o.u.MarshalJSON()
	if err != nil {
		return nil, 0, &Error{Op: op, Key: o.key, Reason: ReasonInvalid, Msg: fmt.Sprintf("%s %s: %v", op, o.key.Readable(), err), Err: err}
	}
	var (
		code int
		out  *unstructured.Unstructured
	)
	err = c.do(ctx, s, o.key, op+" "+o.key.Readable(), func(ctx context.Context) error {
		req := c.rest.Patch(types.ApplyPatchType).
			AbsPath(path(o.gvr, o.u.GetNamespace(), o.u.GetName())).
			Param("fieldManager", FieldManager).
			Param("fieldValidation", "Strict").
			Body(body)
		if force {
			req = req.Param("force", "true")
		}
		if dryRun {
			req = req.Param("dryRun", "All")
		}
		var err error
		out, code, err = decode(req.Do(ctx))
		return err
	})
	if err != nil {
		return nil, code, explainError(request{op: op, verb: "patch", key: o.key, gvr: o.gvr, host: c.host}, err)
	}
	return out, code, nil
}

// decode reads a rest.Result into an object and its status code.
func decode(r rest.Result) (*unstructured.Unstructured, int, error) {
	code := 0
	r.StatusCode(&code)
	// Error (not Raw's error) decodes the apiserver's Status: reason,
	// details and causes.
	if err := r.Error(); err != nil {
		return nil, code, err
	}
	raw, err := r.Raw()
	if err != nil {
		return nil, code, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		return nil, code, err
	}
	return u, code, nil
}

// replace updates the object in place (PUT), creating it when missing
// (ActionCreated).
func (c *Client) replace(ctx context.Context, s *sink, o *object, dryRun bool) (Action, *unstructured.Unstructured, error) {
	op := "replace"
	if dryRun {
		op = "dry-run"
	}
	body, err := o.u.MarshalJSON()
	if err != nil {
		return "", nil, &Error{Op: op, Key: o.key, Reason: ReasonInvalid, Msg: fmt.Sprintf("%s %s: %v", op, o.key.Readable(), err), Err: err}
	}
	var out *unstructured.Unstructured
	verb, action := "update", ActionReplaced
	err = c.do(ctx, s, o.key, op+" "+o.key.Readable(), func(ctx context.Context) error {
		req := c.rest.Put().AbsPath(path(o.gvr, o.u.GetNamespace(), o.u.GetName())).
			Param("fieldManager", FieldManager).Param("fieldValidation", "Strict").Body(body)
		if dryRun {
			req = req.Param("dryRun", "All")
		}
		var err error
		out, _, err = decode(req.Do(ctx))
		return err
	})
	if apierrors.IsNotFound(err) && !isNamespaceNotFound(err) {
		verb, action = "create", ActionCreated
		err = c.do(ctx, s, o.key, op+" "+o.key.Readable(), func(ctx context.Context) error {
			req := c.rest.Post().AbsPath(path(o.gvr, o.u.GetNamespace(), "")).
				Param("fieldManager", FieldManager).Param("fieldValidation", "Strict").Body(body)
			if dryRun {
				req = req.Param("dryRun", "All")
			}
			var err error
			out, _, err = decode(req.Do(ctx))
			if apierrors.IsAlreadyExists(err) {
				return nil // created by an earlier attempt
			}
			return err
		})
	}
	if err != nil {
		return "", nil, explainError(request{op: op, verb: verb, key: o.key, gvr: o.gvr, host: c.host}, err)
	}
	return action, out, nil
}

func isNamespaceNotFound(err error) bool {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		d := se.Status().Details
		return d != nil && d.Kind == "namespaces"
	}
	return false
}

// recreate deletes the object, waits until it is gone, and creates it
// (kubectl replace --force).
func (c *Client) recreate(ctx context.Context, s *sink, o *object) (Action, *unstructured.Unstructured, error) {
	ri := c.dynamic.Resource(o.gvr).Namespace(o.u.GetNamespace())
	existed := true
	err := c.do(ctx, s, o.key, "delete "+o.key.Readable(), func(ctx context.Context) error {
		policy := metav1.DeletePropagationBackground
		err := ri.Delete(ctx, o.u.GetName(), metav1.DeleteOptions{PropagationPolicy: &policy})
		if apierrors.IsNotFound(err) {
			existed = false
			return nil
		}
		return err
	})
	if err != nil {
		return "", nil, explainError(request{op: "replace", verb: "delete", key: o.key, gvr: o.gvr, host: c.host}, err)
	}
	if existed {
		if err := c.waitGone(ctx, s, o); err != nil {
			return "", nil, err
		}
	}
	var out *unstructured.Unstructured
	err = c.do(ctx, s, o.key, "create "+o.key.Readable(), func(ctx context.Context) error {
		var err error
		out, err = ri.Create(ctx, o.u, metav1.CreateOptions{FieldManager: FieldManager, FieldValidation: "Strict"})
		if apierrors.IsAlreadyExists(err) {
			out, err = ri.Get(ctx, o.u.GetName(), metav1.GetOptions{})
		}
		return err
	})
	if err != nil {
		return "", nil, explainError(request{op: "replace", verb: "create", key: o.key, gvr: o.gvr, host: c.host}, err)
	}
	if existed {
		return ActionRecreated, out, nil
	}
	return ActionCreated, out, nil
}

// waitGone polls until the object no longer exists (finalizers may hold it
// for a while); ctx bounds it.
func (c *Client) waitGone(ctx context.Context, s *sink, o *object) error {
	ri := c.dynamic.Resource(o.gvr).Namespace(o.u.GetNamespace())
	delay := 50 * time.Millisecond
	for {
		_, err := ri.Get(ctx, o.u.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil && !transient(err) {
			return explainError(request{op: "replace", verb: "get", key: o.key, gvr: o.gvr, host: c.host}, err)
		}
		if err := ctxtime.Sleep(ctx, delay); err != nil {
			return explainError(request{op: "replace", verb: "delete", key: o.key, gvr: o.gvr, host: c.host},
				fmt.Errorf("waiting for the deletion to finish: %w", err))
		}
		if delay < time.Second {
			delay *= 2
		}
	}
}

// ensureNamespace creates the namespace unless it exists; it reports
// whether it created it.
func (c *Client) ensureNamespace(ctx context.Context, s *sink, name string) (bool, error) {
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	key := Key{Kind: "Namespace", Name: name}
	ri := c.dynamic.Resource(gvr)
	created := false
	err := c.do(ctx, s, key, "create "+key.Readable(), func(ctx context.Context) error {
		_, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) {
			return err
		}
		ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}}
		_, err = ri.Create(ctx, ns, metav1.CreateOptions{FieldManager: FieldManager})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		if err == nil {
			created = true
		}
		return err
	})
	if err != nil {
		return false, explainError(request{op: "create namespace", verb: "create", key: key, gvr: gvr, host: c.host}, err)
	}
	if created {
		s.emit(Event{Action: ActionCreated, Key: key, Message: "autoCreateNamespace"})
	}
	return created, nil
}
