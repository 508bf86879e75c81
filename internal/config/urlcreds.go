package config

import "strings"

// Credentials belong in their own keys (client_secret, sasl.password), which are redacted
// wherever a config is shown. A URL or broker address that carries them (user:password@host)
// is refused, and so is a stream-sea URL with a query or fragment (?token=...: stream-sea's
// API takes none, so one is either a mistake or a secret). Such a URL is shown only through
// shownURL, so that no error, print or log repeats what it holds.

// shownURL is s with its userinfo ("user@" or "user:password@" in the authority; without a
// "scheme://" the text up to the first '/' counts as authority) replaced by "[redacted]", and
// with whatever follows its first '?' or '#' replaced by "[redacted]". When the authority
// holds none but an '@' comes before any query or fragment, everything from the scheme to
// that '@' is hidden: a password holding '/' ends the authority early, so that text may be a
// secret too. Likewise when an '@' comes after a '?' or '#' that ends the authority: the
// authority may be the start of a password holding that character.
func shownURL(s string) string {
	head, tail := splitQuery(s)
	if len(tail) > 1 {
		tail = tail[:1] + redacted
	}
	if at := userinfoEnd(s); at >= 0 {
		return head[:authorityStart(head)] + redacted + head[at:] + tail
	}
	return head + tail
}

// holdsCredentials reports whether s has userinfo, as shownURL finds it.
func holdsCredentials(s string) bool { return userinfoEnd(s) >= 0 }

// hasQuery reports whether s has a query or a fragment (an empty one included).
func hasQuery(s string) bool {
	_, tail := splitQuery(s)
	return tail != ""
}

// splitQuery splits s before its first '?' or '#'.
func splitQuery(s string) (head, tail string) {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// userinfoEnd returns the index in s of the '@' that ends its userinfo, the index of the '?'
// or '#' that ends the authority when an '@' follows it, or -1 when s has no userinfo.
func userinfoEnd(s string) int {
	head, tail := splitQuery(s)
	if at := lastAt(head, "/"); at >= 0 {
		return at
	}
	if at := lastAt(head, ""); at >= 0 {
		return at
	}
	if tail != "" && strings.Contains(tail, "@") && !strings.Contains(head[authorityStart(head):], "/") {
		return len(head)
	}
	return -1
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
