package consume

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
)

// HLC is a CockroachDB hybrid-logical-clock timestamp as changefeeds print it:
// "<wall time in ns since the Unix epoch>.<logical, 10 digits>".
type HLC struct {
	WallNanos int64 // wall time, nanoseconds since the Unix epoch (UTC)
	Logical   int32 // logical counter
}

// IsZero reports whether h is the zero timestamp.
func (h HLC) IsZero() bool { return h.WallNanos == 0 && h.Logical == 0 }

// Compare returns -1, 0 or +1 as h is before, equal to or after o.
func (h HLC) Compare(o HLC) int {
	switch {
	case h.WallNanos < o.WallNanos:
		return -1
	case h.WallNanos > o.WallNanos:
		return 1
	case h.Logical < o.Logical:
		return -1
	case h.Logical > o.Logical:
		return 1
	}
	return 0
}

// String formats h the way CockroachDB prints it ("1681240149199419939.0000000000").
func (h HLC) String() string {
	return fmt.Sprintf("%d.%010d", h.WallNanos, h.Logical)
}

// ParseHLC parses "<wall ns>.<logical>" where the wall part has 1..19 decimal digits and fits an
// int64 and the logical part has exactly 10 digits and fits an int32. It does not allocate; it
// converts eight digits at a time (parse8), today's 30-character timestamps in parseHLC30.
func ParseHLC(b []byte) (HLC, bool) {
	if len(b) == hlcLen {
		return parseHLC30(b)
	}
	n := len(b)
	dot := n - 11 // the logical part is always 10 digits
	if dot < 1 || dot > 19 || b[dot] != '.' {
		return HLC{}, false
	}
	wall, ok := parseDigits(b[:dot])
	if !ok || wall > 1<<63-1 {
		return HLC{}, false
	}
	logical, ok := parseDigits(b[dot+1:])
	if !ok || logical > 1<<31-1 {
		return HLC{}, false
	}
	return HLC{WallNanos: int64(wall), Logical: int32(logical)}, true
}

// parseHLC30 is ParseHLC for today's HLC strings: a 19-digit wall time, '.', 10 logical digits.
// The five groups of digits are converted independently (more work in flight at once than
// parseDigits' chain), and the logical part "0000000000" of most timestamps is recognised whole.
func parseHLC30(b []byte) (HLC, bool) {
	_ = b[hlcLen-1]
	c0, c1, c2 := b[0]-'0', b[1]-'0', b[2]-'0'
	w1, ok1 := parse8(binary.LittleEndian.Uint64(b[3:]))
	w2, ok2 := parse8(binary.LittleEndian.Uint64(b[11:]))
	if c0 > 9 || c1 > 9 || c2 > 9 || !ok1 || !ok2 || b[19] != '.' {
		return HLC{}, false
	}
	wall := (uint64(c0)*100+uint64(c1)*10+uint64(c2))*1e16 + w1*1e8 + w2 // < 1e19 < 2^64
	if wall > 1<<63-1 {
		return HLC{}, false
	}
	lo := binary.LittleEndian.Uint64(b[22:])
	d0, d1 := b[20]-'0', b[21]-'0'
	if lo == 0x3030303030303030 && d0 == 0 && d1 == 0 {
		return HLC{WallNanos: int64(wall)}, true
	}
	l, ok := parse8(lo)
	if d0 > 9 || d1 > 9 || !ok {
		return HLC{}, false
	}
	logical := (uint64(d0)*10+uint64(d1))*1e8 + l
	if logical > 1<<31-1 {
		return HLC{}, false
	}
	return HLC{WallNanos: int64(wall), Logical: int32(logical)}, true
}

