package load

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/cfbench/cfbench/changefeed"
)

// Cities are movr's cities, in movr's order (pkg/workload/movr).
var Cities = [...]string{
	"new york", "boston", "washington dc", "seattle", "san francisco", "los angeles",
	"amsterdam", "paris", "rome",
}

const numCities = len(Cities)

// Value pools, built once so that generating a row picks strings instead of building them.
// Note: movr draws names and addresses from its faker per row; pre-generated pools give the
// same shape of data without an allocation per value.
var (
	firstNames = [...]string{
		"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
		"Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
		"Sarah", "Carlos", "Karen", "Lucia", "Nancy", "Daniel", "Lisa", "Matteo", "Betty",
		"Mark", "Margaret", "Pierre", "Sandra", "Anh", "Ashley", "Kenji", "Kimberly", "Pedro",
		"Emily", "Jan", "Donna", "Sven", "Michelle",
	}
	lastNames = [...]string{
		"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
		"Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
		"Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
		"Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Rossi", "Dubois",
		"de Vries", "Nguyen", "Tanaka", "Schmidt", "Bianchi", "Moreau", "Jansen", "Kowalski",
	}
	streetNames = [...]string{
		"Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park",
		"Sunset", "River", "Church", "Mill", "Spring", "Highland", "Forest", "Jackson",
		"Meadow", "Ridge", "Canal", "Harbor", "Bridge", "Garden", "Station", "Market",
	}
	streetSuffixes = [...]string{"Street", "Avenue", "Road", "Lane", "Boulevard", "Drive", "Court", "Way"}
	words          = [...]string{
		"ride", "free", "summer", "winter", "spring", "autumn", "city", "fast", "green", "bonus",
		"weekend", "night", "morning", "happy", "hour", "first", "loyal", "friend", "student",
		"commute", "scooter", "bike", "skate", "welcome", "back", "holiday", "super", "mega",
	}
	vehicleTypes  = [...]string{"skateboard", "bike", "scooter"}
	vehicleColors = [...]string{"red", "yellow", "blue", "green", "black"}
	bikeBrands    = [...]string{"Merida", "Fuji", "Cervelo", "Pinarello", "Santa Cruz", "Kona", "Schwinn"}

	namePool     []string // "First Last"
	addressPool  []string // "1234 Oak Street"
	cardPool     []string // 10 digits, as movr's randCreditCard
	sentencePool []string // promo code descriptions
	extPool      [len(vehicleTypes)][]string
)

const (
	addressPoolSize  = 8192
	cardPoolSize     = 8192
	sentencePoolSize = 512
	promoRulesJSON   = `{"type": "percent_discount", "value": "10%"}`
)

func init() {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, f := range firstNames {
		for _, l := range lastNames {
			namePool = append(namePool, f+" "+l)
		}
	}
	for range addressPoolSize {
		addressPool = append(addressPool, strconv.Itoa(1+rng.IntN(9999))+" "+
			streetNames[rng.IntN(len(streetNames))]+" "+streetSuffixes[rng.IntN(len(streetSuffixes))])
	}
	for range cardPoolSize {
		var b [10]byte
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		cardPool = append(cardPool, string(b[:]))
	}
	for range sentencePoolSize {
		s := "Get " + strconv.Itoa(5+5*rng.IntN(10)) + "% off your next"
		for range 3 + rng.IntN(6) {
			s += " " + words[rng.IntN(len(words))]
		}
		sentencePool = append(sentencePool, s+" ride.")
	}
	// movr's randVehicleMetadata: {"color": ...} plus "brand" for bikes; keys sorted, as
	// CockroachDB prints JSONB.
	for t, typ := range vehicleTypes {
		for _, c := range vehicleColors {
			if typ == "bike" {
				for _, b := range bikeBrands {
					extPool[t] = append(extPool[t], `{"brand": "`+b+`", "color": "`+c+`"}`)
				}
				continue
			}
			extPool[t] = append(extPool[t], `{"color": "`+c+`"}`)
		}
	}
}

func pick[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }

func randName(rng *rand.Rand) string       { return pick(rng, namePool) }
func randAddress(rng *rand.Rand) string    { return pick(rng, addressPool) }
func randCreditCard(rng *rand.Rand) string { return pick(rng, cardPool) }
func randCity(rng *rand.Rand) int          { return rng.IntN(numCities) }

