package load

import (
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"testing"
	"time"
)

func TestKeyFormat(t *testing.T) {
	u := [16]byte{0x2c, 0x28, 0xa2, 0x31, 0x8b, 0x1e, 0x4e, 0x83, 0x9b, 0xfa, 0x6c, 0x4c, 0xdb, 0x0a, 0x3a, 0x4f}
	ts := time.Date(2026, 12, 4, 20, 9, 18, 123450000, time.UTC)
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"users", func() string { var k keyBuf; return string(k.reset().str("paris").uuid(u).done()) }(), `["paris", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f"]`},
		{"promo_codes", func() string { var k keyBuf; return string(k.reset().str(`a"b\c`).done()) }(), `["a\"b\\c"]`},
		{"history", func() string { var k keyBuf; return string(k.reset().str("new york").uuid(u).ts(ts).done()) }(), `["new york", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f", "2026-12-04T20:09:18.12345"]`},
		{"whole second", func() string { var k keyBuf; return string(k.reset().ts(ts.Truncate(time.Second)).done()) }(), `["2026-12-04T20:09:18"]`},
		{"zone dropped", func() string { var k keyBuf; return string(k.reset().ts(ts.In(time.FixedZone("x", 3600))).done()) }(), `["2026-12-04T20:09:18.12345"]`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, tt.got, tt.want)
		}
	}
}

func TestGenerators(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[[16]byte]bool{}
	for range 1000 {
		u := randUUID(rng)
		if !uuidRE.MatchString(uuidString(u)) {
			t.Fatalf("randUUID = %s, not a version 4 UUID", uuidString(u))
		}
		if seen[u] {
			t.Fatal("randUUID repeated itself")
		}
		seen[u] = true
	}
	for range 100 {
		typ, ext := randVehicle(rng)
		var m map[string]string
		if err := json.Unmarshal([]byte(ext), &m); err != nil || m["color"] == "" {
			t.Fatalf("vehicle ext %q: %v", ext, err)
		}
		if _, hasBrand := m["brand"]; hasBrand != (typ == "bike") {
			t.Fatalf("vehicle %s has ext %s: brand only for bikes", typ, ext)
		}
		if c := randCreditCard(rng); !regexp.MustCompile(`^[0-9]{10}$`).MatchString(c) {
			t.Fatalf("credit card %q", c)
		}
		if code := randPromoCode(rng); !regexp.MustCompile(`^[a-z]+_[a-z]+_[a-z]+_[0-9a-z]+$`).MatchString(code) {
			t.Fatalf("promo code %q", code)
		}
	}
}

func TestAppendTimestamp(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		ts := time.Unix(rng.Int64N(300_000_000_000)-10_000_000_000, rng.Int64N(1e9))
		switch rng.IntN(3) {
		case 0:
			ts = ts.Truncate(time.Microsecond)
		case 1:
			ts = ts.Truncate(time.Second)
		}
		if got, want := string(appendTimestamp(nil, ts)), ts.UTC().Format(TimestampKeyLayout); got != want {
			t.Fatalf("appendTimestamp(%v) = %s, want %s", ts, got, want)
		}
	}
}

func BenchmarkKey(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	u := randUUID(rng)
	ts := now()
	var k keyBuf
	b.ReportAllocs()
	for b.Loop() {
		k.reset().str("san francisco").uuid(u).ts(ts).done()
	}
}

func TestAppendKeyMatchesKeyBuf(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	u := randUUID(rng)
	ts := now()
	var k keyBuf
	want := string(k.reset().str("los angeles").uuid(u).ts(ts).done())
	got := string(AppendKey(nil, "los angeles", uuidString(u), ts.Format(TimestampKeyLayout)))
	if got != want {
		t.Fatalf("AppendKey = %s, keyBuf = %s", got, want)
	}
}