// parseDigits converts 1..19 ASCII decimal digits (no sign) to a number; 19 digits cannot
// overflow uint64. The leading len%8 digits go one at a time, the rest eight at a time.
func parseDigits(s []byte) (uint64, bool) {
	var v uint64
	k := len(s) & 7
	for _, c := range s[:k] {
		if c-'0' > 9 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	for ; k+8 <= len(s); k += 8 {
		d, ok := parse8(binary.LittleEndian.Uint64(s[k:]))
		if !ok {
			return 0, false
		}
		v = v*100_000_000 + d
	}
	return v, true
}

// parse8 converts eight ASCII digits, loaded little-endian (first digit in the low byte), to
// their value, or reports false if any byte is not '0'..'9'.
func parse8(x uint64) (uint64, bool) {
	// Every byte must be 0x30..0x39: high nibble 3, and adding 6 must not carry into it.
	if x&0xf0f0f0f0f0f0f0f0 != 0x3030303030303030 || (x+0x0606060606060606)&0xf0f0f0f0f0f0f0f0 != 0x3030303030303030 {
		return 0, false
	}
	x -= 0x3030303030303030
	x = x*10 + x>>8 // pairs of digits in bytes 0, 2, 4, 6
	// Pairs 0 and 2 times 1e6 and 1e4 (high word), pairs 1 and 3 times 100 and 1 (low word): two
	// multiplications side by side instead of two more in a row (Lemire's eight-digit parse).
	x = ((x&0x000000ff000000ff)*(100+1_000_000<<32) + (x>>16&0x000000ff000000ff)*(1+10_000<<32)) >> 32
	return x, true
}

// Reason classifies a message the decoder could not use. ReasonNone means the message is fine.
type Reason uint8

// Reasons, in the order Stats reports them.
const (
	ReasonNone        Reason = iota
	ReasonEmpty              // empty value (e.g. a tombstone): CockroachDB never sends one
	ReasonNotJSON            // the value is not well-formed JSON (structure, strings, nesting)
	ReasonNotObject          // well-formed start, but the value is not a JSON object
	ReasonNoTimestamp        // an object without "updated" or "resolved"
	ReasonBadHLC             // "updated", "resolved" or "mvcc_timestamp" is not an HLC string
	ReasonBadKey             // a row whose Kafka key is not a JSON array
	numReasons
)

var reasonNames = [numReasons]string{"none", "empty", "not_json", "not_object", "no_timestamp", "bad_hlc", "bad_key"}

// String returns the reason's name as it appears in results ("not_json", "bad_hlc", ...).
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Envelope is what Decode extracts from one changefeed message (JSON wrapped envelope).
// Key aliases the input key bytes.
type Envelope struct {
	Updated     HLC // top-level "updated"; valid when HasUpdated
	Resolved    HLC // top-level "resolved"; valid when HasResolved
	MVCC        HLC // top-level "mvcc_timestamp"; valid when HasMVCC
	HasUpdated  bool
	HasResolved bool
	HasMVCC     bool
	Key         []byte // the raw Kafka key (a JSON array) for rows; nil for resolved messages
}

// IsResolved reports whether the message is a resolved-timestamp message.
func (e *Envelope) IsResolved() bool { return e.HasResolved && !e.HasUpdated }

// Decode reads a CockroachDB changefeed message in the wrapped JSON envelope and fills env with
// the top-level "updated", "resolved" and "mvcc_timestamp" timestamps and the key, without
// unmarshalling "after"/"before". It never allocates; see BenchmarkDecodeRecord.
//
// Rows are read from the tail. CockroachDB sorts the envelope's keys (after, before, key,
// mvcc_timestamp, topic, updated), so a row ends with `"updated": "<HLC>"}` and, with the
// mvcc_timestamp option, `"mvcc_timestamp": "<HLC>", ` comes just before it (or before
// `"topic": "…", ` with topic_in_value). When the value ends that way, byte for byte as
// CockroachDB prints it, Decode takes updated and mvcc_timestamp from there and checks only the
// edges: the value starts with '{' and the key is a JSON array. It does not look inside the
// members before them, so for such a value it does not detect broken JSON there (mismatched
// brackets, an unterminated string inside "after", a stray byte between members), nor report a
// "resolved" or a second "mvcc_timestamp" member placed elsewhere (CockroachDB never writes
// either); for well-formed JSON the timestamps it reports are exactly those members. A
// truncated value, or one that is not JSON at all, does not end that way.
//
// Every other value (resolved messages, other spacing, no updated, a bad HLC, malformed input)
// is scanned in full by decodeScan, which checks structure (objects, arrays, strings, nesting,
// trailing bytes) but not the full syntax of numbers, or of scalars nested inside after/before.
func Decode(key, value []byte, env *Envelope) Reason {
	*env = Envelope{}
	if decodeTail(value, env) {
		return checkKey(key, env)
	}
	*env = Envelope{}
	return decodeScan(key, value, env)
}

// Member prefixes as CockroachDB prints them, up to and including the value's opening quote.
const (
	pfxUpdated = `"updated": "`
	pfxMVCC    = `"mvcc_timestamp": "`
	pfxTopic   = `"topic": "`
)

// hlcLen is the length of an HLC string with today's 19-digit wall time.
const hlcLen = len("1681240149199419939.0000000000")

// decodeTail is Decode's fast path for rows (see Decode): it reports false, leaving env to be
// reset, whenever the value does not end exactly as CockroachDB ends a row.
func decodeTail(value []byte, env *Envelope) bool {
	n := len(value)
	for n > 0 && class[value[n-1]]&clsWS != 0 {
		n--
	}
	if n < len(`{"updated": "0.0000000000"}`) || value[n-1] != '}' || value[n-2] != '"' {
		return false
	}
	q := hlcQuote(value, n-2)
	if q < 0 || !hasPrefixAt(value, q, pfxUpdated) {
		return false
	}
	upd := value[q+1 : n-2]
	var ok bool
	if env.Updated, ok = ParseHLC(upd); !ok {
		return false // decodeScan reports the bad HLC
	}
	env.HasUpdated = true
	first := skipWS(value, 0)
	if value[first] != '{' {
		return false
	}
	s := q + 1 - len(pfxUpdated) // the member's first byte
	// The member before: mvcc_timestamp, or topic (topic_in_value) with mvcc_timestamp before it.
	for topicSeen := false; ; topicSeen = true {
		if s-1 == first {
			return true // no member before
		}
		if value[s-1] != ' ' || value[s-2] != ',' {
			return false
		}
		e := s - 3 // the end of the member before
		if value[e] != '"' {
			return true // after, before or key: no mvcc_timestamp after them
		}
		if q = hlcQuote(value, e); q >= 0 && hasPrefixAt(value, q, pfxMVCC) {
			v := value[q+1 : e]
			if string(v) == string(upd) { // mvcc_timestamp is usually updated
				env.MVCC = env.Updated
			} else if env.MVCC, ok = ParseHLC(v); !ok {
				return false
			}
			env.HasMVCC = true
			return true
		}
		q = bytes.LastIndexByte(value[:e], '"')
		if topicSeen || q < 0 || !hasPrefixAt(value, q, pfxTopic) {
			return false // not CockroachDB's envelope: scan it in full
		}
		s = q + 1 - len(pfxTopic)
	}
}

// hlcQuote returns the index of the opening quote of the string that ends with the quote at
// b[e], if that string is at most an HLC long; -1 otherwise. It looks at today's HLC length
// first, where it may find a quote inside a longer string: ParseHLC then rejects what lies
// between (an HLC holds no quote).
func hlcQuote(b []byte, e int) int {
	if e >= hlcLen+1 && b[e-hlcLen-1] == '"' {
		return e - hlcLen - 1
	}
	for q := e - 1; q >= 0 && q >= e-hlcLen-1; q-- {
		if b[q] == '"' {
			return q
		}
	}
	return -1
}

// hasPrefixAt reports whether pfx ends at b[q] and its first quote is not escaped (not preceded
// by a backslash), so that in well-formed JSON it opens the member's name.
func hasPrefixAt(b []byte, q int, pfx string) bool {
	s := q + 1 - len(pfx)
	return s >= 1 && b[s-1] != '\\' && string(b[s:q+1]) == pfx
}

// checkKey checks that a row's Kafka key is a JSON array and sets env.Key.
func checkKey(key []byte, env *Envelope) Reason {
	if n := len(key); n >= 4 && key[0] == '[' && key[n-1] == ']' && stringList(key[1:n-1]) {
		env.Key = key
		return ReasonNone
	}
	k := skipWS(key, 0)
	if k >= len(key) || key[k] != '[' {
		return ReasonBadKey
	}
	e := skipValue(key, k)
	if e < 0 || skipWS(key, e) != len(key) {
		return ReasonBadKey
	}
	env.Key = key
	return ReasonNone
}

// stringList reports whether b is one or more JSON strings separated by ", " (the elements of a
// key of strings as CockroachDB prints it), finding each closing quote with bytes.IndexByte. It
// reports false for anything else, including a quote preceded by a backslash, which checkKey's
// general scan then decides.
func stringList(b []byte) bool {
	for i := 0; ; {
		if b[i] != '"' {
			return false
		}
		j := bytes.IndexByte(b[i+1:], '"')
		if j < 0 {
			return false
		}
		e := i + 1 + j // the closing quote
		if b[e-1] == '\\' {
			return false
		}
		switch {
		case e == len(b)-1:
			return true
		case e+3 < len(b) && b[e+1] == ',' && b[e+2] == ' ':
			i = e + 3
		default:
			return false
		}
	}
}

// decodeScan is Decode's general path: a structural scan of the whole value, member by member,
// skipping nested values (strings with escaped quotes and braces included).
func decodeScan(key, value []byte, env *Envelope) Reason {
	*env = Envelope{}
	i := skipWS(value, 0)
	if i == len(value) {
		return ReasonEmpty
	}
	if value[i] != '{' {
		if j := skipValue(value, i); j > 0 && skipWS(value, j) == len(value) {
			return ReasonNotObject
		}
		return ReasonNotJSON
	}
	i = skipWS(value, i+1)
	if i < len(value) && value[i] == '}' {
		i++
	} else {
		for {
			if i >= len(value) || value[i] != '"' {
				return ReasonNotJSON
			}
			ks := i + 1
			ke := skipString(value, i)
			if ke < 0 {
				return ReasonNotJSON
			}
			name := value[ks : ke-1]
			i = skipWS(value, ke)
			if i >= len(value) || value[i] != ':' {
				return ReasonNotJSON
			}
			i = skipWS(value, i+1)
			if i >= len(value) {
				return ReasonNotJSON
			}
			var target *HLC
			var has *bool
			switch string(name) { // no allocation: the compiler compares in place
			case "updated":
				target, has = &env.Updated, &env.HasUpdated
			case "resolved":
				target, has = &env.Resolved, &env.HasResolved
			case "mvcc_timestamp":
				target, has = &env.MVCC, &env.HasMVCC
			}
			vs := i
			i = skipValue(value, i)
			if i < 0 {
				return ReasonNotJSON
			}
			if target != nil {
				if value[vs] != '"' {
					return ReasonBadHLC
				}
				h, ok := ParseHLC(value[vs+1 : i-1])
				if !ok {
					return ReasonBadHLC
				}
				*target, *has = h, true
			}
			i = skipWS(value, i)
			if i >= len(value) {
				return ReasonNotJSON
			}
			if value[i] == '}' {
				i++
				break
			}
			if value[i] != ',' {
				return ReasonNotJSON
			}
			i = skipWS(value, i+1)
		}
	}
	if skipWS(value, i) != len(value) {
		return ReasonNotJSON
	}
	if !env.HasUpdated && !env.HasResolved {
		return ReasonNoTimestamp
	}
	if env.HasUpdated {
		return checkKey(key, env)
	}
	return ReasonNone
}

// class bits for the structural scanner.
const (
	clsWS = 1 << iota
	clsOpen
	clsClose
	clsQuote
	clsEnd // ends a scalar: whitespace, ',', ':', '}', ']'
)

var class = func() (t [256]uint8) {
	for _, c := range " \t\r\n" {
		t[c] |= clsWS | clsEnd
	}
	t['{'] |= clsOpen
	t['['] |= clsOpen
	t['}'] |= clsClose | clsEnd
	t[']'] |= clsClose | clsEnd
	t[','] |= clsEnd
	t[':'] |= clsEnd
	t['"'] |= clsQuote
	return t
}()

func skipWS(b []byte, i int) int {
	for i < len(b) && class[b[i]]&clsWS != 0 {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] == '"', or -1.
func skipString(b []byte, i int) int {
	if j := stringEnd(b, i+1); j >= 0 {
		return j + 1
	}
	return -1
}

// hasZero returns a word with the high bit set in each byte of x that is zero, and possibly in
// higher bytes after the first zero (only the lowest set byte is exact, which is all we use).
func hasZero(x uint64) uint64 {
	return (x - 0x0101010101010101) &^ x & 0x8080808080808080
}

// skipValue returns the index just past the JSON value starting at b[i], or -1. Objects and
// arrays must be balanced and properly paired; scalars run to the next delimiter.
func skipValue(b []byte, i int) int {
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case class[c]&clsOpen != 0:
		return skipNested(b, i)
	case class[c]&clsEnd != 0:
		return -1
	}
	j := i
	for j < len(b) && class[b[j]]&(clsEnd|clsQuote|clsOpen) == 0 {
		j++
	}
	if !scalarOK(b[i:j]) {
		return -1
	}
	return j
}

// scalarOK accepts the literals true, false, null and anything made of number characters.
func scalarOK(s []byte) bool {
	switch string(s) {
	case "true", "false", "null":
		return true
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E' {
			return false
		}
	}
	return len(s) > 0
}

