package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// kbuild prepares one kustomize build: it walks the kustomization of the
// application directory and every kustomization it refers to, local or
// remote, before kustomize does. What kustomize would run (plugins, helm)
// or fetch in a way pipe does not is refused; remote bases are fetched
// (kustomize's Git URLs, through Renderer.Git), remote files downloaded
// (through Renderer.HTTP) and helmCharts rendered (pipe's Helm code), and
// the kustomizations naming them are rewritten, in the build's file
// system (kustFS), to name the fetched trees and the rendered files
// instead. kustomize then finds nothing remote to fetch.
type kbuild struct {
	ctx  context.Context
	r    *Renderer
	app  *appTree
	opts *kustOptions
	fs   *kustFS

	remotes   map[string]*fetched
	downloads map[string][]byte
	cleanups  []func()
	done      map[visitKey]bool
	stack     []frame
}

// visitKey is a kustomization visited: its directory, and the namespace
// its helmCharts inherit from the kustomizations above it.
type visitKey struct{ dir, ns string }

// frame is a kustomization being visited, and the entry that led there.
type frame struct{ dir, via string }

func newKbuild(ctx context.Context, r *Renderer, a *appTree, opts *kustOptions) *kbuild {
	return &kbuild{ctx: ctx, r: r, app: a, opts: opts, fs: newKustFS(&ktree{tree: a.tree}),
		remotes: map[string]*fetched{}, downloads: map[string][]byte{}, done: map[visitKey]bool{}}
}

// cleanup removes the trees fetched.
func (b *kbuild) cleanup() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
}

func (b *kbuild) prepare() error {
	return b.visit(b.fs.trees[0], b.app.dir, "", b.app.rel(b.app.dir), 0)
}

// kref is a reference of a kustomization to a file, a directory or a
// remote: its field and value.
type kref struct{ field, value string }

// visit walks the kustomization of dir (a directory of t, symlinks
// evaluated). ns is the namespace helmCharts inherit; depth counts the
// remote bases above.
func (b *kbuild) visit(t *ktree, dir, ns, via string, depth int) error {
	if err := b.ctx.Err(); err != nil {
		return err
	}
	for i, f := range b.stack {
		if f.dir == dir {
			chain := []string{}
			for _, g := range b.stack[i:] {
				chain = append(chain, g.via)
			}
			return fmt.Errorf("cycle: %s → %s", strings.Join(chain, " → "), via)
		}
	}
	if b.done[visitKey{dir, ns}] {
		return nil
	}
	b.done[visitKey{dir, ns}] = true
	b.stack = append(b.stack, frame{dir, via})
	defer func() { b.stack = b.stack[:len(b.stack)-1] }()

	file, data, err := findKustomization(t, dir)
	if err != nil || file == "" {
		return err
	}
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return nil // kustomize reports it, with its own words
	}
	name := t.name(file)
	doc := parseKdoc(data)
	if err := checkInline(name, &k); err != nil {
		return err
	}
	childNS := ns
	if k.Namespace != "" {
		childNS = k.Namespace
	}
	for _, r := range kustomizationRefs(&k) {
		if err := b.ref(t, dir, name, doc, r, childNS, depth); err != nil {
			return err
		}
	}
	charts, globals := helmChartsOf(&k)
	if len(charts) > 0 {
		field := "helmCharts"
		if len(k.HelmCharts) == 0 {
			field = "helmChartInflationGenerator"
		}
		if !b.opts.helm {
			return errorf(name, doc.keyLine(field), "%s: kustomize renders Helm charts only with --enable-helm: set `enable-helm: \"true\"` in input.kustomizeOptions (%s)", field, b.app.configFile())
		}
		if err := b.helmCharts(t, dir, name, doc, field, charts, globals, k.Namespace, ns); err != nil {
			return err
		}
	}
	if !doc.changed {
		return nil
	}
	return b.rewrite(file, name, doc)
}

// findKustomization reads the kustomization file of dir, if any.
func findKustomization(t *ktree, dir string) (string, []byte, error) {
	for _, n := range kustomizationFiles {
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			if err == nil || !exists(p) {
				continue
			}
			// A dangling symlink: read below, for its error.
		}
		real, err := t.confine(p, t.name(p))
		if err != nil {
			return "", nil, &Error{File: t.name(p), Err: err}
		}
		b, err := t.read(real, maxFileSize)
		if err != nil {
			return "", nil, &Error{File: t.name(p), Err: err}
		}
		return p, b, nil
	}
	return "", nil, nil
}

// checkInline checks the inline YAML (patches, generators...), which kyaml
// parses expanding aliases without bound, as it would a file.
func checkInline(name string, k *types.Kustomization) error {
	var inline []string
	for _, p := range k.Patches {
		inline = append(inline, p.Patch)
	}
	for _, p := range k.PatchesJson6902 {
		inline = append(inline, p.Patch)
	}
	for _, p := range k.PatchesStrategicMerge {
		inline = append(inline, string(p))
	}
	inline = append(inline, k.Generators...)
	inline = append(inline, k.Transformers...)
	inline = append(inline, k.Validators...)
	inline = append(inline, k.Resources...)
	for _, y := range inline {
		if strings.Contains(y, "\n") {
			if err := checkAliases(name+" (inline YAML)", []byte(y)); err != nil {
				return err
			}
		}
	}
	return nil
}

