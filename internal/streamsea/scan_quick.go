package streamsea

// quickSkipDepth is the deepest nesting quickSkip follows; deeper values take skipValue's
// recursive path.
const quickSkipDepth = 64

// quickSkip returns the index after the well-formed JSON value at or after b[i] (leading
// whitespace skipped), nesting at most maxDepth deep. It is one loop over the bytes, with the
// open containers kept as bits, for skipValue's common case: false means only "not decided
// here" (a syntax error, deeper nesting, an escape it does not know), and skipValue then
// scans the value itself, which reports the error where there is one.
func quickSkip(b []byte, i, maxDepth int) (int, bool) {
	maxDepth = min(maxDepth, quickSkipDepth)
	var objects uint64 // bit k set: the container at depth k+1 is an object
	depth := 0
	for {
		// A value starts at i.
		i = skipSpaceAt(b, i)
		if i >= len(b) {
			return i, false
		}
		var ok bool
		switch c := b[i]; c {
		case '{', '[':
			if depth >= maxDepth {
				return i, false
			}
			j := skipSpaceAt(b, i+1)
			if j < len(b) && (c == '{' && b[j] == '}' || c == '[' && b[j] == ']') {
				i = j + 1
				break // empty: a complete value
			}
			objects, depth, i = objects<<1, depth+1, j
			if c == '{' {
				objects |= 1
				if i, ok = quickMemberKey(b, i); !ok {
					return i, false
				}
			}
			continue // the container's first value
		case '"':
			if i, ok = quickStringEnd(b, i); !ok {
				return i, false
			}
		case 't':
			if i, ok = literalEnd(b, i, "true"); !ok {
				return i, false
			}
		case 'f':
			if i, ok = literalEnd(b, i, "false"); !ok {
				return i, false
			}
		case 'n':
			if i, ok = literalEnd(b, i, "null"); !ok {
				return i, false
			}
		default:
			if i, ok = numberAt(b, i); !ok {
				return i, false
			}
		}
		// A value ended at i: close the containers it completes, then find the next value.
		for {
			if depth == 0 {
				return i, true
			}
			i = skipSpaceAt(b, i)
			if i >= len(b) {
				return i, false
			}
			object := objects&1 == 1
			switch c := b[i]; {
			case c == ',':
				i++
				if object {
					if i, ok = quickMemberKey(b, skipSpaceAt(b, i)); !ok {
						return i, false
					}
				}
			case object && c == '}', !object && c == ']':
				i++
				objects, depth = objects>>1, depth-1
				continue
			default:
				return i, false
			}
			break
		}
	}
}

// quickMemberKey consumes a member's key and its colon at b[i], returning where its value
// may start.
func quickMemberKey(b []byte, i int) (int, bool) {
	i, ok := quickStringEnd(b, i)
	if !ok {
		return i, false
	}
	i = skipSpaceAt(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	return i + 1, true
}

// quickStringEnd returns the index after the string at b[i], escapes included.
func quickStringEnd(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	i++
	for {
		i = skipPlainString(b, i)
		if i >= len(b) {
			return i, false
		}
		switch b[i] {
		case '"':
			return i + 1, true
		case '\\':
			if i+1 >= len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		default: // a control byte
			return i, false
		}
	}
}

func literalEnd(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}
