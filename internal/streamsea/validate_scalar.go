package streamsea

import "math"

// numberClass says whether a JSON number is a whole number that fits in an int64.
type numberClass uint8

const (
	numberWhole      numberClass = iota // a whole number within int64
	numberFraction                      // has a non-zero fractional part
	numberOutOfRange                    // whole, but outside int64
)

// maxExponent bounds the decoded exponent; any larger magnitude decides the result alone.
const maxExponent = 1 << 40

// wholeNumber classifies the well-formed JSON number num and returns its value when it is a
// whole number within int64. It decides exactly, without floating point: 3, 3.0, 30e-1 and 1e3
// are whole; 3.5 and 1e-1 are fractions; 1e19 is out of range.
func wholeNumber(num []byte) (int64, numberClass) {
	neg := num[0] == '-'
	i := 0
	if neg {
		i = 1
	}
	intPart := digitRun(num, i)
	i += len(intPart)
	var fracPart []byte
	if i < len(num) && num[i] == '.' {
		fracPart = digitRun(num, i+1)
		i += 1 + len(fracPart)
	}
	exp := 0
	if i < len(num) {
		exp = exponent(num[i+1:])
	}
	digits := decimalDigits{intPart, fracPart}
	first, last := digits.nonZeroBounds()
	if first < 0 {
		return 0, numberWhole
	}
	scale := exp - len(fracPart) + (digits.len() - 1 - last)
	if scale < 0 {
		return 0, numberFraction
	}
	if last-first+1+scale > 19 {
		return 0, numberOutOfRange
	}
	var u uint64
	for k := first; k <= last; k++ {
		u = u*10 + uint64(digits.at(k)-'0')
	}
	for range scale {
		u *= 10
	}
	return signedValue(u, neg)
}

// signedValue applies the sign to a magnitude below 10^19 and checks the int64 range.
func signedValue(u uint64, neg bool) (int64, numberClass) {
	if neg {
		if u > uint64(math.MaxInt64)+1 {
			return 0, numberOutOfRange
		}
		return int64(-u), numberWhole // wraps correctly for MinInt64
	}
	if u > math.MaxInt64 {
		return 0, numberOutOfRange
	}
	return int64(u), numberWhole
}

// smallInteger reports whether the well-formed JSON number num is written as digits only,
// with an optional minus sign, and lies within int64: the common case, decided quickly. A
// number it reports false for may still be a whole number within int64 (1e3, 3.0).
func smallInteger(num []byte) bool {
	digits := num
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) > len(maxInt64Digits) {
		return false
	}
	for _, c := range digits {
		if !isDigit(c) {
			return false
		}
	}
	if len(digits) < len(maxInt64Digits) || digits[0] == '0' {
		return true
	}
	limit := maxInt64Digits
	if num[0] == '-' {
		limit = minInt64Digits
	}
	return string(digits) <= limit // same length: the order of the digit strings is numeric
}

// The magnitudes of math.MaxInt64 and math.MinInt64, in digits.
const (
	maxInt64Digits = "9223372036854775807"
	minInt64Digits = "9223372036854775808"
)

func digitRun(b []byte, from int) []byte {
	end := from
	for end < len(b) && isDigit(b[end]) {
		end++
	}
	return b[from:end]
}

// exponent decodes the digits (with optional sign) after 'e', saturating at maxExponent.
func exponent(b []byte) int {
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	e := 0
	for _, c := range b {
		if e < maxExponent {
			e = e*10 + int(c-'0')
		}
	}
	if neg {
		return -e
	}
	return e
}

// decimalDigits is the digit sequence of a number's integer part followed by its fraction.
type decimalDigits struct{ intPart, fracPart []byte }

func (d decimalDigits) len() int { return len(d.intPart) + len(d.fracPart) }

func (d decimalDigits) at(k int) byte {
	if k < len(d.intPart) {
		return d.intPart[k]
	}
	return d.fracPart[k-len(d.intPart)]
}

// nonZeroBounds returns the indexes of the first and last non-zero digits, or -1, -1.
func (d decimalDigits) nonZeroBounds() (first, last int) {
	first, last = -1, -1
	for k := range d.len() {
		if d.at(k) != '0' {
			if first < 0 {
				first = k
			}
			last = k
		}
	}
	return first, last
}

// validDate reports whether s is exactly YYYY-MM-DDTHH:mm:ssZ naming a real UTC calendar
// time: upper-case T and Z, no fractional seconds, no offset, no leap second.
func validDate(s []byte) bool {
	if len(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
		s[16] != ':' || s[19] != 'Z' {
		return false
	}
	year, ok1 := decimal(s[0:4])
	month, ok2 := decimal(s[5:7])
	day, ok3 := decimal(s[8:10])
	hour, ok4 := decimal(s[11:13])
	minute, ok5 := decimal(s[14:16])
	second, ok6 := decimal(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return false
	}
	return month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month) &&
		hour <= 23 && minute <= 59 && second <= 59
}

func decimal(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
