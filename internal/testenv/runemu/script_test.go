package runemu_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"google.golang.org/api/option"
	run "google.golang.org/api/run/v1"

	"github.com/gitops-pipe/pipe/internal/testenv/runemu"
)

func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"runemu": runemu.ScriptCmd(),
			"deploy": deploy,
		},
	})
}

// deploy NAME IMAGE [REVISION [REV:PCT...]] creates or replaces a service
// through the Go client at $PIPE_CLOUDRUN_ENDPOINT, as a platform would.
func deploy(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: deploy NAME IMAGE [REVISION [REV:PCT...]]")
	}
	ctx := context.Background()
	c, err := run.NewService(ctx, option.WithEndpoint(ts.Getenv("PIPE_CLOUDRUN_ENDPOINT")+"/"), option.WithoutAuthentication())
	ts.Check(err)
	ns := "namespaces/" + ts.Getenv("PIPE_CLOUDRUN_PROJECT")
	svc, err := c.Namespaces.Services.Get(ns + "/services/" + args[0]).Do()
	exists := err == nil
	if !exists {
		svc = &run.Service{ApiVersion: "serving.knative.dev/v1", Kind: "Service", Metadata: &run.ObjectMeta{Name: args[0]},
			Spec: &run.ServiceSpec{Template: &run.RevisionTemplate{Metadata: &run.ObjectMeta{}, Spec: &run.RevisionSpec{Containers: []*run.Container{{}}}}}}
	}
	svc.Spec.Template.Spec.Containers[0].Image = args[1]
	svc.Spec.Template.Metadata.Name = ""
	if len(args) > 2 {
		svc.Spec.Template.Metadata.Name = args[2]
	}
	if len(args) > 3 {
		svc.Spec.Traffic = nil
		for _, a := range args[3:] {
			rev, pct, _ := strings.Cut(a, ":")
			n, err := strconv.ParseInt(pct, 10, 64)
			ts.Check(err)
			tt := &run.TrafficTarget{RevisionName: rev, Percent: n, ForceSendFields: []string{"Percent"}}
			if rev == "latest" {
				tt.RevisionName, tt.LatestRevision = "", true
			}
			svc.Spec.Traffic = append(svc.Spec.Traffic, tt)
		}
	}
	if exists {
		_, err = c.Namespaces.Services.ReplaceService(ns+"/services/"+args[0], svc).Do()
	} else {
		_, err = c.Namespaces.Services.Create(ns, svc).Do()
	}
	if neg {
		if err == nil {
			ts.Fatalf("deploy succeeded")
		}
		ts.Logf("%v", err)
		return
	}
	ts.Check(err)
}
