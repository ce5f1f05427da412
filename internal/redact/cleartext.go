package redact

import (
	"net"
	"net/url"
	"strings"
)

// Cleartext reports whether credentials sent to rawURL would cross the
// network unencrypted: an http:// URL whose host is not the loopback
// interface (localhost, 127.0.0.0/8, ::1); an http:// URL that does not
// parse counts (its host cannot be known). Callers refuse to attach a token or a
// password then, and say to use https.
func Cleartext(rawURL string) bool {
	rawURL = strings.TrimSpace(rawURL)
	u, err := url.Parse(rawURL)
	if err != nil {
		return len(rawURL) >= 7 && strings.EqualFold(rawURL[:7], "http://")
	}
	if !strings.EqualFold(u.Scheme, "http") {
		return false
	}
	return !Loopback(u.Hostname())
}

// Loopback reports whether host (a name or an IP address, without a port)
// is this machine's loopback interface.
func Loopback(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