// kustomizationRefs lists what a kustomization refers to by path or URL.
func kustomizationRefs(k *types.Kustomization) []kref {
	var refs []kref
	add := func(field string, vs ...string) {
		for _, v := range vs {
			if v != "" {
				refs = append(refs, kref{field, v})
			}
		}
	}
	add("resources", k.Resources...)
	add("bases", k.Bases...)
	add("components", k.Components...)
	add("crds", k.Crds...)
	add("configurations", k.Configurations...)
	add("generators", k.Generators...)
	add("transformers", k.Transformers...)
	add("validators", k.Validators...)
	add("openapi.path", k.OpenAPI["path"])
	for _, p := range k.Patches {
		add("patches.path", p.Path)
	}
	for _, p := range k.PatchesJson6902 {
		add("patchesJson6902.path", p.Path)
	}
	for _, p := range k.PatchesStrategicMerge {
		if s := string(p); !strings.Contains(s, "\n") {
			add("patchesStrategicMerge", s)
		}
	}
	for _, r := range k.Replacements {
		add("replacements.path", r.Path)
	}
	for _, g := range k.ConfigMapGenerator {
		add("configMapGenerator", kvPaths(g.KvPairSources)...)
	}
	for _, g := range k.SecretGenerator {
		add("secretGenerator", kvPaths(g.KvPairSources)...)
	}
	return refs
}

// entryField reports whether kustomize takes the field's entries for
// kustomizations (directories or remote bases) as well as files.
func entryField(field string) bool {
	return field == "resources" || field == "bases" || field == "components"
}

// ref handles one reference of the kustomization name (in directory dir
// of t): a remote entry is fetched and rewritten, a local directory
// visited, a plugin configuration checked. A fetched tree's references
// must stay in it.
func (b *kbuild) ref(t *ktree, dir, name string, doc *kdoc, r kref, ns string, depth int) error {
	if strings.Contains(r.value, "\n") {
		if plugin := r.field == "generators" || r.field == "transformers" || r.field == "validators"; plugin {
			return checkPluginConfigs([]byte(r.value), name, r.field, t.desc != "")
		}
		return nil // an inline document
	}
	line := doc.line(r.field, r.value)
	at := func(err error) error {
		return &Error{File: name, Line: line, Err: fmt.Errorf("%s: %q: %w", r.field, redactURL(r.value), err)}
	}
	if entryField(r.field) {
		rr, err := parseRemote(r.value)
		if err != nil {
			return at(err)
		}
		if rr != nil {
			return b.remoteEntry(t, dir, doc, r, rr, ns, depth, at)
		}
	} else if isRemoteRef(r.value) {
		return errorf(name, line, "%s: %q is remote: pipe fetches remote resources, bases and components, not %s: vendor the file into the repository and refer to it by a relative path", r.field, redactURL(r.value), r.field)
	}
	if filepath.IsAbs(r.value) {
		if t.desc != "" {
			return at(fmt.Errorf("an absolute path in a remote base: everything a remote base reads must be in its repository (%s)", t.desc))
		}
		return nil // kustomize refuses it or treeFS does
	}
	p := filepath.Join(dir, filepath.FromSlash(r.value))
	if t.desc != "" && !within(t.root, p) {
		return at(fmt.Errorf("points outside the remote base's repository (%s): everything a remote base reads must be in its repository", t.desc))
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil || !within(t.root, real) {
		return nil // kustomize reports what is missing, kustFS what is outside
	}
	st, err := os.Stat(real)
	if err != nil {
		return nil
	}
	plugin := r.field == "generators" || r.field == "transformers" || r.field == "validators"
	switch {
	case st.IsDir() && (entryField(r.field) || plugin):
		err := b.visit(t, real, ns, t.name(p), depth)
		var re *Error
		if err != nil && !errors.As(err, &re) {
			return at(err) // a cycle
		}
		return err
	case plugin:
		if data, err := t.read(real, maxFileSize); err == nil {
			return checkPluginConfigs(data, t.name(real), r.field, t.desc != "")
		}
	}
	return nil
}

// remoteEntry fetches a remote entry, visits what it names and rewrites
// the entry to name the fetched copy.
func (b *kbuild) remoteEntry(t *ktree, dir string, doc *kdoc, r kref, rr *remoteRef, ns string, depth int, at func(error) error) error {
	if rr.file != "" {
		if r.field == "components" {
			return at(errors.New("a component is a directory: give a Git URL of the directory, not the URL of a file"))
		}
		data, err := b.remoteFile(rr.file)
		if err != nil {
			return at(err)
		}
		sum := sha256.Sum256([]byte(rr.file))
		ext := path.Ext(strings.SplitN(rr.file, "?", 2)[0])
		if ext != ".json" && ext != ".yml" {
			ext = ".yaml"
		}
		local := ".pipe-remote-" + hex.EncodeToString(sum[:8]) + ext
		if err := b.fs.addFile(filepath.Join(dir, local), data); err != nil {
			return at(err)
		}
		doc.replace(r.field, r.value, local)
		return nil
	}
	if depth >= maxRemoteDepth {
		return at(fmt.Errorf("more than %d nested remote bases: vendor some into the repository", maxRemoteDepth))
	}
	rt, bdir, err := b.remoteBase(rr)
	if err != nil {
		return at(err)
	}
	if err := b.visit(rt, bdir, ns, redactURL(r.value), depth+1); err != nil {
		return at(err)
	}
	rel, err := filepath.Rel(dir, bdir)
	if err != nil {
		return at(err)
	}
	doc.replace(r.field, r.value, filepath.ToSlash(rel))
	return nil
}

// rewrite sets the rewritten kustomization file in the build's file
// system, after checking that kustomize will find nothing remote in it
// (a list written in a way kdoc does not rewrite, say).
func (b *kbuild) rewrite(file, name string, doc *kdoc) error {
	data, err := doc.bytes()
	if err != nil || doc.root == nil {
		return errorf(name, 0, "pipe could not rewrite this kustomization's remote entries (write it as one YAML mapping): %v", err)
	}
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return errorf(name, 0, "rewriting its remote entries: %v", err)
	}
	for _, r := range kustomizationRefs(&k) {
		if rr, err := parseRemote(r.value); entryField(r.field) && (rr != nil || err != nil) {
			return errorf(name, doc.line(r.field, r.value), "%s: %q: pipe could not rewrite this entry (written through a YAML merge key?): list it in the kustomization's own %s", r.field, redactURL(r.value), r.field)
		}
	}
	if charts, _ := helmChartsOf(&k); len(charts) > 0 {
		return errorf(name, 0, "pipe could not rewrite this kustomization's helmCharts (written through a YAML merge key?): list them in the kustomization's own helmCharts")
	}
	real, err := filepath.EvalSymlinks(file)
	if err != nil {
		return err
	}
	for _, p := range []string{file, real} {
		if err := b.fs.addFile(p, data); err != nil {
			return errorf(name, 0, "this kustomization is built twice, under kustomizations of different namespaces, and its helmCharts render differently for each: set helmCharts[].namespace")
		}
	}
	return nil
}

