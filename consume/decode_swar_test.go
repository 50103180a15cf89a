package consume

import (
	"strconv"
	"strings"
	"testing"
)

// TestParseHLCDigitChunks covers the eight-at-a-time digit conversion of ParseHLC: every wall
// length, and a non-digit at every position of a chunk (bytes just below '0' and above '9').
func TestParseHLCDigitChunks(t *testing.T) {
	for n := 1; n <= 19; n++ {
		wall := strings.Repeat("9", n)
		if n == 19 {
			wall = "9223372036854775807"
		}
		want, _ := strconv.ParseInt(wall, 10, 64)
		got, ok := ParseHLC([]byte(wall + ".0123456789"))
		if !ok || got.WallNanos != want || got.Logical != 123456789 {
			t.Errorf("ParseHLC(%s.0123456789) = %v, %v; want wall %d", wall, got, ok, want)
		}
		for pos := range n {
			for _, bad := range []byte{'/', ':', ' ', 0x80, 'a'} {
				b := []byte(wall + ".0000000000")
				b[pos] = bad
				if _, ok := ParseHLC(b); ok {
					t.Errorf("ParseHLC(%q) ok, want a failure", b)
				}
			}
		}
	}
	for pos := range 10 {
		b := []byte("1681240149199419939.0000000000")
		b[20+pos] = ':'
		if _, ok := ParseHLC(b); ok {
			t.Errorf("ParseHLC(%q) ok, want a failure", b)
		}
	}
}

// TestSkipNestedSeparators checks the `": "` / `", "` fast path against values where the
// separators sit at the end of the input or next to escapes and brackets.
func TestSkipNestedSeparators(t *testing.T) {
	tests := []struct {
		in   string
		want int // skipNested result: index past the value, or -1
	}{
		{`{"a": "b", "c": "d"}`, 20},
		{`{"a": "b", "c": "d"`, -1},
		{`{"a": "b", "`, -1},
		{`{"a": "b\", "}`, 14}, // the string is `b\", `
		{`{"a": "b\\", "c": "}"}`, 22},
		{`["a", "b", ["c", "]"]]`, 22},
		{`{"a": "b", "c": {"d": "e"}}x`, 27},
		{`{"a": "b"]`, -1},
	}
	for _, tt := range tests {
		if got := skipNested([]byte(tt.in), 0); got != tt.want {
			t.Errorf("skipNested(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
