package report

import (
	"strings"
	"testing"
	"time"
)

func TestEventPullRequestBody(t *testing.T) {
	p := EventProposal{
		Event:        "web-image",
		Labels:       map[string]string{"env": "prod"},
		Value:        "gcr.io/acme/web:v2.0.0",
		Contexts:     map[string]string{"Build-Url": "https://ci.example/run/1"},
		Registered:   time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		By:           "alice",
		SourceCommit: "0123456789abcdef0123", SourceTitle: "web: faster start\n\nThe body.",
		SourceURL: "https://github.example/acme/web/commit/0123456789abcdef0123",
		Changes: []EventChange{
			{File: "apps/web/deployment.yaml", Line: 17, Field: "yamlField", Expr: "$.spec.template.spec.containers[0].image", Old: []string{"gcr.io/acme/web:v1.9.0"}},
			{File: "apps/web/kustomization.yaml", Field: "regex", Expr: `newTag: (\S+)`, Error: "the regular expression matches nothing in the file"},
		},
		RunURL: "https://github.example/acme/gitops/actions/runs/9",
	}
	want := "Event `web-image` (labels `env=prod`) set the value `gcr.io/acme/web:v2.0.0`, registered 2025-01-02T03:04:05Z by alice.\n" +
		"\n" +
		"From commit [`0123456789ab`](https://github.example/acme/web/commit/0123456789abcdef0123) web: faster start.\n" +
		"\n" +
		"| File | Field | Was | Now |\n" +
		"|---|---|---|---|\n" +
		"| `apps/web/deployment.yaml:17` | yamlField `$.spec.template.spec.containers[0].image` | `gcr.io/acme/web:v1.9.0` | `gcr.io/acme/web:v2.0.0` |\n" +
		"| `apps/web/kustomization.yaml` | regex `newTag: (\\S+)` |  | not replaced: the regular expression matches nothing in the file |\n" +
		"\n" +
		"Contexts: Build-Url=https://ci.example/run/1\n" +
		"\n" +
		"A later event of the same name and labels updates this request. Merge it to deploy the value. ([run](https://github.example/acme/gitops/actions/runs/9))\n"
	if got := EventPullRequestBody(p); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// What an event carries comes from another repository's CI: carriage
// returns (which end a code span on GitHub), line separators, markdown and
// HTML in it stay inert text on their line, and a URL that is not a plain
// http(s) URL is not made a link.
func TestEventPullRequestBodyHostileEvent(t *testing.T) {
	p := EventProposal{
		Event:        "web`image\r\r# Injected",
		Labels:       map[string]string{"env": "prod\u2028## x"},
		Value:        "v2\r\r# Heading\r\r![pixel](https://evil.example/p.png)",
		Contexts:     map[string]string{"Build-Url": "https://user:s3cret@ci.example/run/1", "Note": "[click](https://evil.example)\n# h"},
		Registered:   time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		By:           "<img src=x onerror=alert(1)> *bob*",
		SourceCommit: "0123456789abcdef",
		SourceTitle:  "fix\u2028# h ![img](https://evil.example/x.png) [a](b) <b>x</b> *b* _i_ `c` | p ~s~ \\\u0085\x1b[2J",
		SourceURL:    "https://github.com/acme/web/commit/1)![x](https://evil.example/y.png",
		Changes: []EventChange{
			{File: "app/web.yaml", Line: 4, Field: "yamlField", Expr: "$.spec.image", Old: []string{"v1\r\r# o"}},
			{File: "app/x|y.yaml", Field: "regex", Expr: "image: (\\S+)|`x`", Error: "cannot write \"![x](https://evil.example/z.png)\" here"},
		},
		RunURL: "javascript:alert(1)",
	}
	want := "Event `` web`image  # Injected `` (labels `env=prod ## x`) set the value `v2  # Heading  ![pixel](https://evil.example/p.png)`, registered 2025-01-02T03:04:05Z by &lt;img src=x onerror=alert(1)&gt; \\*bob\\*.\n" +
		"\n" +
		"From commit `0123456789ab` (`https://github.com/acme/web/commit/1)![x](https://evil.example/y.png`) fix # h !\\[img\\](https://evil.example/x.png) \\[a\\](b) &lt;b&gt;x&lt;/b&gt; \\*b\\* \\_i\\_ \\`c\\` \\| p \\~s\\~ \\\\  \\[2J.\n" +
		"\n" +
		"| File | Field | Was | Now |\n" +
		"|---|---|---|---|\n" +
		"| `app/web.yaml:4` | yamlField `$.spec.image` | `v1  # o` | `v2  # Heading  ![pixel](https://evil.example/p.png)` |\n" +
		"| `app/x\\|y.yaml` | regex `` image: (\\S+)\\|`x` `` |  | not replaced: cannot write \"!\\[x\\](https://evil.example/z.png)\" here |\n" +
		"\n" +
		"Contexts: Build-Url=https://ci.example/run/1, Note=\\[click\\](https://evil.example) # h\n" +
		"\n" +
		"A later event of the same name and labels updates this request. Merge it to deploy the value. (run `javascript:alert(1)`)\n"
	got := EventPullRequestBody(p)
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if i := strings.IndexFunc(got, func(r rune) bool { return r != '\n' && isControl(r) }); i >= 0 {
		t.Errorf("a control character at %d: %q", i, got[i:min(len(got), i+20)])
	}
	if strings.Contains(got, "s3cret") {
		t.Error("a context's credentials are in the body")
	}
}

func TestCommitRef(t *testing.T) {
	const hash = "0123456789abcdef"
	tests := []struct{ hash, url, want string }{
		{hash, "https://github.com/acme/web/commit/0123", "[`0123456789ab`](https://github.com/acme/web/commit/0123)"},
		{hash, "HTTP://git.example:8080/c?id=1#x", "[`0123456789ab`](HTTP://git.example:8080/c?id=1#x)"},
		{"", "https://git.example/c/1", "[`https://git.example/c/1`](https://git.example/c/1)"},
		{hash, "", "`0123456789ab`"},
		{hash, "https://x:tok@git.example/c/1", "[`0123456789ab`](https://git.example/c/1)"},
		{hash, "javascript:alert(1)", "`0123456789ab` (`javascript:alert(1)`)"},
		{hash, "ftp://git.example/c", "`0123456789ab` (`ftp://git.example/c`)"},
		{hash, "/acme/web/commit/1", "`0123456789ab` (`/acme/web/commit/1`)"},
		{hash, "https:///c", "`0123456789ab` (`https:///c`)"},
		{hash, "https://git.example/a b", "`0123456789ab` (`https://git.example/a b`)"},
		{hash, "https://git.example/a\u00a0b", "`0123456789ab` (`https://git.example/a\u00a0b`)"},
		{hash, "https://git.example/a\rb", "`0123456789ab` (`https://git.example/a b`)"},
		{hash, "https://git.example/a<b", "`0123456789ab` (`https://git.example/a<b`)"},
		{hash, "https://git.example/a>b", "`0123456789ab` (`https://git.example/a>b`)"},
		{hash, "https://git.example/a(b", "`0123456789ab` (`https://git.example/a(b`)"},
		{hash, `https://git.example/a\`, "`0123456789ab` (`https://git.example/a\\`)"},
		{"", "javascript:x", "`javascript:x`"},
	}
	for _, tt := range tests {
		if got := commitRef(tt.hash, tt.url); got != tt.want {
			t.Errorf("commitRef(%q, %q) = %s, want %s", tt.hash, tt.url, got, tt.want)
		}
	}
}

// Inline code and table cells stay on one line whatever control
// character the text holds.
func TestCodeAndCellsStayOnOneLine(t *testing.T) {
	for _, s := range []string{"a\r\rb", "a\nb", "a\r\nb", "a\u0085b", "a\u2028b", "a\u2029b", "a\x00b", "a\x1bb", "a\x7fb", "a\u009bb", "a\tb", "a\vb", "a\fb"} {
		want := "a" + strings.Repeat(" ", len([]rune(s))-2) + "b"
		if got := code(s); got != "`"+want+"`" {
			t.Errorf("code(%q) = %q", s, got)
		}
		if got := escapeCell(s); got != want {
			t.Errorf("escapeCell(%q) = %q", s, got)
		}
		if got := escapeText(s); got != want {
			t.Errorf("escapeText(%q) = %q", s, got)
		}
	}
}
