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

// TestAppendJSONAllocs: neither form allocates beyond growing dst, non-ASCII and invalid UTF-8
// included (pgfeed's encoder is zero-allocation).
func TestAppendJSONAllocs(t *testing.T) {
	in := "é – 東京 \u2028 bad\xffutf8 \"q\" \x01"
	b := []byte(in)
	dst := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { dst = AppendJSONBytes(dst[:0], b) }); n != 0 {
		t.Errorf("AppendJSONBytes: %v allocs per call, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { dst = AppendJSONString(dst[:0], in) }); n != 0 {
		t.Errorf("AppendJSONString: %v allocs per call, want 0", n)
	}
}
