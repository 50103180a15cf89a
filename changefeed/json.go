package changefeed

import "unicode/utf8"

// CockroachDB's JSON string encoding (pkg/util/json, encodeJSONString), shared by the two
// places that must print changefeed bytes exactly: pgfeed's messages and load's ledger keys.
// It differs from encoding/json: no HTML escaping, \b and \f print as \u0008 and \u000c,
// U+2028/U+2029 are not escaped, invalid UTF-8 becomes \ufffd.

const hexAlphabet = "0123456789abcdef"

// AppendJSONString appends s as a JSON string the way CockroachDB's pkg/util/json
// (encodeJSONString) does. It does not allocate beyond growing dst.
func AppendJSONString(dst []byte, s string) []byte { return appendJSON(dst, s) }

// AppendJSONBytes is AppendJSONString for a byte slice.
func AppendJSONBytes(dst []byte, s []byte) []byte { return appendJSON(dst, s) }

func appendJSON[S string | []byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscapedASCII(dst, b)
			i++
			start = i
			continue
		}
		// At most utf8.UTFMax bytes: for a []byte the conversion stays on the stack.
		c, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendEscapedASCII(dst []byte, b byte) []byte {
	switch b {
	case '\\', '"':
		return append(dst, '\\', b)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexAlphabet[b>>4], hexAlphabet[b&0xF])
}

// AppendKey appends the changefeed message key of a row whose primary-key values, in PK order,
// are vals, each already in the string form the changefeed prints (a UUID as its string, a
// TIMESTAMP in UTC as "2006-01-02T15:04:05.999999999"): `["paris", "2c28a231-…"]`. Only for
// keys made of strings; pgfeed's encoder handles every type.
func AppendKey(dst []byte, vals ...string) []byte {
	dst = append(dst, '[')
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = AppendJSONString(dst, v)
	}
	return append(dst, ']')
}