// maxDepth bounds nesting; deeper values are reported as not JSON.
const maxDepth = 64

// nest classifies bytes for skipNested: 0 skip, 1 '"', 2 '{' or '[', 3 '}' or ']'.
var nest = func() (t [256]uint8) {
	t['"'] = 1
	t['{'], t['['] = 2, 2
	t['}'], t[']'] = 3, 3
	return t
}()

// Separators CockroachDB prints between a string and the next one, as little-endian words
// starting at the closing quote: `": "` (key to string value) and `", "` (to the next key or
// element).
var (
	sepColon = binary.LittleEndian.Uint32([]byte(`": "`))
	sepComma = binary.LittleEndian.Uint32([]byte(`", "`))
)

// stringEnd returns the index of the closing quote of the string whose first content byte is
// b[j], or -1. It reads eight bytes at a time, looking for '"' and '\\' with SWAR bit tricks.
func stringEnd(b []byte, j int) int {
	for j+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[j:])
		m := hasZero(x^0x2222222222222222) | hasZero(x^0x5c5c5c5c5c5c5c5c)
		if m == 0 {
			j += 8
			continue
		}
		j += bits.TrailingZeros64(m) >> 3
		if b[j] == '"' {
			return j
		}
		j += 2 // an escape: skip the escaped byte
	}
	for j < len(b) {
		switch b[j] {
		case '"':
			return j
		case '\\':
			j += 2
		default:
			j++
		}
	}
	return -1
}

