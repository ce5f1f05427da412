package fakes

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// glMRWire is a merge request as GitLab documents it.
type glMRWire struct {
	ID                      int      `json:"id"`
	IID                     int      `json:"iid"`
	ProjectID               int      `json:"project_id"`
	Title                   string   `json:"title"`
	Description             string   `json:"description"`
	State                   string   `json:"state"`
	SourceBranch            string   `json:"source_branch"`
	TargetBranch            string   `json:"target_branch"`
	SourceProjectID         int      `json:"source_project_id"`
	TargetProjectID         int      `json:"target_project_id"`
	Labels                  []string `json:"labels"`
	WebURL                  string   `json:"web_url"`
	ForceRemoveSourceBranch bool     `json:"force_remove_source_branch"`
	CreatedAt               string   `json:"created_at"`
	References              struct {
		Full string `json:"full"`
	} `json:"references"`
}

// glCall sends a request to the fake with a PRIVATE-TOKEN (or, with
// header "JOB-TOKEN", a job token) and returns the status, the headers and
// the body.
func glCall(t *testing.T, method, u, header, token string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(header, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, buf.Bytes()
}

func newMRFake(t *testing.T) (*GitLab, string) {
	t.Helper()
	fake, srv := NewGitLab("acme/deploys", 77, "glpat-x")
	t.Cleanup(srv.Close)
	return fake, srv.URL + "/api/v4/projects/" + url.PathEscape("acme/deploys") + "/merge_requests"
}

func TestGitLabMRsCreateGetUpdate(t *testing.T) {
	fake, mrs := newMRFake(t)
	fake.AddNote(4, "a note of an older merge request", false)
	code, _, body := glCall(t, http.MethodPost, mrs, "PRIVATE-TOKEN", "glpat-x", map[string]any{
		"source_branch": "event/web", "target_branch": "main", "title": "Update web", "description": "why",
		"labels": "pipe:event,auto", "remove_source_branch": true})
	var mr glMRWire
	if code != http.StatusCreated || json.Unmarshal(body, &mr) != nil {
		t.Fatalf("create: %d %s", code, body)
	}
	if mr.IID != 5 || mr.ID == 0 || mr.ProjectID != 77 || mr.State != "opened" || mr.Title != "Update web" || mr.Description != "why" ||
		mr.SourceBranch != "event/web" || mr.TargetBranch != "main" || mr.SourceProjectID != 77 || mr.TargetProjectID != 77 ||
		!slices.Equal(mr.Labels, []string{"pipe:event", "auto"}) || mr.WebURL != "https://gitlab.example/acme/deploys/-/merge_requests/5" ||
		!mr.ForceRemoveSourceBranch || mr.CreatedAt == "" || mr.References.Full != "acme/deploys!5" {
		t.Fatalf("created %+v", mr)
	}
	// The project is also addressed by id; labels added and removed as
	// comma-separated strings; labels answered as an array.
	byID := strings.Replace(mrs, url.PathEscape("acme/deploys"), "77", 1)
	code, _, body = glCall(t, http.MethodPut, byID+"/5", "PRIVATE-TOKEN", "glpat-x", map[string]any{
		"title": "Update web to v2", "add_labels": "extra,auto", "remove_labels": "pipe:event"})
	if code != http.StatusOK || json.Unmarshal(body, &mr) != nil || mr.Title != "Update web to v2" || mr.Description != "why" ||
		!slices.Equal(mr.Labels, []string{"auto", "extra"}) {
		t.Fatalf("update: %d %s", code, body)
	}
	if code, _, body = glCall(t, http.MethodGet, mrs+"/5", "PRIVATE-TOKEN", "glpat-x", nil); code != http.StatusOK || json.Unmarshal(body, &mr) != nil || mr.IID != 5 {
		t.Fatalf("get: %d %s", code, body)
	}
	if code, _, body = glCall(t, http.MethodPut, mrs+"/5", "PRIVATE-TOKEN", "glpat-x", map[string]any{}); code != http.StatusBadRequest {
		t.Errorf("an update with nothing: %d %s", code, body)
	}
	if code, _, body = glCall(t, http.MethodPut, mrs+"/5", "PRIVATE-TOKEN", "glpat-x", map[string]any{"title": " "}); code != http.StatusBadRequest || !strings.Contains(string(body), "can't be blank") {
		t.Errorf("a blank title: %d %s", code, body)
	}
	// The label route of merge requests the fake does not hold still works.
	if code, _, _ := glCall(t, http.MethodPut, mrs+"/3", "PRIVATE-TOKEN", "glpat-x", map[string]any{"add_labels": "x"}); code != http.StatusOK || !slices.Equal(fake.Labels(3), []string{"x"}) {
		t.Errorf("labels of MR 3: %d %v", code, fake.Labels(3))
	}
	all := fake.MergeRequests()
	if len(all) != 1 || all[0].IID != 5 || all[0].Updates != 1 || all[0].Title != "Update web to v2" || !slices.Equal(all[0].Labels, []string{"auto", "extra"}) {
		t.Fatalf("accessor %+v", all)
	}
}

func TestGitLabMRsRefusals(t *testing.T) {
	fake, mrs := newMRFake(t)
	fake.BranchExists = func(b string) bool { return b == "main" || b == "event/web" || b == "event/api" }
	open := fake.AddMergeRequest(GitLabMR{SourceBranch: "event/web", TargetBranch: "main", Title: "theirs"})
	for _, tc := range []struct {
		in   map[string]any
		code int
		msg  string
	}{
		{map[string]any{"source_branch": "event/web", "target_branch": "main", "title": "x"}, http.StatusConflict,
			`{"message":["Another open merge request already exists for this source branch: !1"]}`},
		{map[string]any{"source_branch": "event/gone", "target_branch": "main", "title": "x"}, http.StatusBadRequest,
			`{"message":{"source_branch":["does not exist"]}}`},
		{map[string]any{"source_branch": "event/api", "target_branch": "release", "title": "x"}, http.StatusBadRequest,
			`{"message":{"target_branch":["does not exist"]}}`},
		{map[string]any{"source_branch": "main", "target_branch": "main", "title": "x"}, http.StatusUnprocessableEntity,
			`{"message":["You can't use same project/branch for source and target"]}`},
		{map[string]any{"target_branch": "main"}, http.StatusBadRequest, `{"error":"source_branch is missing, title is missing"}`},
	} {
		code, _, body := glCall(t, http.MethodPost, mrs, "PRIVATE-TOKEN", "glpat-x", tc.in)
		if code != tc.code || strings.TrimSpace(string(body)) != tc.msg {
			t.Errorf("%v: %d %s", tc.in, code, body)
		}
	}
	// Reopening beside another open merge request is refused too.
	glCall(t, http.MethodPut, mrs+"/1", "PRIVATE-TOKEN", "glpat-x", map[string]any{"state_event": "close"})
	if code, _, body := glCall(t, http.MethodPost, mrs, "PRIVATE-TOKEN", "glpat-x", map[string]any{"source_branch": "event/web", "target_branch": "main", "title": "again"}); code != http.StatusCreated {
		t.Fatalf("after closing: %d %s", code, body)
	}
	if code, _, _ := glCall(t, http.MethodPut, mrs+"/1", "PRIVATE-TOKEN", "glpat-x", map[string]any{"state_event": "reopen"}); code != http.StatusConflict {
		t.Errorf("reopen: %d", code)
	}
	// A job token does not reach the merge request API; a read_api token
	// reads but does not write.
	if code, _, _ := glCall(t, http.MethodGet, mrs, "JOB-TOKEN", "glpat-x", nil); code != http.StatusUnauthorized {
		t.Errorf("job token: %d", code)
	}
	fake.TokenScope = "read_api"
	if code, _, _ := glCall(t, http.MethodGet, mrs, "PRIVATE-TOKEN", "glpat-x", nil); code != http.StatusOK {
		t.Errorf("read_api list: %d", code)
	}
	code, _, body := glCall(t, http.MethodPut, mrs+"/2", "PRIVATE-TOKEN", "glpat-x", map[string]any{"title": "y"})
	if code != http.StatusForbidden || !strings.Contains(string(body), `"error":"insufficient_scope"`) {
		t.Errorf("read_api write: %d %s", code, body)
	}
	if code, _, _ := glCall(t, http.MethodGet, strings.Replace(mrs, url.PathEscape("acme/deploys"), "78", 1), "PRIVATE-TOKEN", "glpat-x", nil); code != http.StatusNotFound {
		t.Errorf("another project: %d", code)
	}
	if all := fake.MergeRequests(); len(all) != 2 || all[0].IID != open || all[0].State != "closed" || all[1].State != "opened" {
		t.Errorf("%+v", all)
	}
}

func TestGitLabMRsListFiltersAndPaginates(t *testing.T) {
	fake, mrs := newMRFake(t)
	fake.PerPage = 2
	for _, b := range []string{"a", "b", "c", "d", "e"} {
		fake.AddMergeRequest(GitLabMR{SourceBranch: b, TargetBranch: "main", Title: b})
	}
	fake.AddMergeRequest(GitLabMR{SourceBranch: "f", TargetBranch: "main", Title: "f", State: "merged", Labels: []string{"done"}})
	list := func(q url.Values) []string {
		t.Helper()
		var out []string
		q.Set("per_page", "100")
		for page := "1"; page != ""; {
			q.Set("page", page)
			code, h, body := glCall(t, http.MethodGet, mrs+"?"+q.Encode(), "PRIVATE-TOKEN", "glpat-x", nil)
			var got []glMRWire
			if code != http.StatusOK || json.Unmarshal(body, &got) != nil {
				t.Fatalf("%v: %d %s", q, code, body)
			}
			for _, m := range got {
				out = append(out, m.SourceBranch)
			}
			if len(out) > 10 {
				t.Fatal("pagination does not end")
			}
			page = h.Get("X-Next-Page")
		}
		return out
	}
	if got := list(url.Values{}); !slices.Equal(got, []string{"f", "e", "d", "c", "b", "a"}) {
		t.Errorf("all states, newest first: %v", got)
	}
	if got := list(url.Values{"state": {"opened"}, "sort": {"asc"}}); !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Errorf("opened, oldest first: %v", got)
	}
	if got := list(url.Values{"state": {"opened"}, "source_branch": {"c"}, "target_branch": {"main"}}); !slices.Equal(got, []string{"c"}) {
		t.Errorf("by branches: %v", got)
	}
	if got := list(url.Values{"target_branch": {"release"}}); len(got) != 0 {
		t.Errorf("another target: %v", got)
	}
	if got := list(url.Values{"labels": {"done"}}); !slices.Equal(got, []string{"f"}) {
		t.Errorf("by label: %v", got)
	}
	if code, _, _ := glCall(t, http.MethodGet, mrs+"?state=open", "PRIVATE-TOKEN", "glpat-x", nil); code != http.StatusBadRequest {
		t.Errorf("state=open (GitHub's word): %d", code)
	}
}
