// Package redact keeps credentials out of what others can read: it masks
// them in text (the user info and secret query parameters of URLs, secret
// values and their encodings in scripts' output and posted comments) and
// says when a URL would carry them across the network in clear.
package redact

import (
	"net/url"
	"strings"
)

// URL returns rawURL without its credentials, for messages and records:
//
//   - the user info (user:password@ or token@) is dropped; when it cannot
//     be told apart from the path (an '@' after a '/', as in a token
//     holding '/', which url.Parse reads as a host and a path), everything
//     between "://" and the last '@' becomes "***@";
//   - the values of query (and fragment) parameters whose names say they
//     are credentials (token, access_token, password, sig, X-Amz-Signature,
//     api_key, ...) become "***".
//
// It works on the raw string, so a URL that url.Parse rejects is redacted
// too (and then, with no way to tell, everything up to its last '@' is
// taken for user info). Strings without "://" (scp-like git addresses,
// paths) are returned as they are: they carry no password.
func URL(rawURL string) string {
	i := strings.Index(rawURL, "://")
	if i <= 0 || !isScheme(rawURL[:i]) {
		return rawURL
	}
	head, rest := rawURL[:i+3], rawURL[i+3:]
	end := len(rest)
	if q := strings.IndexAny(rest, "?#"); q >= 0 {
		end = q
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if a := strings.IndexByte(rest[end:], '@'); at < 0 && a >= 0 {
		// "https://user:ab?cd@host/": the user info holds a '?' (or a
		// '#'). url.Parse may reject it, or read "cd@host/" as a query,
		// but a query parameter holding an '@' has a name first.
		if _, err := url.Parse(rawURL); err != nil {
			at = strings.LastIndexByte(rest, '@')
		} else if !strings.ContainsAny(rest[end+1:end+a], "=&;") {
			at = end + a
		}
	}
	switch {
	case at < 0:
	case strings.ContainsAny(rest[:at], "/?#"):
		rest = "***@" + rest[at+1:]
	default:
		rest = rest[at+1:]
	}
	return head + maskParams(rest)
}

// Endpoint is URL without the query and the fragment at all (a query
// shows as "?…"): for endpoints a config writes (analysis queries, HTTP
// checks), whose parameters may carry credentials under any name.
func Endpoint(rawURL string) string {
	u := URL(rawURL)
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i] + "?…"
	}
	return u
}

// isScheme reports whether s is a URL scheme (RFC 3986: a letter, then
// letters, digits, '+', '-' or '.').
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// maskParams masks the values of secret parameters in the query and the
// fragment (OAuth puts access_token there) of rest, the URL after "://".
func maskParams(rest string) string {
	q := strings.IndexAny(rest, "?#")
	if q < 0 {
		return rest
	}
	var b strings.Builder
	b.WriteString(rest[:q])
	s := rest[q:]
	for s != "" {
		// s starts with a separator: '?', '#', '&' or ';'.
		b.WriteByte(s[0])
		s = s[1:]
		n := strings.IndexAny(s, "&;#")
		if n < 0 {
			n = len(s)
		}
		param := s[:n]
		s = s[n:]
		name, _, hasValue := strings.Cut(param, "=")
		if hasValue && secretName(name) {
			b.WriteString(name + "=" + Mask)
		} else {
			b.WriteString(param)
		}
	}
	return b.String()
}

// secretName reports whether a query parameter's name says its value is a
// credential.
func secretName(name string) bool {
	if n, err := url.QueryUnescape(name); err == nil {
		name = n
	}
	n := strings.ToLower(strings.NewReplacer("-", "", "_", "", ".", "", " ", "").Replace(name))
	switch n {
	case "sig", "key", "code", "auth", "pass", "jwt":
		return true
	}
	for _, w := range []string{"token", "passw", "pwd", "secret", "signature", "apikey", "accesskey",
		"privatekey", "credential", "authorization", "session"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// URLsIn returns text with every URL in it (scheme://... up to a space,
// a quote or an angle bracket) redacted by URL: for errors of libraries
// that print the URL they were given.
func URLsIn(text string) string {
	if !strings.Contains(text, "://") {
		return text
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "://")
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		start := i
		for start > 0 && schemeByte(text[start-1]) {
			start--
		}
		end := i + 3
		for end < len(text) && !urlEnd(text[end]) {
			end++
		}
		b.WriteString(text[:start])
		b.WriteString(URL(text[start:end]))
		text = text[end:]
	}
}

func schemeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'
}

func urlEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '<', '>':
		return true
	}
	return false
}

// Error returns err with the URLs in its message redacted (errors.Is and
// errors.As still see err); nil for nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := URLsIn(msg); red != msg {
		return &redactedError{msg: red, err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