// skipNested returns the index just past the object or array starting at b[i], or -1. The open
// brackets are kept as a bit stack (1 = '{'), so nesting is limited to maxDepth.
//
// Strings are most of a row: after each one, when the next four bytes are `": "` or `", "`
// (CockroachDB's separators) followed by a quote, it goes straight on to the next string, one
// comparison instead of four table lookups and branches (BenchmarkDecode). Bytes it skips that
// way are bytes the general loop skips too: the result is the same.
func skipNested(b []byte, i int) int {
	var stack uint64
	depth := 0
	for i < len(b) {
		c := b[i]
		switch nest[c] {
		case 0:
			i++
		case 1:
			j := stringEnd(b, i+1)
			for j >= 0 && j+4 <= len(b) {
				if w := binary.LittleEndian.Uint32(b[j:]); w != sepColon && w != sepComma {
					break
				}
				j = stringEnd(b, j+4)
			}
			if j < 0 {
				return -1
			}
			i = j + 1
		case 2:
			if depth == maxDepth {
				return -1
			}
			stack = stack<<1 | uint64(c>>5&1) // bit 5: 1 for '{' and '}', 0 for '[' and ']'
			depth++
			i++
		default:
			if depth == 0 || stack&1 != uint64(c>>5&1) {
				return -1
			}
			stack >>= 1
			depth--
			i++
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// MaxDecodeSamples is how many malformed messages Malformed keeps as samples.
const MaxDecodeSamples = 8

// maxSampleBytes bounds the value kept in a DecodeSample.
const maxSampleBytes = 256

// DecodeSample is one malformed message kept for the report, its value truncated to 256 bytes.
type DecodeSample struct {
	Reason    Reason
	Topic     string
	Partition int32
	Offset    int64
	Value     string // at most 256 bytes of the value; "…" appended when truncated
}

// Malformed counts malformed messages by reason and keeps the first MaxDecodeSamples of them.
// Not safe for concurrent use: one per recorder.
type Malformed struct {
	counts  [numReasons]int64
	samples []DecodeSample
}

// Note counts one malformed message. Only the first MaxDecodeSamples calls allocate.
func (m *Malformed) Note(r Reason, topic string, partition int32, offset int64, value []byte) {
	m.counts[r]++
	if len(m.samples) >= MaxDecodeSamples {
		return
	}
	v := value
	suffix := ""
	if len(v) > maxSampleBytes {
		v, suffix = v[:maxSampleBytes], "…"
	}
	m.samples = append(m.samples, DecodeSample{Reason: r, Topic: topic, Partition: partition, Offset: offset, Value: string(v) + suffix})
}

// Total returns the number of malformed messages seen.
func (m *Malformed) Total() int64 {
	var n int64
	for _, c := range m.counts[1:] {
		n += c
	}
	return n
}

// ByReason returns the counts keyed by reason name ("not_json", ...), only non-zero ones.
func (m *Malformed) ByReason() map[string]int64 {
	out := make(map[string]int64)
	for r, c := range m.counts {
		if c > 0 && Reason(r) != ReasonNone {
			out[Reason(r).String()] = c
		}
	}
	return out
}

// Samples returns a copy of the kept samples.
func (m *Malformed) Samples() []DecodeSample { return append([]DecodeSample(nil), m.samples...) }
