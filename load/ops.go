package load

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Op is one kind of movr operation.
type Op uint8

// The operations. The write ops and their default weights are movr's (pkg/workload/movr);
// UpdateLocation is movr's location-history upsert for an active ride, and ReadVehicles its
// read (off by default; for contention studies).
const (
	AddUser         Op = iota // INSERT a user
	AddVehicle                // INSERT a vehicle owned by a known user
	StartRide                 // INSERT a ride and UPDATE its vehicle to in_use, one statement
	EndRide                   // UPDATE an active ride with its end
	ApplyPromoCode            // UPSERT a user's use of a promo code
	CreatePromoCode           // INSERT a promo code
	UpdateLocation            // UPSERT a location history row of an active ride
	ReadVehicles              // SELECT up to 100 vehicles of a city
	NumOps                    // number of ops
)

var opNames = [NumOps]string{"addUser", "addVehicle", "startRide", "endRide", "applyPromoCode", "createPromoCode", "updateLocation", "readVehicles"}

// String returns the op's name as used in --mix and in the result file (write_latency.<name>).
func (o Op) String() string {
	if o < NumOps {
		return opNames[o]
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// Writes reports whether the op writes rows.
func (o Op) Writes() bool { return o != ReadVehicles }

// ParseOp returns the op named s (case-insensitive).
func ParseOp(s string) (Op, error) {
	for i, n := range opNames {
		if strings.EqualFold(n, s) {
			return Op(i), nil
		}
	}
	return 0, fmt.Errorf("unknown op %q: want one of %s", s, strings.Join(opNames[:], ", "))
}

// Mix holds the relative weight of each op; weights need not sum to 1.
type Mix [NumOps]float64

// DefaultMix returns movr's write mix — addUser .3, addVehicle .1, startRide .4, endRide .07,
// applyPromoCode .1, createPromoCode .03 — plus updateLocation .2 for the location-history
// upserts movr does for active rides, and no reads.
func DefaultMix() Mix {
	var m Mix
	m[AddUser], m[AddVehicle], m[StartRide], m[EndRide] = 0.3, 0.1, 0.4, 0.07
	m[ApplyPromoCode], m[CreatePromoCode], m[UpdateLocation] = 0.1, 0.03, 0.2
	return m
}

// ParseMix parses a comma-separated list of op=weight, e.g. "addUser=0.3,startRide=0.4". Ops
// not listed get weight 0, unless the list starts with "default", which starts from DefaultMix:
// "default,readVehicles=0.5" adds reads to movr's mix.
func ParseMix(s string) (Mix, error) {
	var m Mix
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if i == 0 && part == "default" {
			m = DefaultMix()
			continue
		}
		name, w, ok := strings.Cut(part, "=")
		if !ok {
			return Mix{}, fmt.Errorf("%q: want op=weight", part)
		}
		op, err := ParseOp(strings.TrimSpace(name))
		if err != nil {
			return Mix{}, err
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(w), 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return Mix{}, fmt.Errorf("%s=%s: want a weight >= 0", name, w)
		}
		m[op] = v
	}
	return m, m.validate()
}

func (m Mix) validate() error {
	sum := 0.0
	for _, w := range m {
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("mix %s: weights must be finite and >= 0", m)
		}
		sum += w
	}
	if sum <= 0 {
		return fmt.Errorf("mix %q: no op has a weight above 0", m.String())
	}
	return nil
}

// String formats m as ParseMix reads it, ops with weight 0 left out.
func (m Mix) String() string {
	var parts []string
	for op, w := range m {
		if w > 0 {
			parts = append(parts, opNames[op]+"="+strconv.FormatFloat(w, 'g', -1, 64))
		}
	}
	return strings.Join(parts, ",")
}

// Fractions returns the weights normalized to sum to 1.
func (m Mix) Fractions() Mix {
	sum := 0.0
	for _, w := range m {
		sum += w
	}
	if sum > 0 {
		for i := range m {
			m[i] /= sum
		}
	}
	return m
}

// picker chooses ops with the probabilities of a Mix.
type picker struct{ cum [NumOps]float64 }

func newPicker(m Mix) picker {
	var p picker
	f := m.Fractions()
	acc := 0.0
	for i, w := range f {
		acc += w
		p.cum[i] = acc
	}
	return p
}

func (p *picker) pick(rng *rand.Rand) Op {
	r := rng.Float64() * p.cum[NumOps-1]
	for i, c := range p.cum {
		if r < c {
			return Op(i)
		}
	}
	// r == total only through rounding: the last op with a weight.
	for i := NumOps - 1; i > 0; i-- {
		if p.cum[i] > p.cum[i-1] {
			return Op(i)
		}
	}
	return 0
}

