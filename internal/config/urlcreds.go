package config

import "strings"

// Credentials belong in their own keys (client_secret, sasl.password), which are redacted
// wherever a config is shown. A URL or broker address that carries them (user:password@host)
// is refused, and shown only through shownURL, so that no error, print or log repeats them.

// shownURL is s with its userinfo ("user@" or "user:password@" in the authority; without a
// "scheme://" the text up to the first '/' counts as authority) replaced by "[redacted]".
// When the authority holds none but an '@' comes before any query or fragment, everything
// from the scheme to that '@' is hidden: a password holding '/' ends the authority early, so
// that text may be a secret too. s holds credentials exactly when shownURL(s) != s.
func shownURL(s string) string {
	at := lastAt(s, "/?#")
	if at < 0 {
		at = lastAt(s, "?#")
	}
	if at < 0 {
		return s
	}
	return s[:authorityStart(s)] + redacted + s[at:]
}

// lastAt returns the index in s of the last '@' between the start of the authority and the
// first of the stop characters, or -1.
func lastAt(s, stop string) int {
	start := authorityStart(s)
	end := len(s)
	if i := strings.IndexAny(s[start:], stop); i >= 0 {
		end = start + i
	}
	if i := strings.LastIndex(s[start:end], "@"); i >= 0 {
		return start + i
	}
	return -1
}

func authorityStart(s string) int {
	if i := strings.Index(s, "://"); i >= 0 {
		return i + len("://")
	}
	return 0
}
