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
	"strings"

	"sigs.k8s.io/kustomize/api/types"
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
			return b.remoteEntry(dir, doc, r, rr, ns, depth, at)
		}
	} else if isRemoteRef(r.value) {
		return errorf(name, line, "%s: %q is remote: pipe fetches remote resources, bases and components, not %s: vendor the file into the repository and refer to it by a relative path", r.field, redactURL(r.value), r.field)
	}
	if filepath.IsAbs(r.value) {
		if t.desc != "" {
			return at(fmt.Errorf("an absolute path in a remote base: everything a remote base reads must be in its repository (%s)", t.desc))
		}
		return nil // kustomize refuses it or kustFS does
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
func (b *kbuild) remoteEntry(dir string, doc *kdoc, r kref, rr *remoteRef, ns string, depth int, at func(error) error) error {
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
		return b.replaceEntry(doc, r, local, at)
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
	return b.replaceEntry(doc, r, filepath.ToSlash(rel), at)
}

// replaceEntry rewrites the entry r to name local instead.
func (b *kbuild) replaceEntry(doc *kdoc, r kref, local string, at func(error) error) error {
	if !doc.replace(r.field, r.value, local) {
		return at(fmt.Errorf("pipe could not rewrite this entry to the fetched copy (is the kustomization one YAML mapping, the entry in its own %s list, not through a merge key?)", r.field))
	}
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