// ring is a bounded set of recently known IDs; when full, new IDs replace random old ones.
type ring[T any] struct {
	items []T
	max   int
}

func (r *ring[T]) add(rng *rand.Rand, v T) {
	if len(r.items) < r.max {
		r.items = append(r.items, v)
		return
	}
	r.items[rng.IntN(len(r.items))] = v
}

func (r *ring[T]) random(rng *rand.Rand) (T, bool) {
	var zero T
	if len(r.items) == 0 {
		return zero, false
	}
	return r.items[rng.IntN(len(r.items))], true
}

type activeRide struct {
	city    uint8
	id      [16]byte
	vehicle [16]byte
}

// known is what a worker knows exists, so its ops reference real rows: the rows found at the
// start of the run (the seed) plus those it wrote itself. One per worker, not shared.
type known struct {
	users    [numCities]ring[[16]byte]
	vehicles [numCities]ring[[16]byte]
	promo    ring[string]
	active   rideQueue // endRide ends the oldest
}

// rideQueue is a FIFO of active rides, bounded to maxActiveRides (the oldest are forgotten).
type rideQueue struct {
	items []activeRide
	head  int
}

func (q *rideQueue) len() int { return len(q.items) - q.head }

func (q *rideQueue) push(r activeRide) {
	if q.head > 0 && q.head >= len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, r)
	if q.len() > maxActiveRides {
		q.head++
	}
}

func (q *rideQueue) pop() activeRide {
	r := q.items[q.head]
	q.head++
	return r
}

func (q *rideQueue) oldest() activeRide { return q.items[q.head] }

func (q *rideQueue) random(rng *rand.Rand) activeRide {
	return q.items[q.head+rng.IntN(q.len())]
}

const (
	knownPerCity   = 1024
	knownPromo     = 1024
	maxActiveRides = 1024
)

func newKnown() *known {
	k := &known{promo: ring[string]{max: knownPromo}}
	for c := range numCities {
		k.users[c].max, k.vehicles[c].max = knownPerCity, knownPerCity
	}
	return k
}

func (k *known) clone() *known {
	c := *k
	for i := range numCities {
		c.users[i].items = append([][16]byte(nil), k.users[i].items...)
		c.vehicles[i].items = append([][16]byte(nil), k.vehicles[i].items...)
	}
	c.promo.items = append([]string(nil), k.promo.items...)
	c.active.items = append([]activeRide(nil), k.active.items[k.active.head:]...)
	c.active.head = 0
	return &c
}

// loadKnown reads up to knownPerCity users and vehicles per city and knownPromo promo codes,
// and checks that the mix finds what it needs.
func loadKnown(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, mix Mix) (*known, error) {
	k := newKnown()
	rng := rand.New(rand.NewPCG(1, 1))
	scan := func(what, sql string, args []any, add func(city int, id [16]byte, code string)) error {
		rows, err := db.Query(ctx, sql, args...)
		if err != nil {
			return fmt.Errorf("reading %s: %w", what, err)
		}
		defer rows.Close()
		for rows.Next() {
			var city string
			var id [16]byte
			var code string
			if what == "promo codes" {
				err = rows.Scan(&code)
			} else {
				err = rows.Scan(&city, &id)
			}
			if err != nil {
				return fmt.Errorf("reading %s: %w", what, err)
			}
			add(cityIndex([]byte(city)), id, code)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading %s: %w", what, err)
		}
		return nil
	}
	for c, city := range Cities {
		if err := scan("users", `SELECT city, id FROM users WHERE city = $1 LIMIT $2`, []any{city, knownPerCity},
			func(_ int, id [16]byte, _ string) { k.users[c].add(rng, id) }); err != nil {
			return nil, err
		}
		if err := scan("vehicles", `SELECT city, id FROM vehicles WHERE city = $1 LIMIT $2`, []any{city, knownPerCity},
			func(_ int, id [16]byte, _ string) { k.vehicles[c].add(rng, id) }); err != nil {
			return nil, err
		}
	}
	if err := scan("promo codes", `SELECT code FROM promo_codes LIMIT $1`, []any{knownPromo},
		func(_ int, _ [16]byte, code string) { k.promo.add(rng, code) }); err != nil {
		return nil, err
	}
	needUsers := mix[AddVehicle] > 0 || mix[StartRide] > 0 || mix[ApplyPromoCode] > 0 || mix[EndRide] > 0 || mix[UpdateLocation] > 0
	for c, city := range Cities {
		if needUsers && len(k.users[c].items) == 0 {
			return nil, fmt.Errorf("no users in city %q: run `cfbench init` first", city)
		}
		if (mix[StartRide] > 0 || mix[EndRide] > 0 || mix[UpdateLocation] > 0) && len(k.vehicles[c].items) == 0 {
			return nil, fmt.Errorf("no vehicles in city %q: run `cfbench init` first", city)
		}
	}
	if mix[ApplyPromoCode] > 0 && len(k.promo.items) == 0 {
		return nil, fmt.Errorf("no promo codes: run `cfbench init` first")
	}
	return k, nil
}

