package insights

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

const htmlHostile = "<script>alert(1)</script>"

// htmlFixture is a report of 3 apps over 12 weeks, with gaps in the
// series, an app with no deployment (every band BandNone) and an app whose
// name, labels and the notes carry markup and URLs.
func htmlFixture() *Report {
	since := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) // a Monday
	r := &Report{
		SchemaVersion: SchemaVersion,
		Since:         since,
		Until:         since.AddDate(0, 0, 84),
		By:            Week,
	}
	for i := 0; i < 12; i++ {
		r.Buckets = append(r.Buckets, since.AddDate(0, 0, 7*i))
	}
	r.Overall = Metrics{
		DeploymentFrequency: DeploymentFrequency{
			Successful: 37, PerDay: 37.0 / 84, DeployDays: 21, Band: BandHigh,
			Series: []int{3, 4, 0, 5, 2, 6, 0, 3, 4, 2, 5, 3},
		},
		ChangeFailureRate: ChangeFailureRate{
			Completed: 41, Failed: 3, RolledBack: 2, Cancelled: 1, Rate: 3.0 / 41, Band: BandElite,
			Series: []float64{0, 0.2, -1, 0, 1.0 / 3, 0, -1, 0.25, 0, 0, 0, 0},
		},
		LeadTime: Durations{
			Count: 120, Deployments: 37, Clamped: 1, MedianSeconds: 2*3600 + 10*60, P90Seconds: 28 * 3600, Band: BandHigh,
			Series: []float64{3600, 7200, -1, 9000, 5400, 12000, -1, 86400, 7000, -1, 4000, 8000},
		},
		TimeToRestore: TimeToRestore{
			Incidents: 4, Restored: 3, Open: 1, MedianSeconds: 25 * 60, P90Seconds: 3 * 3600, Band: BandElite,
		},
	}
	r.Apps = []AppReport{
		{
			App: "checkout", Kind: "kubernetes", Labels: map[string]string{"team": "shop", "env": "prod"},
			Metrics: Metrics{
				DeploymentFrequency: DeploymentFrequency{Successful: 30, PerDay: 30.0 / 84, DeployDays: 18, Band: BandHigh,
					Series: []int{2, 4, 0, 4, 2, 5, 0, 2, 3, 2, 4, 2}},
				ChangeFailureRate: ChangeFailureRate{Completed: 33, Failed: 2, RolledBack: 2, Cancelled: 1, Rate: 2.0 / 33, Band: BandElite,
					Series: []float64{0, 0.2, -1, 0, 0.333, 0, -1, 0, 0, 0, 0, 0}},
				LeadTime: Durations{Count: 100, Deployments: 30, MedianSeconds: 7000, P90Seconds: 90000, Band: BandHigh,
					Series: []float64{3600, 7200, -1, 9000, 5400, 12000, -1, 86400, 7000, -1, 4000, 8000}},
				TimeToRestore: TimeToRestore{Incidents: 2, Restored: 2, MedianSeconds: 1200, P90Seconds: 1800, Band: BandElite},
			},
		},
		{
			App: htmlHostile, Kind: "terraform", Labels: map[string]string{"env": "staging", "owner": htmlHostile},
			Metrics: Metrics{
				DeploymentFrequency: DeploymentFrequency{Successful: 7, PerDay: 7.0 / 84, DeployDays: 3, Band: BandMedium,
					Series: []int{1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 1}},
				ChangeFailureRate: ChangeFailureRate{Completed: 8, Failed: 1, Rate: 0.125, Band: BandElite,
					Series: []float64{0, -1, -1, 0, 1, 0, -1, 0, 0, -1, 0, 0}},
				LeadTime: Durations{Count: 20, Deployments: 7, Clamped: 1, MedianSeconds: 3 * 86400, P90Seconds: 9 * 86400, Band: BandMedium,
					Series: []float64{86400, -1, -1, 3 * 86400, -1, 9 * 86400, -1, 86400, 2 * 86400, -1, 3 * 86400, 86400}},
				TimeToRestore: TimeToRestore{Incidents: 2, Restored: 1, Open: 1, MedianSeconds: 10800, P90Seconds: 10800, Band: BandHigh},
			},
		},
		{
			App: "legacy-batch", Kind: "lambda",
			Metrics: Metrics{
				DeploymentFrequency: DeploymentFrequency{Series: make([]int, 12)},
				ChangeFailureRate:   ChangeFailureRate{Series: []float64{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}},
				LeadTime:            Durations{Series: []float64{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}},
			},
		},
	}
	r.Notes = []string{
		"2 records folded by pipe gc count in the deployment frequency but not in the lead time.",
		"14 commits are not in the clone (shallow?): see https://evil.example/x.png " + `<img src=x onerror=alert(1)>`,
	}
	return r
}

