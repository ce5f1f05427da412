package fakes

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gitops-pipe/pipe/internal/notify"
)

// WebhookSecret is the signature value WebhookCmd's receivers check (the
// WEBHOOK_SECRET a script's config names): it must be in no request body.
const WebhookSecret = "whsec_0123456789abcdef"

// WebhookCmd is the script command that runs a notification webhook
// receiver in the test process and checks each request as a receiver
// would:
//
//	webhookrecv start      start it; set WEBHOOK_URL and WEBHOOK_SECRET
//	webhookrecv requests   print a line per request: whether its
//	                       Pipe-Signature verifies, whether PipeCD's static
//	                       signature header matches, the event's type, app
//	                       and summary
func WebhookCmd() func(*testscript.TestScript, bool, []string) {
	type request struct {
		header http.Header
		body   []byte
	}
	var mu sync.Mutex
	got := map[*testscript.TestScript]*[]request{}
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: webhookrecv start|requests")
		}
		switch args[0] {
		case "start":
			reqs := &[]request{}
			mu.Lock()
			got[ts] = reqs
			mu.Unlock()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				mu.Lock()
				*reqs = append(*reqs, request{r.Header.Clone(), body})
				mu.Unlock()
			}))
			ts.Defer(srv.Close)
			ts.Setenv("WEBHOOK_URL", srv.URL+"/hook")
			ts.Setenv("WEBHOOK_SECRET", WebhookSecret)
		case "requests":
			mu.Lock()
			defer mu.Unlock()
			reqs := got[ts]
			if reqs == nil {
				ts.Fatalf("webhookrecv start first")
			}
			for _, r := range *reqs {
				verdict := "verified"
				if err := notify.Verify([]byte(WebhookSecret), r.header.Get(notify.SignatureHeader), r.body, time.Now(), 10*time.Minute); err != nil {
					verdict = "not verified: " + err.Error()
				}
				static := r.header.Get(notify.DefaultSignatureKey) == WebhookSecret
				var ev notify.Event
				if err := json.Unmarshal(r.body, &ev); err != nil {
					ts.Fatalf("a request body is not an event: %v", err)
				}
				if strings.Contains(string(r.body), WebhookSecret) {
					ts.Fatalf("the signature value is in a request body")
				}
				fmt.Fprintf(ts.Stdout(), "%s static=%v %s %s %s\n", verdict, static, ev.Type, ev.App.Name, ev.Summary)
			}
		default:
			ts.Fatalf("usage: webhookrecv start|requests")
		}
	}
}