// execer is the part of a connection the ops use; *pgx.Conn satisfies it.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// The statements, one per op; each runs as a single implicit transaction and means the same on
// CockroachDB and PostgreSQL.
const (
	sqlAddUser = `INSERT INTO users (id, city, name, address, credit_card) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (city, id) DO NOTHING`
	sqlAddVehicle = `INSERT INTO vehicles (id, city, type, owner_id, creation_time, status, current_location, ext)
VALUES ($1, $2, $3, $4, $5, 'available', $6, $7) ON CONFLICT (city, id) DO NOTHING`
	sqlStartRide = `WITH r AS (
  INSERT INTO rides (id, city, vehicle_city, rider_id, vehicle_id, start_address, start_time)
  VALUES ($1, $2, $2, $3, $4, $5, $6) ON CONFLICT (city, id) DO NOTHING RETURNING id
), v AS (
  UPDATE vehicles SET status = 'in_use', current_location = $5 WHERE city = $2 AND id = $4 RETURNING id
)
SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM v)`
	sqlEndRide        = `UPDATE rides SET end_address = $3, end_time = $4, revenue = $5 WHERE city = $1 AND id = $2`
	sqlApplyPromoCode = `INSERT INTO user_promo_codes (city, user_id, code, "timestamp", usage_count) VALUES ($1, $2, $3, $4, 1)
ON CONFLICT (city, user_id, code) DO UPDATE SET usage_count = user_promo_codes.usage_count + 1, "timestamp" = excluded."timestamp"`
	sqlCreatePromoCode = `INSERT INTO promo_codes (code, description, creation_time, expiration_time, rules) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (code) DO NOTHING`
	sqlUpdateLocation = `INSERT INTO vehicle_location_histories (city, ride_id, "timestamp", lat, long) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (city, ride_id, "timestamp") DO UPDATE SET lat = excluded.lat, long = excluded.long`
	sqlReadVehicles = `SELECT id, status FROM vehicles WHERE city = $1 LIMIT 100`
)

// opSQL lists the statements of the ops, prepared on each connection before a run.
var opSQL = []string{sqlAddUser, sqlAddVehicle, sqlStartRide, sqlEndRide, sqlApplyPromoCode, sqlCreatePromoCode, sqlUpdateLocation, sqlReadVehicles}

// opRunner executes ops for one worker. Not safe for concurrent use.
type opRunner struct {
	rng    *rand.Rand
	known  *known
	ledger *Ledger
	key    keyBuf
	scan   [2]int64
	cities []int     // indexes into Cities to write to; nil = all
	sent   time.Time // when the op being run was sent (see Ledger.Record)
}

// fallback returns the op to run instead of op when op has nothing to work on: endRide and
// updateLocation need an active ride, so they start one first.
func (r *opRunner) fallback(op Op) Op {
	if (op == EndRide || op == UpdateLocation) && r.known.active.len() == 0 {
		return StartRide
	}
	return op
}

func (r *opRunner) record(table string, key []byte, ack time.Time) {
	if r.ledger != nil {
		r.ledger.Record(table, key, r.sent, ack)
	}
}