// randVehicle returns a vehicle type and its ext JSONB, as movr's randVehicleType and
// randVehicleMetadata.
func randVehicle(rng *rand.Rand) (typ, ext string) {
	t := rng.IntN(len(vehicleTypes))
	return vehicleTypes[t], pick(rng, extPool[t])
}

// randVehicleStatus is movr's: 40% available, 55% in_use, 5% lost.
func randVehicleStatus(rng *rand.Rand) string {
	switch r := rng.IntN(100); {
	case r < 40:
		return "available"
	case r < 95:
		return "in_use"
	default:
		return "lost"
	}
}

// randLatLong is movr's randLatLong (whole degrees; movr swaps the ranges, kept as is).
func randLatLong(rng *rand.Rand) (lat, long float64) {
	return float64(-180 + rng.IntN(360)), float64(-90 + rng.IntN(180))
}

// randUUID returns a random version 4 UUID.
func randUUID(rng *rand.Rand) [16]byte {
	var u [16]byte
	a, b := rng.Uint64(), rng.Uint64()
	for i := range 8 {
		u[i] = byte(a >> (8 * i))
		u[8+i] = byte(b >> (8 * i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// randPromoCode returns a code like movr's (three words joined by "_") made unique by a random
// suffix. It allocates; createPromoCode is 3% of movr's ops.
func randPromoCode(rng *rand.Rand) string {
	b := make([]byte, 0, 48)
	for range 3 {
		b = append(b, words[rng.IntN(len(words))]...)
		b = append(b, '_')
	}
	b = strconv.AppendUint(b, rng.Uint64()&0xffffffffff, 36)
	return string(b)
}

// now returns the current time in UTC at microsecond precision (PostgreSQL's), the form load
// writes TIMESTAMP columns in, so that the changefeed key it records matches the stored value.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

const hexDigits = "0123456789abcdef"

// appendUUID appends u in its canonical 8-4-4-4-12 form.
func appendUUID(dst []byte, u [16]byte) []byte {
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return dst
}

// uuidString formats u; for tests and seeding, not for hot paths.
func uuidString(u [16]byte) string { return string(appendUUID(nil, u)) }

// TimestampKeyLayout is how a TIMESTAMP primary-key value appears in a changefeed key:
// UTC, no zone, trailing zeros of the fraction trimmed.
const TimestampKeyLayout = "2006-01-02T15:04:05.999999999"

// appendTimestamp appends t in UTC as TimestampKeyLayout does, without time.Format's cost.
func appendTimestamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, TimestampKeyLayout)
	}
	dst = append(dst, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+min/10), byte('0'+min%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
	ns := t.Nanosecond()
	if ns == 0 {
		return dst
	}
	var frac [10]byte
	frac[0] = '.'
	for i := 9; i >= 1; i-- {
		frac[i] = byte('0' + ns%10)
		ns /= 10
	}
	n := 10
	for frac[n-1] == '0' {
		n--
	}
	return append(dst, frac[:n]...)
}

// keyBuf builds changefeed message keys: a JSON array of the primary-key values in PK order,
// `["paris", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f"]`, with ", " between values as
// CockroachDB's JSON printer writes them. A keyBuf is reused for every key a worker builds;
// done's result is valid until the next reset.
type keyBuf struct{ b []byte }

func (k *keyBuf) reset() *keyBuf {
	if k.b == nil {
		k.b = make([]byte, 0, 128)
	}
	k.b = append(k.b[:0], '[')
	return k
}

func (k *keyBuf) sep() {
	if len(k.b) > 1 {
		k.b = append(k.b, ", "...)
	}
}

func (k *keyBuf) str(s string) *keyBuf {
	k.sep()
	k.b = changefeed.AppendJSONString(k.b, s)
	return k
}

func (k *keyBuf) uuid(u [16]byte) *keyBuf {
	k.sep()
	k.b = append(k.b, '"')
	k.b = appendUUID(k.b, u)
	k.b = append(k.b, '"')
	return k
}

func (k *keyBuf) ts(t time.Time) *keyBuf {
	k.sep()
	k.b = append(k.b, '"')
	k.b = appendTimestamp(k.b, t)
	k.b = append(k.b, '"')
	return k
}

func (k *keyBuf) done() []byte {
	k.b = append(k.b, ']')
	return k.b
}

// AppendKey appends the changefeed message key of a row whose primary-key values, in PK order,
// are vals (see changefeed.AppendKey). It is the form Ledger keys take.
func AppendKey(dst []byte, vals ...string) []byte { return changefeed.AppendKey(dst, vals...) }
