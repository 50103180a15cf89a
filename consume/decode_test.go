package consume

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestParseHLC(t *testing.T) {
	tests := []struct {
		in   string
		want HLC
		ok   bool
	}{
		{"1681240149199419939.0000000000", HLC{1681240149199419939, 0}, true},
		{"1681240149199419939.0000000042", HLC{1681240149199419939, 42}, true},
		{"0.0000000000", HLC{}, true},
		{"9223372036854775807.2147483647", HLC{1<<63 - 1, 1<<31 - 1}, true},
		{"9223372036854775808.0000000000", HLC{}, false}, // wall overflows int64
		{"1.2147483648", HLC{}, false},                   // logical overflows int32
		{"1681240149199419939", HLC{}, false},            // no logical part
		{"1681240149199419939.000000000", HLC{}, false},  // 9 logical digits
		{"1681240149199419939.00000000000", HLC{}, false},
		{".0000000000", HLC{}, false},
		{"-1.0000000000", HLC{}, false},
		{"12345678901234567890.0000000000", HLC{}, false}, // 20 wall digits
		{"1a.0000000000", HLC{}, false},
		{"1.000000000a", HLC{}, false},
		{"", HLC{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseHLC([]byte(tt.in))
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseHLC(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHLCCompare(t *testing.T) {
	tests := []struct {
		a, b HLC
		want int
	}{
		{HLC{1, 0}, HLC{1, 0}, 0},
		{HLC{1, 0}, HLC{2, 0}, -1},
		{HLC{2, 0}, HLC{1, 9}, 1},
		{HLC{1, 1}, HLC{1, 2}, -1},
		{HLC{1, 3}, HLC{1, 2}, 1},
	}
	for _, tt := range tests {
		if got := tt.a.Compare(tt.b); got != tt.want {
			t.Errorf("%v.Compare(%v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if s := (HLC{1681240149199419939, 7}).String(); s != "1681240149199419939.0000000007" {
		t.Errorf("String() = %q", s)
	}
}

// vehiclesValue is a realistic ~450-byte movr vehicles message in CockroachDB's exact format
// (sorted keys, ": " and ", " separators, JSONB nested, TIMESTAMP without zone).
const vehiclesKey = `["paris", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f"]`
const vehiclesValue = `{"after": {"city": "paris", "creation_time": "2019-01-02T03:04:05.123456", ` +
	`"current_location": "64110 Richard Crescent \"Apt. 12\" {east}", "dead": false, ` +
	`"ext": {"brand": "Merida", "color": "red", "tags": ["a", "b\\", {"c": [1, 2.5e3, null]}]}, ` +
	`"id": "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f", "owner_id": "f7f0c3e4-8b9a-4c1e-9a55-0f8c2d7b6a11", ` +
	`"status": "available", "type": "bike"}, ` +
	`"mvcc_timestamp": "1681240149199419939.0000000001", "updated": "1681240149199419939.0000000001"}`

func TestDecode(t *testing.T) {
	tests := []struct {
		name   string
		key    string
		value  string
		want   Reason
		upd    string // expected updated, "" when absent
		res    string // expected resolved
		mvcc   string
		hasKey bool
	}{
		{name: "vehicles", key: vehiclesKey, value: vehiclesValue, want: ReasonNone,
			upd: "1681240149199419939.0000000001", mvcc: "1681240149199419939.0000000001", hasKey: true},
		{name: "resolved", value: `{"resolved":"1681240149199419939.0000000000"}`, want: ReasonNone,
			res: "1681240149199419939.0000000000"},
		{name: "delete", key: `[1]`, value: `{"after": null, "updated": "5.0000000003"}`, want: ReasonNone, upd: "5.0000000003", hasKey: true},
		{name: "with before and diff", key: `["x"]`, value: `{"after": {"a": 1}, "before": {"a": 0}, "updated": "7.0000000000"}`,
			want: ReasonNone, upd: "7.0000000000", hasKey: true},
		{name: "nested updated ignored", key: `[1]`, value: `{"after": {"updated": "1.0000000000", "resolved": "2.0000000000"}, "updated": "3.0000000000"}`,
			want: ReasonNone, upd: "3.0000000000", hasKey: true},
		{name: "updated inside string ignored", key: `[1]`, value: `{"after": {"s": "\", \"updated\": \"1.0000000000\"}"}, "updated": "4.0000000000"}`,
			want: ReasonNone, upd: "4.0000000000", hasKey: true},
		{name: "escaped backslash before quote", key: `[1]`, value: `{"after": {"s": "a\\"}, "updated": "4.0000000000"}`,
			want: ReasonNone, upd: "4.0000000000", hasKey: true},
		{name: "whitespace", key: " [1] ", value: "\n{ \"updated\" :\t\"4.0000000000\" }\n", want: ReasonNone, upd: "4.0000000000", hasKey: true},
		{name: "empty", value: ``, want: ReasonEmpty},
		{name: "blank", value: "  ", want: ReasonEmpty},
		{name: "not json", value: `hello`, want: ReasonNotJSON},
		{name: "truncated", key: `[1]`, value: vehiclesValue[:200], want: ReasonNotJSON},
		{name: "unterminated string", value: `{"updated": "4.0000000000}`, want: ReasonNotJSON},
		// This one and "too deep" do not end as CockroachDB ends a row ("updated":"…" and
		// "…" }), so they are scanned in full; the same values ending like a row are accepted
		// (below, under what the tail does not see).
		{name: "mismatched brackets", value: `{"after": {"a": [1}, "updated":"4.0000000000"}`, want: ReasonNotJSON},
		{name: "trailing garbage", key: `[1]`, value: `{"updated": "4.0000000000"} x`, want: ReasonNotJSON},
		{name: "missing colon", value: `{"updated" "4.0000000000"}`, want: ReasonNotJSON},
		{name: "array", value: `[1, 2]`, want: ReasonNotObject},
		{name: "string", value: `"updated"`, want: ReasonNotObject},
		{name: "no timestamp", key: `[1]`, value: `{"after": {"a": 1}}`, want: ReasonNoTimestamp},
		{name: "empty object", value: `{}`, want: ReasonNoTimestamp},
		{name: "bad hlc", key: `[1]`, value: `{"updated": "yesterday"}`, want: ReasonBadHLC},
		{name: "number hlc", key: `[1]`, value: `{"updated": 1681240149199419939}`, want: ReasonBadHLC},
		{name: "bad resolved", value: `{"resolved": "1.1"}`, want: ReasonBadHLC},
		{name: "bad mvcc", key: `[1]`, value: `{"mvcc_timestamp": "x", "updated": "4.0000000000"}`, want: ReasonBadHLC},
		{name: "row without key", value: `{"updated": "4.0000000000"}`, want: ReasonBadKey},
		{name: "row with object key", key: `{"a": 1}`, value: `{"updated": "4.0000000000"}`, want: ReasonBadKey},
		{name: "row with broken key", key: `["a`, value: `{"updated": "4.0000000000"}`, want: ReasonBadKey},
		{name: "too deep", value: `{"after": ` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `, "updated": "4.0000000000" }`, want: ReasonNotJSON},
		{name: "leading garbage", key: `[1]`, value: `x{"after": null, "updated": "4.0000000000"}`, want: ReasonNotJSON},
		{name: "truncated before the final brace", key: `[1]`, value: `{"after": null, "updated": "4.0000000000"`, want: ReasonNotJSON},
		{name: "bad hlc in the tail", key: `[1]`, value: `{"after": null, "updated": "4.000000000x"}`, want: ReasonBadHLC},
		{name: "bad mvcc in the tail", key: `[1]`, value: `{"after": null, "mvcc_timestamp": "4.0", "updated": "4.0000000000"}`, want: ReasonBadHLC},

		// The tail: rows as CockroachDB ends them.
		{name: "mvcc differs from updated", key: vehiclesKey, value: `{"after": {"a": 1}, "mvcc_timestamp": "1681240149199419939.0000000002", "updated": "1681240149199419940.0000000000"}`,
			want: ReasonNone, upd: "1681240149199419940.0000000000", mvcc: "1681240149199419939.0000000002", hasKey: true},
		{name: "topic_in_value", key: `[1]`, value: `{"after": {"a": 1}, "mvcc_timestamp": "2.0000000001", "topic": "vehicles", "updated": "3.0000000000"}`,
			want: ReasonNone, upd: "3.0000000000", mvcc: "2.0000000001", hasKey: true},
		{name: "topic_in_value without mvcc", key: `[1]`, value: `{"after": {"a": 1}, "topic": "vehicles", "updated": "3.0000000000"}`,
			want: ReasonNone, upd: "3.0000000000", hasKey: true},
		{name: "key_in_value", key: `[1]`, value: `{"after": null, "key": [1], "mvcc_timestamp": "3.0000000000", "updated": "3.0000000000"}`,
			want: ReasonNone, upd: "3.0000000000", mvcc: "3.0000000000", hasKey: true},
		{name: "a string member before updated is scanned", key: `[1]`, value: `{"a": "b", "updated": "3.0000000000"}`,
			want: ReasonNone, upd: "3.0000000000", hasKey: true},
		{name: "escaped quote before the name", key: `[1]`, value: `{"after": null, "x\"updated": "4.0000000000"}`, want: ReasonNoTimestamp},
		{name: "escaped quote before mvcc", key: `[1]`, value: `{"after": null, "x\"mvcc_timestamp": "1681240149199419939.0000000000", "updated": "4.0000000000"}`,
			want: ReasonNone, upd: "4.0000000000", hasKey: true},
		{name: "key with an unterminated string", key: `["a", "b]`, value: `{"after": null, "updated": "4.0000000000"}`, want: ReasonBadKey},
		{name: "key of numbers", key: `[1, -2.5]`, value: `{"after": null, "updated": "4.0000000000"}`, want: ReasonNone, upd: "4.0000000000", hasKey: true},
		{name: "key with an escaped quote", key: `["a\"", "b"]`, value: `{"after": null, "updated": "4.0000000000"}`, want: ReasonNone, upd: "4.0000000000", hasKey: true},

		// What the tail does not see (documented on Decode): broken JSON before the last members,
		// and members CockroachDB never places there.
		{name: "mismatched brackets before the tail: not detected", key: `[1]`, value: `{"after": {"a": [1}, "updated": "4.0000000000"}`,
			want: ReasonNone, upd: "4.0000000000", hasKey: true},
		{name: "too deep before the tail: not detected", key: `[1]`, value: `{"after": ` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `, "updated": "4.0000000000"}`,
			want: ReasonNone, upd: "4.0000000000", hasKey: true},
		{name: "unterminated string before the tail: not detected", key: `[1]`, value: `{"after": {"a": "x}, "updated": "4.0000000000"}`,
			want: ReasonNone, upd: "4.0000000000", hasKey: true},
		{name: "mvcc_timestamp away from the tail: not reported", key: `[1]`, value: `{"mvcc_timestamp": "2.0000000000", "after": null, "updated": "4.0000000000"}`,
			want: ReasonNone, upd: "4.0000000000", hasKey: true},
		{name: "resolved in a row: not reported", key: `[1]`, value: `{"resolved": "2.0000000000", "after": null, "updated": "4.0000000000"}`,
			want: ReasonNone, upd: "4.0000000000", hasKey: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var env Envelope
			got := Decode([]byte(tt.key), []byte(tt.value), &env)
			if got != tt.want {
				t.Fatalf("Decode = %v, want %v", got, tt.want)
			}
			if got != ReasonNone {
				return
			}
			check := func(what string, has bool, h HLC, want string) {
				t.Helper()
				if (want != "") != has {
					t.Errorf("%s present = %v, want %v", what, has, want != "")
				} else if has && h.String() != want {
					t.Errorf("%s = %v, want %s", what, h, want)
				}
			}
			check("updated", env.HasUpdated, env.Updated, tt.upd)
			check("resolved", env.HasResolved, env.Resolved, tt.res)
			check("mvcc_timestamp", env.HasMVCC, env.MVCC, tt.mvcc)
			if (env.Key != nil) != tt.hasKey || (tt.hasKey && string(env.Key) != tt.key) {
				t.Errorf("Key = %q, want %q", env.Key, tt.key)
			}
		})
	}
}

func TestMalformedSamplesBounded(t *testing.T) {
	var m Malformed
	big := []byte(strings.Repeat("x", 1000))
	for i := 0; i < 100; i++ {
		m.Note(ReasonNotJSON, "t", 0, int64(i), big)
	}
	m.Note(ReasonBadHLC, "t", 1, 5, []byte("{}"))
	if got := m.Total(); got != 101 {
		t.Errorf("Total = %d, want 101", got)
	}
	if got := m.ByReason(); got["not_json"] != 100 || got["bad_hlc"] != 1 || len(got) != 2 {
		t.Errorf("ByReason = %v", got)
	}
	s := m.Samples()
	if len(s) != MaxDecodeSamples {
		t.Fatalf("kept %d samples, want %d", len(s), MaxDecodeSamples)
	}
	if len(s[0].Value) > maxSampleBytes+len("…") || !strings.HasSuffix(s[0].Value, "…") {
		t.Errorf("sample not truncated: %d bytes", len(s[0].Value))
	}
}

func TestDecodeAllocs(t *testing.T) {
	k, v := []byte(vehiclesKey), []byte(vehiclesValue)
	var env Envelope
	if n := testing.AllocsPerRun(100, func() { Decode(k, v, &env) }); n != 0 {
		t.Errorf("Decode allocates %v times per call, want 0", n)
	}
}

// hlcRE is the grammar ParseHLC accepts (before the range checks).
var hlcRE = regexp.MustCompile(`^[0-9]{1,19}\.[0-9]{10}$`)

func FuzzParseHLC(f *testing.F) {
	for _, s := range []string{"1681240149199419939.0000000000", "0.0000000001", "9223372036854775808.0000000000", "1.2147483648", "1.1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := ParseHLC([]byte(s))
		if !hlcRE.MatchString(s) {
			if ok {
				t.Fatalf("ParseHLC(%q) accepted a string outside the grammar", s)
			}
			return
		}
		dot := strings.IndexByte(s, '.')
		wall, werr := strconv.ParseInt(s[:dot], 10, 64)
		logical, lerr := strconv.ParseInt(s[dot+1:], 10, 32)
		if wantOK := werr == nil && lerr == nil; ok != wantOK {
			t.Fatalf("ParseHLC(%q) ok = %v, want %v", s, ok, wantOK)
		}
		if ok && (h.WallNanos != wall || int64(h.Logical) != logical) {
			t.Fatalf("ParseHLC(%q) = %v, want %d.%d", s, h, wall, logical)
		}
	})
}

// tailRE is how CockroachDB ends a row: the only values Decode accepts without checking that
// they are JSON (see Decode).
var tailRE = regexp.MustCompile(`^[ \t\r\n]*\{[\s\S]*"updated": "[0-9]{1,19}\.[0-9]{10}"\}[ \t\r\n]*$`)

// member is one top-level member of a JSON object, in order.
type member struct {
	name string
	raw  json.RawMessage
}

// topMembers returns the top-level members of a well-formed JSON object, in order (duplicates
// included), or false if value is not an object.
func topMembers(value []byte) ([]member, bool) {
	d := json.NewDecoder(strings.NewReader(string(value)))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var ms []member
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, false
		}
		var m member
		m.name, _ = tok.(string)
		if err := d.Decode(&m.raw); err != nil {
			return nil, false
		}
		ms = append(ms, m)
	}
	return ms, true
}

// hlcOf returns the HLC a member's raw value holds, or false if it is not an HLC string.
func hlcOf(raw json.RawMessage) (HLC, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return HLC{}, false
	}
	return ParseHLC([]byte(s))
}

// FuzzDecode checks Decode against encoding/json. For well-formed JSON: never not_json (within
// maxDepth); no_timestamp and bad_hlc exactly when encoding/json agrees; and the timestamps of
// an accepted object are its members' (the last of each name), except that, when the last member
// is "updated" (Decode's tail path), "resolved" may be absent and "mvcc_timestamp" may instead be
// the member CockroachDB puts before "updated" (directly, or before "topic"). For input that is
// not JSON, Decode accepts nothing its full scan rejects unless the value ends like a row.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(vehiclesKey), []byte(vehiclesValue))
	f.Add([]byte(nil), []byte(`{"resolved":"1681240149199419939.0000000000"}`))
	f.Add([]byte(`[1]`), []byte(`{"after": {"s": "\", \"updated\": \"1.0000000000\"}"}, "updated": "4.0000000000"}`))
	f.Add([]byte(`[1]`), []byte(`{"after": {"a": [1}, "updated": "4.0000000000"}`))
	f.Add([]byte(`[1]`), []byte(`{"after": {"a": 1}, "mvcc_timestamp": "2.0000000001", "topic": "vehicles", "updated": "3.0000000000"}`))
	f.Add([]byte(`["a", "b"]`), []byte(`{"mvcc_timestamp": "2.0000000000", "after": null, "mvcc_timestamp": "1.0000000000", "updated": "4.0000000000"}`))
	f.Add([]byte(`[1]`), []byte(`{"after": null, "x\"mvcc_timestamp": "1681240149199419939.0000000000", "updated": "4.0000000000"}`))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		var env Envelope
		r := Decode(key, value, &env)
		if r >= numReasons {
			t.Fatalf("reason %d out of range", r)
		}
		if !json.Valid(value) {
			if r == ReasonNone && !tailRE.Match(value) {
				var scan Envelope
				if decodeScan(key, value, &scan) != ReasonNone || scan.Updated != env.Updated || scan.MVCC != env.MVCC || scan.HasMVCC != env.HasMVCC {
					t.Fatalf("Decode accepted %q (not JSON, not a row's tail) as %+v; the full scan says otherwise", value, env)
				}
			}
			return
		}
		if strings.Count(string(value), "{")+strings.Count(string(value), "[") > maxDepth {
			return
		}
		if r == ReasonNotJSON {
			t.Fatalf("Decode says not_json for valid JSON %q", value)
		}
		members, isObj := topMembers(value)
		if !isObj {
			if r != ReasonNotObject && r != ReasonEmpty {
				t.Fatalf("Decode = %v for a non-object %q", r, value)
			}
			return
		}
		last := map[string]json.RawMessage{}
		anyBad := false
		for _, m := range members {
			last[m.name] = m.raw
			if m.name == "updated" || m.name == "resolved" || m.name == "mvcc_timestamp" {
				if _, ok := hlcOf(m.raw); !ok {
					anyBad = true
				}
			}
		}
		_, hasUpd := last["updated"]
		_, hasRes := last["resolved"]
		switch r {
		case ReasonNoTimestamp:
			if hasUpd || hasRes {
				t.Fatalf("Decode says no_timestamp for %q", value)
			}
			return
		case ReasonBadHLC:
			if !anyBad {
				t.Fatalf("Decode says bad_hlc for %q, whose timestamps are all HLC strings", value)
			}
			return
		case ReasonNone:
		default:
			return
		}
		tail := members[len(members)-1].name == "updated"
		check := func(name string, has bool, h HLC, alt json.RawMessage, altOK bool) {
			t.Helper()
			want, ok := last[name]
			match := func(raw json.RawMessage, present bool) bool {
				if !present {
					return !has
				}
				w, ok := hlcOf(raw)
				return ok && has && w == h
			}
			if match(want, ok) || (tail && match(alt, altOK)) {
				return
			}
			t.Fatalf("%s: Decode has=%v %v; encoding/json %s (tail alternative %s) in %q", name, has, h, want, alt, value)
		}
		check("updated", env.HasUpdated, env.Updated, nil, false)
		check("resolved", env.HasResolved, env.Resolved, nil, false)
		var alt json.RawMessage
		n := len(members)
		switch {
		case n >= 2 && members[n-2].name == "mvcc_timestamp":
			alt = members[n-2].raw
		case n >= 3 && members[n-2].name == "topic" && members[n-3].name == "mvcc_timestamp":
			alt = members[n-3].raw
		}
		check("mvcc_timestamp", env.HasMVCC, env.MVCC, alt, alt != nil)
	})
}

// BenchmarkDecode measures Decode alone on the 450-byte vehicles message.
func BenchmarkDecode(b *testing.B) {
	b.Run("size="+strconv.Itoa(len(vehiclesValue))+"B", func(b *testing.B) {
		k, v := []byte(vehiclesKey), []byte(vehiclesValue)
		var env Envelope
		b.SetBytes(int64(len(v)))
		b.ReportAllocs()
		for b.Loop() {
			if Decode(k, v, &env) != ReasonNone {
				b.Fatal("decode failed")
			}
		}
	})
}