// run executes op once on c and records the rows it changed in the ledger. It returns the
// number of rows changed.
func (r *opRunner) run(ctx context.Context, c execer, op Op) (int, error) {
	r.sent = time.Now()
	rng := r.rng
	var city int
	if len(r.cities) > 0 {
		city = r.cities[rng.IntN(len(r.cities))]
	} else {
		city = randCity(rng)
	}
	cityName := Cities[city]
	switch op {
	case AddUser:
		id := randUUID(rng)
		tag, err := c.Exec(ctx, sqlAddUser, id, cityName, randName(rng), randAddress(rng), randCreditCard(rng))
		if err != nil {
			return 0, err
		}
		ack := time.Now()
		if tag.RowsAffected() == 1 {
			r.record(TableUsers, r.key.reset().str(cityName).uuid(id).done(), ack)
			r.known.users[city].add(rng, id)
		}
		return int(tag.RowsAffected()), nil
	case AddVehicle:
		owner, _ := r.known.users[city].random(rng)
		id := randUUID(rng)
		typ, ext := randVehicle(rng)
		tag, err := c.Exec(ctx, sqlAddVehicle, id, cityName, typ, owner, now(), randAddress(rng), ext)
		if err != nil {
			return 0, err
		}
		ack := time.Now()
		if tag.RowsAffected() == 1 {
			r.record(TableVehicles, r.key.reset().str(cityName).uuid(id).done(), ack)
			r.known.vehicles[city].add(rng, id)
		}
		return int(tag.RowsAffected()), nil
	case StartRide:
		rider, _ := r.known.users[city].random(rng)
		vehicle, _ := r.known.vehicles[city].random(rng)
		id := randUUID(rng)
		if err := c.QueryRow(ctx, sqlStartRide, id, cityName, rider, vehicle, randAddress(rng), now()).Scan(&r.scan[0], &r.scan[1]); err != nil {
			return 0, err
		}
		ack := time.Now()
		if r.scan[0] == 1 {
			r.record(TableRides, r.key.reset().str(cityName).uuid(id).done(), ack)
			r.known.active.push(activeRide{city: uint8(city), id: id, vehicle: vehicle})
		}
		if r.scan[1] == 1 {
			r.record(TableVehicles, r.key.reset().str(cityName).uuid(vehicle).done(), ack)
		}
		return int(r.scan[0] + r.scan[1]), nil
	case EndRide:
		ride := r.known.active.oldest()
		cityName = Cities[ride.city]
		tag, err := c.Exec(ctx, sqlEndRide, cityName, ride.id, randAddress(rng), now(), float64(rng.IntN(10000))/100)
		if err != nil {
			return 0, err
		}
		ack := time.Now()
		r.known.active.pop()
		if tag.RowsAffected() == 1 {
			r.record(TableRides, r.key.reset().str(cityName).uuid(ride.id).done(), ack)
		}
		return int(tag.RowsAffected()), nil
	case ApplyPromoCode:
		user, _ := r.known.users[city].random(rng)
		code, _ := r.known.promo.random(rng)
		tag, err := c.Exec(ctx, sqlApplyPromoCode, cityName, user, code, now())
		if err != nil {
			return 0, err
		}
		ack := time.Now()
		if tag.RowsAffected() == 1 {
			r.record(TableUserPromoCodes, r.key.reset().str(cityName).uuid(user).str(code).done(), ack)
		}
		return int(tag.RowsAffected()), nil
	case CreatePromoCode:
		code := randPromoCode(rng)
		created := now()
		tag, err := c.Exec(ctx, sqlCreatePromoCode, code, pick(rng, sentencePool), created,
			created.Add(time.Duration(1+rng.IntN(30))*24*time.Hour), promoRulesJSON)
		if err != nil {
			return 0, err
		}
		ack := time.Now()
		if tag.RowsAffected() == 1 {
			r.record(TablePromoCodes, r.key.reset().str(code).done(), ack)
			r.known.promo.add(rng, code)
		}
		return int(tag.RowsAffected()), nil
	case UpdateLocation:
		ride := r.known.active.random(rng)
		cityName = Cities[ride.city]
		lat, long := randLatLong(rng)
		ts := now()
		tag, err := c.Exec(ctx, sqlUpdateLocation, cityName, ride.id, ts, lat, long)
		if err != nil {
			return 0, err
		}
		ack := time.Now()
		if tag.RowsAffected() == 1 {
			r.record(TableLocationHistory, r.key.reset().str(cityName).uuid(ride.id).ts(ts).done(), ack)
		}
		return int(tag.RowsAffected()), nil
	case ReadVehicles:
		rows, err := c.Query(ctx, sqlReadVehicles, cityName)
		if err != nil {
			return 0, err
		}
		for rows.Next() {
		}
		rows.Close()
		return 0, rows.Err()
	}
	return 0, fmt.Errorf("unknown op %d", op)
}

// sortedOps returns the ops with a weight in m, in Op order.
func sortedOps(m Mix) []Op {
	var ops []Op
	for i, w := range m {
		if w > 0 {
			ops = append(ops, Op(i))
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i] < ops[j] })
	return ops
}