func renderHTML(t *testing.T, r *Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestHTMLGolden(t *testing.T) {
	page := renderHTML(t, htmlFixture())
	golden(t, "insights.golden.html", page)
	checkHTMLSafe(t, page)
	svgs := htmlSVGs(t, page)
	if len(svgs) != 3 {
		t.Fatalf("%d <svg> elements, want 3", len(svgs))
	}
	freq, lead, cfr := svgs[0], svgs[1], svgs[2]
	// Bars only for the buckets with deployments (10 of 12); one line per
	// run of buckets with a value, none drawn through the gaps.
	if got := freq.count["rect"]; got != 10 {
		t.Errorf("frequency chart: %d bars, want 10", got)
	}
	if got := lead.count["circle"]; got != 9 {
		t.Errorf("lead time chart: %d points, want 9", got)
	}
	if got := lead.count["path"]; got != 4 {
		t.Errorf("lead time chart: %d line segments, want 4 (broken at the 3 gaps)", got)
	}
	if got := cfr.count["circle"]; got != 10 {
		t.Errorf("failure rate chart: %d points, want 10", got)
	}
	for i, s := range svgs {
		if s.count["title"] == 0 || s.attr["role"] != "img" || s.attr["aria-label"] == "" {
			t.Errorf("svg %d is not labelled: role %q, aria-label %q, %d <title>", i, s.attr["role"], s.attr["aria-label"], s.count["title"])
		}
	}
	for _, want := range []string{
		"37 successful deployments over 84 days, on 21 distinct days",
		"3 of 41 failed (2 rolled back), 1 cancelled",
		"median 2h10m, p90 1d4h over 120 commits in 37 deployments",
		"median 25m, p90 3h over 4 incidents (1 open)",
		"2024-01-01 – 2024-03-25 (84 days), by week",
		"3.1 per week", "7.3%",
		`<span class="badge band-none">no data</span>`,
		"owner=&lt;script&gt;alert(1)&lt;/script&gt;",
		`<div class="app">&lt;script&gt;alert(1)&lt;/script&gt;</div>`,
		"&lt;img src=x onerror=alert(1)&gt;",
		"median lead time", "deployments", "25%", "2024-03-18",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Applications in the report's order.
	a, b, c := strings.Index(page, ">checkout<"), strings.Index(page, ">&lt;script&gt;alert(1)&lt;/script&gt;<"), strings.Index(page, ">legacy-batch<")
	if !(a >= 0 && a < b && b < c) {
		t.Errorf("applications out of the report's order: %d %d %d", a, b, c)
	}
}

// TestHTMLShapes renders the edge cases of the series: they must give a
// well-formed page with three labelled charts and no NaN or infinity.
func TestHTMLShapes(t *testing.T) {
	day0 := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	days := func(n int) []time.Time {
		var b []time.Time
		for i := 0; i < n; i++ {
			b = append(b, day0.AddDate(0, 0, i))
		}
		return b
	}
	fill := func(n int, f func(i int) float64) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = f(i)
		}
		return s
	}
	huge := make([]int, 400)
	for i := range huge {
		huge[i] = (i % 7) * 1e12
	}
	for _, c := range []struct {
		name string
		r    *Report
		// counts of elements in the three charts
		bars, leadPoints, cfrPoints int
		texts                       []string
	}{
		{
			name:  "no bucket",
			r:     &Report{SchemaVersion: 1, Since: day0, Until: day0, By: Day},
			texts: []string{"no day in the window", "No application in the report."},
		},
		{
			name:  "nil report fields",
			r:     &Report{},
			texts: []string{"Window ? – ?, by bucket", "no bucket in the window"},
		},
		{
			name: "one bucket",
			r: &Report{SchemaVersion: 1, Since: day0, Until: day0.AddDate(0, 1, 0), By: Month, Buckets: []time.Time{day0},
				Overall: Metrics{
					DeploymentFrequency: DeploymentFrequency{Successful: 1, PerDay: 1.0 / 31, Series: []int{1}, Band: BandLow},
					ChangeFailureRate:   ChangeFailureRate{Completed: 1, Series: []float64{0}},
					LeadTime:            Durations{Count: 1, Deployments: 1, Series: []float64{45}},
				}},
			bars: 1, leadPoints: 1, cfrPoints: 1,
			texts: []string{"2023-01", "1 successful deployment over 31 days", "1 per month", "45s"},
		},
		{
			name: "all zero",
			r: &Report{SchemaVersion: 1, Since: day0, Until: day0.AddDate(0, 0, 30), By: Day, Buckets: days(30),
				Overall: Metrics{
					DeploymentFrequency: DeploymentFrequency{Series: make([]int, 30)},
					ChangeFailureRate:   ChangeFailureRate{Series: fill(30, func(int) float64 { return -1 })},
					LeadTime:            Durations{Series: fill(30, func(int) float64 { return -1 })},
				}},
			texts: []string{"no successful deployment in the window", "no deployed commit in the window", "no completed deployment in the window"},
		},
		{
			name: "400 days, huge values",
			r: &Report{SchemaVersion: 1, Since: day0, Until: day0.AddDate(0, 0, 400), By: Day, Buckets: days(400),
				Overall: Metrics{
					DeploymentFrequency: DeploymentFrequency{Successful: 1 << 50, PerDay: math.MaxFloat64, Series: huge},
					ChangeFailureRate:   ChangeFailureRate{Completed: 1, Rate: 2, Series: fill(400, func(i int) float64 { return float64(i%3) - 1 })},
					LeadTime: Durations{Count: 1, MedianSeconds: 1e300, P90Seconds: math.Inf(1),
						Series: fill(400, func(i int) float64 {
							if i%5 == 0 {
								return -1
							}
							return float64(i) * 1e9
						})},
				}},
			bars: 400 * 6 / 7, leadPoints: 320, cfrPoints: 266,
		},
		{
			name: "series shorter or longer than the buckets",
			r: &Report{SchemaVersion: 1, Since: day0, Until: day0.AddDate(0, 0, 5), By: Day, Buckets: days(5),
				Overall: Metrics{
					DeploymentFrequency: DeploymentFrequency{Series: []int{1, 2}},
					ChangeFailureRate:   ChangeFailureRate{Series: []float64{0, 0, 0, 0, 0, 0, 0, 0}},
					LeadTime:            Durations{Series: []float64{math.NaN(), math.Inf(1), 5, -3}},
				}},
			bars: 2, leadPoints: 1, cfrPoints: 5,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			page := renderHTML(t, c.r)
			checkHTMLSafe(t, page)
			svgs := htmlSVGs(t, page)
			if len(svgs) != 3 {
				t.Fatalf("%d <svg> elements, want 3", len(svgs))
			}
			if got := svgs[0].count["rect"]; got != c.bars {
				t.Errorf("%d bars, want %d", got, c.bars)
			}
			if got := svgs[1].count["circle"]; got != c.leadPoints {
				t.Errorf("%d lead time points, want %d", got, c.leadPoints)
			}
			if got := svgs[2].count["circle"]; got != c.cfrPoints {
				t.Errorf("%d failure rate points, want %d", got, c.cfrPoints)
			}
			for i, s := range svgs {
				// Thinned axis labels: at most 10 dates, and they fit.
				if s.xLabels > htmlMaxXLabels {
					t.Errorf("svg %d: %d x axis labels", i, s.xLabels)
				}
				if s.attr["aria-label"] == "" || s.count["title"] == 0 {
					t.Errorf("svg %d is not labelled", i)
				}
			}
			for _, bad := range []string{"NaN", "Inf", "e+"} {
				for _, s := range svgs {
					if strings.Contains(s.source, bad) {
						t.Errorf("an svg contains %q", bad)
					}
				}
			}
			for _, want := range c.texts {
				if !strings.Contains(page, want) {
					t.Errorf("the page lacks %q", want)
				}
			}
		})
	}
}

