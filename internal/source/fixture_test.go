package source

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

// runGit runs the git binary in dir (tests only: it builds fixtures and is the
// reference pipe's results are compared with) and returns its stdout.
func runGit(tb testing.TB, dir string, stdin []byte, args ...string) string {
	tb.Helper()
	out, err := gitErr(dir, stdin, args...)
	if err != nil {
		tb.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func gitErr(dir string, stdin []byte, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME="+os.TempDir(),
		"GIT_AUTHOR_NAME=A U Thor", "GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=C O Mitter", "GIT_COMMITTER_EMAIL=committer@example.com",
		"GIT_AUTHOR_DATE=1700000000 +0000", "GIT_COMMITTER_DATE=1700000000 +0000")
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%v: %s", err, stderr.String())
	}
	return stdout.String(), nil
}

// gitNames runs `git diff --name-only --no-renames -z a b`: what ChangedFiles
// must return (renames as deletion plus addition, paths unquoted).
func gitNames(tb testing.TB, dir, a, b string) []string {
	tb.Helper()
	out := runGit(tb, dir, nil, "diff", "--name-only", "--no-renames", "-z", a, b)
	return splitZ(out)
}

func splitZ(s string) []string {
	var out []string
	for _, f := range strings.Split(s, "\x00") {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// gen writes a git fast-import stream of a monorepo of applications: commit 1
// creates apps/app-NNNN/{app.pipecd.yaml,deployment.yaml,service.yaml[,configmap.yaml]}
// and shared files; each later commit changes one to three random
// applications. With edges, commits also rename, delete, chmod, nest, turn
// files into directories and back, add symlinks and submodule entries.
type gen struct {
	rnd   *rand.Rand
	apps  int
	edges bool
	files map[string]genFile
	buf   bytes.Buffer
	n     int // commits written
	ops   []string
}

type genFile struct{ mode, content string }

func newGen(apps int, seed uint64, edges bool) *gen {
	return &gen{rnd: rand.New(rand.NewPCG(seed, 1)), apps: apps, edges: edges, files: map[string]genFile{}}
}

func appDir(i int) string { return fmt.Sprintf("apps/app-%04d", i) }

func (g *gen) put(mode, p, content string) {
	g.files[p] = genFile{mode, content}
	if mode == "160000" {
		g.ops = append(g.ops, fmt.Sprintf("M 160000 %s %s\n", content, p))
		return
	}
	g.ops = append(g.ops, fmt.Sprintf("M %s inline %s\ndata %d\n%s\n", mode, p, len(content), content))
}

func (g *gen) del(p string) {
	for f := range g.files {
		if f == p || strings.HasPrefix(f, p+"/") {
			delete(g.files, f)
		}
	}
	g.ops = append(g.ops, "D "+p+"\n")
}

func (g *gen) manifest(p string) string {
	return fmt.Sprintf("# %s\nkind: Deployment\nmetadata:\n  name: %s\nspec:\n  replicas: %d\n  image: registry.example.com/%s:v%d\n",
		p, path.Base(path.Dir(p)), g.rnd.IntN(9)+1, path.Base(path.Dir(p)), g.rnd.IntN(1_000_000))
}

func (g *gen) commit(msg string) {
	g.n++
	fmt.Fprintf(&g.buf, "commit refs/heads/main\nmark :%d\n", g.n)
	fmt.Fprintf(&g.buf, "author A U Thor <author@example.com> %d +0000\n", 1700000000+g.n*60)
	fmt.Fprintf(&g.buf, "committer C O Mitter <committer@example.com> %d +0000\n", 1700000000+g.n*60)
	fmt.Fprintf(&g.buf, "data %d\n%s\n", len(msg), msg)
	for _, op := range g.ops {
		g.buf.WriteString(op)
	}
	g.buf.WriteString("\n")
	g.ops = g.ops[:0]
}

func (g *gen) initial() {
	for i := range g.apps {
		d := appDir(i)
		g.put("100644", d+"/app.pipecd.yaml", fmt.Sprintf("apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec:\n  name: app-%04d\n", i))
		names := []string{"deployment.yaml", "service.yaml"}
		if i%2 == 0 {
			names = append(names, "configmap.yaml")
		}
		for _, n := range names {
			g.put("100644", d+"/"+n, g.manifest(d+"/"+n))
		}
	}
	g.put("100644", "README.md", "# monorepo\n")
	g.put("100644", "charts/common/values.yaml", "replicas: 1\n")
	g.commit("initial import")
}

// appFiles lists the current files of an application directory, sorted.
func (g *gen) appFiles(i int) []string {
	prefix := appDir(i) + "/"
	var out []string
	for f := range g.files {
		if strings.HasPrefix(f, prefix) && !strings.HasSuffix(f, "/app.pipecd.yaml") {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

func (g *gen) change() {
	touched := 1 + g.rnd.IntN(3)
	for range touched {
		i := g.rnd.IntN(g.apps)
		d := appDir(i)
		files := g.appFiles(i)
		op := g.rnd.IntN(20)
		if !g.edges {
			op = min(op, 10) // modifications and a few additions
		}
		switch {
		case op < 10 && len(files) > 0:
			f := files[g.rnd.IntN(len(files))]
			if m := g.files[f].mode; m == "100644" || m == "100755" {
				g.put(m, f, g.manifest(f))
			}
		case op == 10:
			f := fmt.Sprintf("%s/overlays/prod/patch-%d.yaml", d, g.rnd.IntN(5))
			g.put("100644", f, g.manifest(f))
		case op == 11 && len(files) > 1: // rename
			f := files[g.rnd.IntN(len(files))]
			if g.files[f].mode == "100644" {
				g.del(f)
				g.put("100644", fmt.Sprintf("%s/renamed-%d.yaml", d, g.rnd.IntN(100)), "renamed\n")
			}
		case op == 12 && len(files) > 1:
			g.del(files[g.rnd.IntN(len(files))])
		case op == 13 && len(files) > 0: // chmod, same content
			f := files[g.rnd.IntN(len(files))]
			if fl := g.files[f]; fl.mode == "100644" {
				g.put("100755", f, fl.content)
			}
		case op == 14:
			g.put("120000", d+"/link", fmt.Sprintf("target-%d", g.rnd.IntN(3)))
		case op == 15:
			g.put("160000", d+"/vendor/sub", fmt.Sprintf("%040x", g.rnd.Uint64()))
		case op == 16 && len(files) > 0: // file becomes a directory
			f := files[g.rnd.IntN(len(files))]
			g.del(f)
			g.put("100644", f+"/inner.yaml", "inner\n")
		case op == 17 && len(files) > 0: // directory becomes a file
			f := files[g.rnd.IntN(len(files))]
			if dir := path.Dir(f); dir != d {
				g.del(dir)
				g.put("100644", dir, "now a file\n")
			}
		case op == 18:
			g.put("100644", d+"/a b/ü-ñ.yaml", g.manifest(d+"/a b/x"))
			g.put("100644", d+"/a-b", "dash\n")
			g.put("100644", d+"/a.b", "dot\n")
		default:
			g.put("100644", "charts/common/values.yaml", fmt.Sprintf("replicas: %d\n", g.rnd.IntN(100)))
		}
	}
	if len(g.ops) > 0 {
		g.commit(fmt.Sprintf("change %d", g.n))
	}
}

// build writes the history (initial commit plus commits changes) into a new
// repository at dir and returns dir.
func (g *gen) build(tb testing.TB, dir string, commits int) string {
	tb.Helper()
	g.initial()
	for g.n < commits+1 {
		g.change()
	}
	runGit(tb, "", nil, "init", "-q", "-b", "main", dir)
	runGit(tb, dir, g.buf.Bytes(), "fast-import", "--quiet")
	return dir
}
