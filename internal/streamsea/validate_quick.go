package streamsea

// quickMaxDepth bounds the nesting the quick check follows; deeper payloads take the walk.
const quickMaxDepth = 32

// quickValid reports whether payload is valid, for payloads written the common way: the
// members of every object in schema order, each field once, keys unescaped and written
// compactly ("name":), strings without escapes, integers as plain digits. It is one tight
// loop over the bytes, without the path, field-set and problem bookkeeping of walk. It never
// reports true for a payload walk rejects; false means only "not decided here": Validate then
// walks the payload, which finds the problems or accepts what is valid but written otherwise
// (another member order, escapes, 3.0 for an integer).
func (o *objectRule) quickValid(payload []byte) bool {
	i := skipSpaceAt(payload, 0)
	if i >= len(payload) || payload[i] != '{' {
		return false
	}
	i, ok := o.quickObject(payload, i, 1)
	return ok && skipSpaceAt(payload, i) == len(payload)
}

// quickObject checks the object at b[i] == '{' and returns the index after it.
func (o *objectRule) quickObject(b []byte, i, depth int) (int, bool) {
	if depth > quickMaxDepth {
		return i, false
	}
	i++
	for k := range o.fields {
		f := &o.fields[k]
		i = skipSpaceAt(b, i)
		if k > 0 {
			if i >= len(b) || b[i] != ',' {
				return i, false
			}
			i = skipSpaceAt(b, i+1)
		}
		if !f.plain || !f.key.matches(b[i:]) {
			return i, false
		}
		i = skipSpaceAt(b, i+len(f.key.text))
		var ok bool
		if i, ok = f.quickValue(b, i, depth); !ok {
			return i, false
		}
	}
	i = skipSpaceAt(b, i)
	if i >= len(b) || b[i] != '}' {
		return i, false
	}
	return i + 1, true
}

// quickValue checks the value of field f at b[i]; depth is that of the enclosing object.
func (f *fieldRule) quickValue(b []byte, i, depth int) (int, bool) {
	if isNull(b, i) {
		return i + len("null"), true
	}
	if !f.array {
		return f.quickElement(b, i, depth)
	}
	if i >= len(b) || b[i] != '[' || depth+1 > quickMaxDepth {
		return i, false
	}
	i = skipSpaceAt(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = f.quickElement(b, i, depth+1); !ok {
			return i, false
		}
		i = skipSpaceAt(b, i)
		switch {
		case i >= len(b):
			return i, false
		case b[i] == ']':
			return i + 1, true
		case b[i] != ',':
			return i, false
		}
		i = skipSpaceAt(b, i+1)
	}
}

// quickElement checks one value of f's element kind at b[i] (null is not one); depth is that
// of its container.
func (f *fieldRule) quickElement(b []byte, i, depth int) (int, bool) {
	switch f.kind {
	case kindString:
		end, ok := plainStringAt(b, i)
		return end, ok
	case kindEnum:
		end, ok := plainStringAt(b, i)
		if !ok {
			return i, false
		}
		_, found := f.enum[string(b[i+1:end-1])]
		return end, found
	case kindDate:
		end, ok := plainStringAt(b, i)
		return end, ok && validDate(b[i+1:end-1])
	case kindFloat:
		return numberAt(b, i)
	case kindInteger:
		end, ok := numberAt(b, i)
		return end, ok && smallInteger(b[i:end])
	case kindObject:
		if i >= len(b) || b[i] != '{' {
			return i, false
		}
		return f.obj.quickObject(b, i, depth+1)
	}
	return i, false
}

func isNull(b []byte, i int) bool {
	return len(b)-i >= 4 && string(b[i:i+4]) == "null"
}

// plainStringAt returns the index after the string at b[i] if it is one without escapes or
// control bytes.
func plainStringAt(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	j := skipPlainString(b, i+1)
	if j >= len(b) || b[j] != '"' {
		return j, false
	}
	return j + 1, true
}