func TestHTMLNilReport(t *testing.T) {
	if err := WriteHTML(io.Discard, nil); err == nil {
		t.Error("no error for a nil report")
	}
}

var (
	htmlEventAttr   = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	htmlFetchAttr   = regexp.MustCompile(`(?i)<[^>]*\s(src|srcset|href|xlink:href|action|formaction|poster|data|background|ping)\s*=`)
	htmlFetchTag    = regexp.MustCompile(`(?i)<(script|link|img|iframe|object|embed|base|image|use|foreignObject|audio|video|source|input|form)[\s/>]`)
	htmlURLSchemeIn = regexp.MustCompile(`(?i)https?://|//[a-z0-9.-]+\.[a-z]|javascript:`)
)

// checkHTMLSafe asserts that page runs and fetches nothing: no script, no
// element or attribute that loads a resource, no CSS url() or @import, and
// any URL only in escaped text (between tags), never inside a tag.
func checkHTMLSafe(t *testing.T, page string) {
	t.Helper()
	lower := strings.ToLower(page)
	if strings.Contains(lower, "<script") {
		t.Error("the page contains <script")
	}
	if m := htmlEventAttr.FindString(page); m != "" {
		t.Errorf("an event handler attribute: %q", m)
	}
	if m := htmlFetchAttr.FindString(page); m != "" {
		t.Errorf("an attribute that fetches: %q", m)
	}
	if m := htmlFetchTag.FindString(page); m != "" {
		t.Errorf("an element that fetches: %q", m)
	}
	for _, bad := range []string{"url(", "@import", "@font-face"} {
		if strings.Contains(lower, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	if !strings.Contains(page, `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';`) {
		t.Error("no Content-Security-Policy that forbids loading anything")
	}
	for _, loc := range htmlURLSchemeIn.FindAllStringIndex(page, -1) {
		before := page[:loc[0]]
		if strings.LastIndexByte(before, '<') > strings.LastIndexByte(before, '>') {
			t.Errorf("a URL inside a tag: %q", page[max(0, loc[0]-60):loc[1]])
		}
		if s, e := strings.Index(page, "<style>"), strings.Index(page, "</style>"); loc[0] > s && loc[0] < e {
			t.Errorf("a URL in the style sheet: %q", page[loc[0]:loc[1]])
		}
	}
}

type htmlSVG struct {
	source  string
	attr    map[string]string
	count   map[string]int
	xLabels int
}

// htmlSVGs parses each <svg> element of page as XML.
func htmlSVGs(t *testing.T, page string) []htmlSVG {
	t.Helper()
	var out []htmlSVG
	rest := page
	for {
		i := strings.Index(rest, "<svg")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], "</svg>")
		if j < 0 {
			t.Fatal("an <svg> without </svg>")
		}
		src := rest[i : i+j+len("</svg>")]
		rest = rest[i+j:]
		s := htmlSVG{source: src, attr: map[string]string{}, count: map[string]int{}}
		d := xml.NewDecoder(strings.NewReader(src))
		d.Strict = true
		depth := 0
		for {
			tok, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("svg %d is not well-formed XML: %v\n%s", len(out), err, src)
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				if depth == 0 {
					for _, a := range tok.Attr {
						s.attr[a.Name.Local] = a.Value
					}
				}
				depth++
				s.count[tok.Name.Local]++
				for _, a := range tok.Attr {
					if tok.Name.Local == "text" && a.Name.Local == "dy" && a.Value == "18" {
						s.xLabels++
					}
				}
			case xml.EndElement:
				depth--
			}
		}
		if depth != 0 {
			t.Fatalf("svg %d: unbalanced elements", len(out))
		}
		out = append(out, s)
	}
	return out
}
