package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/gitops-pipe/pipe/internal/lazyre"
)

// MaxFileSize bounds how much of a configuration file is read. Real configs
// are a few kilobytes; the bound keeps memory flat on a stray huge file.
const MaxFileSize = 4 << 20

// File is one parsed configuration document.
type File struct {
	// Path is the file's path as given to the loader (repository-relative
	// when loaded through a Repo).
	Path string `json:"path"`
	Kind Kind   `json:"kind,omitempty"`
	// Spec is a pointer to the kind's spec type (e.g. *KubernetesApplicationSpec);
	// nil when the envelope could not be read.
	Spec      any            `json:"-"`
	Positions map[string]Pos `json:"-"`
	Diags     Diagnostics    `json:"diagnostics,omitempty"`
}

// Valid reports whether the file has no error diagnostics.
func (f *File) Valid() bool { return !f.Diags.HasErrors() }

// ReadFile reads and parses one file of the machine (a path pipe was
// given): it must be a regular file (a named pipe is not waited on) of at
// most MaxFileSize bytes. displayPath is used in diagnostics.
func ReadFile(osPath, displayPath string) *File {
	data, err := fsafe.ReadHostFile(osPath, MaxFileSize)
	return parseRead(displayPath, data, err, parseDocument)
}

// ReadFileIn reads and parses the file rel (slash-separated) of the
// repository opened as root: confined to it (a symlink leading out is
// refused), a regular file, at most MaxFileSize bytes.
func ReadFileIn(root *os.Root, rel string) *File {
	data, err := fsafe.ReadFile(root, filepath.FromSlash(rel), MaxFileSize)
	return parseRead(rel, data, err, parseDocument)
}

// docParser reads the envelope of a parsed YAML document (parseDocument
// for configuration files; other envelopes, like a Lambda function
// manifest, bring their own).
type docParser func(path string, doc *yaml.Node) *File