// checkPluginConfigs refuses builtin plugin configurations (the documents
// of a generators/transformers/validators entry) that would run Helm or
// load a remote file; in a remote base (fetched), their paths must stay in
// its repository.
func checkPluginConfigs(data []byte, file, field string, fetched bool) error {
	for _, d := range splitDocuments(data) {
		var c struct {
			Kind         string   `json:"kind"`
			Path         string   `json:"path"`
			Paths        []string `json:"paths"`
			Files        []string `json:"files"`
			Envs         []string `json:"envs"`
			Env          string   `json:"env"`
			Replacements []struct {
				Path string `json:"path"`
			} `json:"replacements"`
		}
		if err := yaml.Unmarshal(d.data, &c); err != nil {
			continue // kustomize reports it
		}
		if c.Kind == "HelmChartInflationGenerator" {
			return errorf(file, 0, "%s: a HelmChartInflationGenerator configuration runs the helm program: list the chart in the kustomization's helmCharts instead (pipe renders those in-process, with enable-helm)", field)
		}
		vs := append(append(append([]string{c.Path, c.Env}, c.Paths...), c.Envs...), kvPaths(types.KvPairSources{FileSources: c.Files})...)
		for _, r := range c.Replacements {
			vs = append(vs, r.Path)
		}
		for _, v := range vs {
			switch {
			case v == "":
			case isRemoteRef(v):
				return errorf(file, 0, "%s: %s refers to %q, which is remote: pipe fetches remote resources, bases and components only: vendor it into the repository", field, c.Kind, redactURL(v))
			case fetched && (filepath.IsAbs(v) || strings.HasPrefix(path.Clean(filepath.ToSlash(v)), "../")):
				return errorf(file, 0, "%s: %s refers to %q, outside the remote base: everything a remote base reads must be in its repository", field, c.Kind, v)
			}
		}
	}
	return nil
}

func kvPaths(s types.KvPairSources) []string {
	var out []string
	for _, f := range s.FileSources {
		if _, p, ok := strings.Cut(f, "="); ok {
			f = p
		}
		out = append(out, f)
	}
	out = append(out, s.EnvSources...)
	if s.EnvSource != "" {
		out = append(out, s.EnvSource)
	}
	return out
}

var gitUserRe = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// isRemoteRef reports whether kustomize would take a reference for a URL or
// a Git repository (its rules: a URL scheme, an scp-like user@host:path, or
// github.com/...), optionally after a "git::" prefix.
func isRemoteRef(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	l = strings.TrimPrefix(l, "git::")
	for _, p := range []string{"http://", "https://", "ssh://", "file://", "git://", "github.com/", "github.com:", "gh:"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return gitUserRe.MatchString(l)
}
