package redact

import (
	"strings"

	"github.com/gitops-pipe/pipe/internal/lazyre"
)

// SecretName reports whether the name of a value (an environment
// variable, a query parameter, a setting) says the value is a credential:
// DB_PASSWORD, API_KEY, GITHUB_TOKEN, aws_secret_access_key...
func SecretName(name string) bool {
	if secretName(name) {
		return true
	}
	n := strings.ToLower(name)
	for _, w := range []string{"passwd", "private", "cookie", "apikey", "api_key", "dsn", "connection_string", "connectionstring"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return strings.HasSuffix(n, "_key") || strings.HasSuffix(n, "-key")
}

// credentialRe matches values that are credentials whatever they are
// named: provider token formats, private keys, URLs with a password.
var credentialRe = lazyre.New(`^(AKIA|ASIA)[0-9A-Z]{16}$|^gh[pousr]_[0-9A-Za-z]{20,}$|^github_pat_|^glpat-|^xox[abposr]-|^sk_(live|test)_|^sk-[A-Za-z0-9_-]{20,}$|^AIza[0-9A-Za-z_-]{30,}$|-----BEGIN [A-Z ]*PRIVATE KEY-----|^[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@`)

// SecretValue reports whether a value looks like a credential by its
// form: a known token format, a private key, a URL with a password, or a
// long random-looking string (24 characters or more of letters, digits
// and +/=_- (not a path) mixing upper case, lower case and digits, with no spaces).
func SecretValue(v string) bool {
	v = strings.TrimSpace(v)
	if credentialRe().MatchString(v) {
		return true
	}
	if len(v) < 24 || strings.ContainsAny(v, " \t\n.:") || strings.HasPrefix(v, "/") {
		return false
	}
	var upper, lower, digit bool
	for _, r := range v {
		switch {
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		case r == '+' || r == '=' || r == '_' || r == '-' || r == '/':
		default:
			return false
		}
	}
	return upper && lower && digit
}

// SecretVar reports whether the value of a variable (an environment
// variable of a function or a container) is masked in plans and reports:
// always with all, else when its name says it is a credential or a value
// it has (on either side of a change) looks like one.
func SecretVar(all bool, name string, values ...string) bool {
	if all || SecretName(name) {
		return true
	}
	for _, v := range values {
		if SecretValue(v) {
			return true
		}
	}
	return false
}
