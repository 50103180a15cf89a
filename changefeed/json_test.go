package changefeed

import "testing"

func TestAppendJSONString(t *testing.T) {
	for in, want := range map[string]string{
		"paris":            `"paris"`,
		`a"b\c`:            `"a\"b\\c"`,
		"<tag>&amp;":       `"<tag>&amp;"`, // no HTML escaping
		"tab\tnl\ncr\r":    `"tab\tnl\ncr\r"`,
		"\b\f\x00\x1f\x7f": `"\u0008\u000c\u0000\u001f` + "\x7f" + `"`,
		"é – 東京":           `"é – 東京"`,
		"\u2028\u2029":     "\"\u2028\u2029\"", // CockroachDB does not escape these (encoding/json does)
		"bad\xffutf8":      `"bad\ufffdutf8"`,
	} {
		if got := AppendJSONString(nil, in); string(got) != want {
			t.Errorf("AppendJSONString(%q) = %s, want %s", in, got, want)
		}
		if got := AppendJSONBytes(nil, []byte(in)); string(got) != want {
			t.Errorf("AppendJSONBytes(%q) = %s, want %s", in, got, want)
		}
	}
}
