package fieldedit

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/gitops-pipe/pipe/internal/lazyre"
)

// FormatScalar writes v as a YAML scalar in style (yaml.v3's: 0 for
// plain, yaml.SingleQuotedStyle or yaml.DoubleQuotedStyle) when it reads
// back as v in that style, and double-quoted otherwise. A plain scalar is
// written only if it resolves to tag (such as "!!str" or "!!int"; "" for
// any tag); flow says the scalar may stand in a flow collection ({...},
// [...]), where commas and brackets end a plain scalar. A string that
// YAML 1.1 reads as another type (yes, off, 1:20) is double-quoted, as
// yaml.v3's encoder does: Kubernetes and Helm (sigs.k8s.io/yaml) read
// YAML 1.1.
func FormatScalar(v string, style yaml.Style, tag string, flow bool) string {
	text, _ := formatScalar(v, style, tag, flow)
	return text
}

// formatScalar is FormatScalar, also saying whether it wrote v plain.
func formatScalar(v string, style yaml.Style, tag string, flow bool) (string, bool) {
	switch {
	case style&yaml.SingleQuotedStyle != 0 && singleFits(v):
		return "'" + strings.ReplaceAll(v, "'", "''") + "'", false
	case style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 && plainFits(v, flow):
		if t, ok := resolvePlain(v); ok && (tag == "" || t == tag && (t != "!!str" || yaml11Tag(v) == "")) {
			return v, true
		}
	}
	return doubleQuoted(v), false
}

// inlineRune reports whether YAML reads r written raw on one line as r: a
// printable character that is neither a line break nor a tab.
func inlineRune(r rune) bool {
	switch {
	case r >= 0x20 && r <= 0x7e:
		return true
	case r == 0x2028 || r == 0x2029 || r == 0xfeff:
		return false
	case r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

// plainFits reports whether v can be written as a plain scalar: one line
// of printable characters, no leading or trailing blank, nothing that
// YAML reads as an indicator, a comment, a key or a document marker.
func plainFits(v string, flow bool) bool {
	if v == "" || !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if !inlineRune(r) {
			return false
		}
	}
	if v[0] == ' ' || v[len(v)-1] == ' ' || v[len(v)-1] == ':' ||
		strings.Contains(v, ": ") || strings.Contains(v, " #") ||
		strings.HasPrefix(v, "---") || strings.HasPrefix(v, "...") {
		return false
	}
	if flow && strings.ContainsAny(v, ",[]{}") {
		return false
	}
	if c := v[0]; strings.IndexByte("?:,[]{}#&*!|>'\"%@`", c) >= 0 {
		return false
	} else if c == '-' && (len(v) == 1 || !strings.ContainsRune("0123456789.", rune(v[1]))) {
		// -1, -.5 and -.inf are numbers; "- x" is a sequence, "-x"
		// reads back but is not worth the doubt.
		return false
	}
	return true
}

// resolvePlain is the tag YAML gives v written plain; false when it
// would not read back as the scalar v.
func resolvePlain(v string) (string, bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(v), &doc); err != nil || len(doc.Content) != 1 {
		return "", false
	}
	n := doc.Content[0]
	if n.Kind != yaml.ScalarNode || n.Style != 0 || n.Value != v {
		return "", false
	}
	return n.ShortTag(), true
}

// yaml11Tag is the tag YAML 1.1 gives v written plain where YAML 1.2
// (yaml.v3) reads it as a string: "!!bool" for y, yes, on, n, no, off
// (in their three cases), "!!int" or "!!float" for a sexagesimal number
// (1:20, 1:20.5); "" when both read it alike. These are the strings yaml.v3's encoder
// quotes (isOldBool, isBase60Float) for YAML 1.1 readers such as
// sigs.k8s.io/yaml.
func yaml11Tag(v string) string {
	switch v {
	case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
		"n", "N", "no", "No", "NO", "off", "Off", "OFF":
		return "!!bool"
	}
	if v != "" && strings.IndexByte(v, ':') >= 0 && strings.IndexByte("+-0123456789", v[0]) >= 0 && base60().MatchString(v) {
		if strings.Contains(v, ".") {
			return "!!float"
		}
		return "!!int"
	}
	return ""
}

// base60 is yaml.v3's (encode.go) pattern of YAML 1.1's sexagesimal numbers.
var base60 = lazyre.New(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`)

// singleFits reports whether v can be written single-quoted on one line.
func singleFits(v string) bool {
	for _, r := range v {
		if !inlineRune(r) {
			return false
		}
	}
	return utf8.ValidString(v)
}

// doubleQuoted writes v as a double-quoted scalar, escaping what YAML
// would not read back as itself.
func doubleQuoted(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('"')
	for _, r := range v {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case 0:
			b.WriteString(`\0`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		case 0x1b:
			b.WriteString(`\e`)
		case 0x85:
			b.WriteString(`\N`)
		case 0x2028:
			b.WriteString(`\L`)
		case 0x2029:
			b.WriteString(`\P`)
		default:
			switch {
			case inlineRune(r):
				b.WriteRune(r)
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02X`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04X`, r)
			default:
				fmt.Fprintf(&b, `\U%08X`, r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// block is how a block scalar is rewritten: its new header and the
// content that replaces its content lines.
type block struct {
	header, content string
}

// blockScalar writes a multi-line v as the content of the block scalar
// sp of src, keeping its indicator (| or >) and indentation; false when v
// is not multi-line or cannot be written so (a character that needs an
// escape, more than one trailing line break).
func blockScalar(src []byte, sp Span, parent int, v string) (block, bool) {
	if !strings.Contains(v, "\n") || !utf8.ValidString(v) {
		return block{}, false
	}
	for _, r := range v {
		if r != '\n' && r != '\t' && !inlineRune(r) {
			return block{}, false
		}
	}
	body, chomp := v, "-"
	if strings.HasSuffix(body, "\n") {
		body, chomp = body[:len(body)-1], ""
	}
	if strings.HasSuffix(body, "\n") || strings.TrimSpace(body) == "" {
		return block{}, false
	}
	lines := strings.Split(body, "\n")
	header := src[sp.Start:sp.End]
	base := max(parent, 0)
	indent := sp.Indent
	if indent < 0 {
		indent = base + 2
	}
	explicit := strings.ContainsAny(string(header), "123456789")
	for _, l := range lines {
		if l != "" {
			explicit = explicit || l[0] == ' ' || l[0] == '\t'
			break
		}
	}
	h := string(header[0])
	if explicit {
		digit := indent - base
		if digit < 1 || digit > 9 {
			return block{}, false
		}
		h += string(rune('0' + digit))
	}
	h += chomp

	br := "\n"
	if b := breakLen(src, sp.Tail); b > 0 {
		br = string(src[sp.Tail : sp.Tail+b])
	}
	folded := header[0] == '>'
	pad := strings.Repeat(" ", indent)
	var c strings.Builder
	prev := ""
	for _, l := range lines {
		c.WriteString(br)
		if l == "" {
			continue
		}
		// In a folded scalar, a line break between two lines that do not
		// start with a blank reads as a space: one more keeps it a break.
		if folded && prev != "" && !isBlank(prev[0]) && !isBlank(l[0]) {
			c.WriteString(br)
		}
		c.WriteString(pad)
		c.WriteString(l)
		prev = l
	}
	if chomp == "" && sp.Stop >= len(src) {
		c.WriteString(br)
	}
	return block{header: h, content: c.String()}, true
}
