package changefeed

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseSinkURI: sink URIs come from users and profiles. Whatever the input, parsing must not
// panic; an accepted URI must survive String() unchanged, and Redacted() must hide every secret
// parameter. Seed corpus: testdata/fuzz/FuzzParseSinkURI.
func FuzzParseSinkURI(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseSinkURI(s)
		if err != nil {
			return
		}
		back, err := ParseSinkURI(u.String())
		if err != nil {
			t.Fatalf("ParseSinkURI(%q) ok, but its String() %q fails: %v", s, u.String(), err)
		}
		if !reflect.DeepEqual(back, u) {
			t.Fatalf("round trip of %q:\n got  %#v\n want %#v", s, back.raw(), u.raw())
		}
		red := u.Redacted()
		_, rawQuery, _ := strings.Cut(red, "?")
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			t.Fatalf("Redacted() %q has a malformed query: %v", red, err)
		}
		for _, p := range redactedParams {
			for _, v := range q[p] {
				if v != redactedValue {
					t.Fatalf("Redacted() %q shows %s", red, p)
				}
			}
		}
	})
}

// FuzzParseOptions: WITH clauses come from users. No panic; accepted options render to SQL that
// parses back to the same options. Seed corpus: testdata/fuzz/FuzzParseOptions.
func FuzzParseOptions(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOptions(s)
		if err != nil {
			return
		}
		back, err := ParseOptions(o.SQL())
		if err != nil {
			t.Fatalf("ParseOptions(%q) ok, but its SQL() %q fails: %v", s, o.SQL(), err)
		}
		if !reflect.DeepEqual(back, o) {
			t.Fatalf("round trip of %q via %q:\n got  %+v\n want %+v", s, o.SQL(), back, o)
		}
	})
}

// FuzzParseKafkaSinkConfig: no panic; accepted configs round-trip through JSON().
func FuzzParseKafkaSinkConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseKafkaSinkConfig(s)
		if err != nil {
			return
		}
		back, err := ParseKafkaSinkConfig(c.JSON())
		if err != nil || !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip of %q via %q: %+v, %v", s, c.JSON(), back, err)
		}
	})
}