func parseRead(displayPath string, data []byte, err error, parseDoc docParser) *File {
	var big *fsafe.TooLargeError
	switch {
	case errors.As(err, &big):
		return fileError(displayPath, fmt.Sprintf("file is %s, over the %s limit for a configuration file", humanBytes(big.Size), humanBytes(MaxFileSize)),
			"a configuration file is a few kilobytes; is this the right file?")
	case errors.Is(err, fsafe.ErrOutside):
		return fileError(displayPath, "cannot read file: it leads (through a symlink) outside the repository", "pipe reads configuration only from the repository")
	case err != nil:
		return fileError(displayPath, fmt.Sprintf("cannot read file: %v", unwrapPathError(err)), "")
	}
	return parseYAML(displayPath, data, parseDoc)
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func fileError(path, msg, hint string) *File {
	return &File{Path: path, Diags: Diagnostics{{File: path, Severity: SeverityError, Message: msg, Hint: hint}}}
}

// ParseFile parses one configuration document from data. It never panics:
// every problem becomes a diagnostic.
func ParseFile(path string, data []byte) *File { return parseYAML(path, data, parseDocument) }

// parseYAML checks data (size, text, YAML syntax, aliases, one document)
// and hands the document to parseDoc.
func parseYAML(path string, data []byte, parseDoc docParser) *File {
	if len(data) > MaxFileSize {
		return fileError(path, fmt.Sprintf("file is %s, over the %s limit for a configuration file", humanBytes(int64(len(data))), humanBytes(MaxFileSize)), "")
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return fileError(path, "this is a binary file, not YAML", "a configuration file is UTF-8 text")
	}
	if !utf8.Valid(data) {
		line, col := invalidUTF8Pos(data)
		return &File{Path: path, Diags: Diagnostics{{File: path, Line: line, Column: col, Severity: SeverityError,
			Message: "invalid UTF-8", Hint: "save the file as UTF-8"}}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return fileError(path, "file is empty", "a configuration file starts with `apiVersion: "+APIVersion+"` and `kind:`")
		}
		return yamlSyntaxError(path, err)
	}
	if d := checkAliases(path, &doc); d != nil {
		return &File{Path: path, Diags: Diagnostics{*d}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		f := parseDoc(path, &doc)
		f.Diags = append(f.Diags, Diagnostic{File: path, Line: extra.Line, Column: extra.Column, Severity: SeverityError,
			Message: "a configuration file holds one document; found a second one", Hint: "move it to a file of its own"})
		return f
	} else if !errors.Is(err, io.EOF) {
		f := parseDoc(path, &doc)
		f.Diags = append(f.Diags, yamlSyntaxError(path, err).Diags...)
		return f
	}
	return parseDoc(path, &doc)
}

var yamlLineRe = lazyre.New(`^yaml: line (\d+): (.*)$`)

func yamlSyntaxError(path string, err error) *File {
	msg := err.Error()
	d := Diagnostic{File: path, Severity: SeverityError, Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
	if m := yamlLineRe().FindStringSubmatch(msg); m != nil {
		d.Line, _ = strconv.Atoi(m[1])
		d.Message = "invalid YAML: " + m[2]
	}
	if strings.Contains(msg, "found character that cannot start any token") {
		d.Hint = "YAML does not allow tabs for indentation; use spaces"
	}
	return &File{Path: path, Diags: Diagnostics{d}}
}

func invalidUTF8Pos(data []byte) (line, col int) {
	line, col = 1, 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			return line, col
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		data = data[size:]
	}
	return line, col
}

// parseDocument reads the envelope (apiVersion, kind, spec) and decodes the spec.
func parseDocument(path string, doc *yaml.Node) *File {
	return parseEnvelope(path, doc, newSpec, kindStrings())
}

// parseEnvelope reads the envelope (apiVersion, kind, spec) and decodes the
// spec into specFor(kind); kinds are the kinds specFor knows, for hints.
func parseEnvelope(path string, doc *yaml.Node, specFor func(Kind) any, kinds []string) *File {
	d := NewDecoder(path)
	f := &File{Path: path}
	root := doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return fileError(path, "file is empty", "")
		}
		root = root.Content[0]
	}
	root = resolveAlias(root)
	if isNull(root) {
		return fileError(path, "file is empty", "a configuration file starts with `apiVersion: "+APIVersion+"` and `kind:`")
	}
	if root.Kind != yaml.MappingNode {
		d.Errorf(root, "", "a configuration file is a mapping with `apiVersion`, `kind` and `spec`", "expected a mapping at the top of the file, got %s", kindName(root))
		f.Diags = d.Diags
		return f
	}
	var apiVersion, kind, spec *yaml.Node
	for _, kv := range d.mappingPairs(root, "") {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "apiVersion":
			apiVersion = resolveAlias(v)
		case "kind":
			kind = resolveAlias(v)
		case "spec":
			spec = v
		default:
			hint := unknownHint(k.Value, []string{"apiVersion", "kind", "spec"})
			if k.Value == "metadata" {
				hint = "pipe configs have no metadata; the app's name goes in spec.name"
			}
			d.Errorf(k, k.Value, hint, "unknown field `%s`", k.Value)
		}
	}
	switch {
	case apiVersion == nil:
		d.Errorf(root, "apiVersion", "add `apiVersion: "+APIVersion+"`", "missing required field `apiVersion`")
	case apiVersion.Kind != yaml.ScalarNode || apiVersion.Value != APIVersion:
		hint := "pipe reads PipeCD's `" + APIVersion + "` format"
		d.Errorf(apiVersion, "apiVersion", hint, "unsupported apiVersion %q", truncate(apiVersion.Value, 60))
	}
	if kind == nil {
		d.Errorf(root, "kind", "one of: "+strings.Join(kinds, ", "), "missing required field `kind`")
		f.Diags = d.Diags
		return f
	}
	f.Kind = Kind(kind.Value)
	specVal := specFor(f.Kind)
	if kind.Kind != yaml.ScalarNode || specVal == nil {
		d.Errorf(kind, "kind", enumHint(kind.Value, kinds), "unknown kind %q", truncate(kind.Value, 60))
		f.Kind = ""
		f.Diags = d.Diags
		return f
	}
	d.Kind = f.Kind
	if spec == nil {
		d.Errorf(root, "spec", "", "missing required field `spec`")
		f.Diags = d.Diags
		return f
	}
	d.Positions["spec"] = Pos{spec.Line, spec.Column}
	d.Decode(spec, specVal, "spec")
	f.Spec = specVal
	f.Positions = d.Positions
	f.Diags = d.Diags
	return f
}

func kindStrings() []string {
	var s []string
	for _, k := range AllKinds() {
		s = append(s, string(k))
	}
	return s
}
