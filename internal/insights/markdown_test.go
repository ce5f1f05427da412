package insights

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// The Markdown of the HTML's fixture: the metrics table, three Mermaid
// charts whose series have one value per bucket, the app table with the
// hostile names made inert.
func TestMarkdownGolden(t *testing.T) {
	r := htmlFixture()
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	golden(t, "insights.golden.md", md)
	if n := strings.Count(md, "```mermaid\nxychart-beta\n"); n != 3 {
		t.Errorf("%d charts, want 3", n)
	}
	for _, m := range regexp.MustCompile(`(?m)^    (?:bar|line) \[(.*)\]$`).FindAllStringSubmatch(md, -1) {
		if got := len(strings.Split(m[1], ", ")); got != len(r.Buckets) {
			t.Errorf("a series of %d values for %d buckets: %s", got, len(r.Buckets), m[0])
		}
	}
	if strings.Contains(md, "<script") || strings.Contains(md, "alert(1)</") {
		t.Error("an app name's markup reached the Markdown")
	}
}

func TestMarkdownWithoutData(t *testing.T) {
	r, err := Compute(nil, Options{Since: t0, Until: t0.AddDate(0, 0, 30), By: Week})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "mermaid") || !strings.Contains(b.String(), "| Deployment frequency | - | no data |") {
		t.Errorf("%s", b.String())
	}
}

func TestTextOutput(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, htmlFixture(), TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"DORA metrics, ", "Deployment frequency", "Change failure rate", "Lead time for changes", "Time to restore service", "APP", "KIND"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.ContainsRune(out, 0x1b) {
		t.Error("escape sequences without colour")
	}
	if !regexp.MustCompile(`[▁▂▃▄▅▆▇█]{3,}`).MatchString(out) {
		t.Errorf("no sparkline in\n%s", out)
	}
}
