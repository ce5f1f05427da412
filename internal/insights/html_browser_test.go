//go:build unix

package insights

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// htmlChromium is Debian's chromium package (.ci/run installs it).
const htmlChromium = "/usr/bin/chromium"

// TestHTMLInChromium opens the golden fixture's page in headless Chromium:
// a screenshot must show the charts' colours and no console message (the
// page has no script, so any is an error: a Content-Security-Policy
// violation, a failed load), and the DOM must hold the three charts.
func TestHTMLInChromium(t *testing.T) {
	if _, err := os.Stat(htmlChromium); err != nil {
		if os.Getenv("PIPE_REQUIRE_BROWSER") == "" {
			t.Skipf("%s is absent (Debian's chromium package, which .ci/run installs): the HTML report is not checked in a browser; set PIPE_REQUIRE_BROWSER=1 to make this a failure", htmlChromium)
		}
		t.Fatalf("PIPE_REQUIRE_BROWSER is set and %s is absent: %v", htmlChromium, err)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "insights.html")
	var buf bytes.Buffer
	if err := WriteHTML(&buf, htmlFixture()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + page

	shot := filepath.Join(dir, "page.png")
	start := time.Now()
	_, stderr := runChromium(t, dir, "shot", "--screenshot="+shot, url)
	t.Logf("screenshot in %v", time.Since(start).Round(time.Millisecond))
	checkBrowserConsole(t, stderr)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 2400 {
		t.Errorf("screenshot of %v, want 1280x2400", b)
	}
	counts := htmlPixelCounts(img, htmlColourFrequency, htmlColourLeadTime, htmlColourFailure)
	t.Logf("pixels: frequency bars %d, lead time line %d, failure rate line %d, not background %d",
		counts[0], counts[1], counts[2], counts[3])
	// The fixture's 10 bars cover tens of thousands of pixels; the lines
	// and points a few hundred each.
	if counts[0] < 5000 {
		t.Errorf("%d pixels of the bars' colour %s: the frequency chart did not render", counts[0], htmlColourFrequency)
	}
	if counts[1] < 200 {
		t.Errorf("%d pixels of the lead time colour %s: the lead time chart did not render", counts[1], htmlColourLeadTime)
	}
	if counts[2] < 200 {
		t.Errorf("%d pixels of the failure rate colour %s: the failure rate chart did not render", counts[2], htmlColourFailure)
	}
	if counts[3] < 1280*2400/20 {
		t.Errorf("only %d pixels differ from the background: a blank page?", counts[3])
	}

	start = time.Now()
	dom, stderr := runChromium(t, dir, "dom", "--dump-dom", url)
	t.Logf("DOM dump in %v", time.Since(start).Round(time.Millisecond))
	checkBrowserConsole(t, stderr)
	if n := strings.Count(dom, "<svg"); n != 3 {
		t.Errorf("the DOM has %d <svg> elements, want 3", n)
	}
	if n := strings.Count(dom, "<rect"); n != 10 {
		t.Errorf("the DOM has %d bars, want 10", n)
	}
	if strings.Contains(strings.ToLower(dom), "<script") {
		t.Error("the DOM has a script element")
	}
	if !strings.Contains(dom, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the hostile app name is not in the DOM as text")
	}
}

// runChromium runs headless Chromium with args within 60 s, in its own
// process group (killed whole on timeout, and of any straggler after), with
// a profile and config of its own under dir.
func runChromium(t *testing.T, dir, name string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	home := filepath.Join(dir, name)
	all := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(home, "profile"),
		"--enable-logging=stderr", "--v=0",
		"--window-size=1280,2400",
	}, args...)
	cmd := exec.CommandContext(ctx, htmlChromium, all...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_CACHE_HOME="+filepath.Join(home, "cache"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	err := cmd.Wait()
	// Whatever Chromium left behind in its group (a crash handler) goes too.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("chromium %s: killed after 60 s; stderr:\n%s", name, htmlTail(errb.String()))
	}
	if err != nil {
		t.Fatalf("chromium %s: %v; stderr:\n%s", name, err, htmlTail(errb.String()))
	}
	return out.String(), errb.String()
}

// checkBrowserConsole fails on any console message or uncaught error in
// Chromium's log: the page has no script, so a console line can only be
// an error (a blocked load, a CSP violation).
func checkBrowserConsole(t *testing.T, stderr string) {
	t.Helper()
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "CONSOLE") || strings.Contains(line, "Uncaught") || strings.Contains(line, "Content Security Policy") {
			t.Errorf("browser console: %s", line)
		}
	}
}

// htmlPixelCounts counts the pixels close to each colour (#rrggbb), then
// those that differ from the page's background and white.
func htmlPixelCounts(img image.Image, colours ...string) []int {
	type rgb struct{ r, g, b int }
	parse := func(s string) rgb {
		var c [3]int
		for i := range c {
			var v int
			for _, ch := range s[1+2*i : 3+2*i] {
				v *= 16
				switch {
				case ch >= '0' && ch <= '9':
					v += int(ch - '0')
				default:
					v += int(ch-'a') + 10
				}
			}
			c[i] = v
		}
		return rgb{c[0], c[1], c[2]}
	}
	near := func(a, b rgb, tol int) bool {
		d := func(x, y int) bool { return x-y <= tol && y-x <= tol }
		return d(a.r, b.r) && d(a.g, b.g) && d(a.b, b.b)
	}
	want := make([]rgb, len(colours))
	for i, c := range colours {
		want[i] = parse(c)
	}
	background, white := parse("#f8fafc"), parse("#ffffff")
	counts := make([]int, len(colours)+1)
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			p := rgb{int(r >> 8), int(g >> 8), int(bl >> 8)}
			for i, w := range want {
				if near(p, w, 16) {
					counts[i]++
				}
			}
			if !near(p, background, 2) && !near(p, white, 2) {
				counts[len(colours)]++
			}
		}
	}
	return counts
}

func htmlTail(s string) string {
	if len(s) > 3000 {
		return "..." + s[len(s)-3000:]
	}
	return s
}
