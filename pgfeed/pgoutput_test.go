package pgfeed

import (
	"encoding/binary"
	"testing"
	"time"
)

// tupleBytes builds pgoutput TupleData for row ("\x00NULL" → null, "\x00TOAST" → unchanged).
func tupleBytes(vals []string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(vals)))
	for _, v := range vals {
		switch v {
		case "\x00NULL":
			b = append(b, 'n')
		case "\x00TOAST":
			b = append(b, 'u')
		default:
			b = append(b, 't')
			b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
			b = append(b, v...)
		}
	}
	return b
}

func changeMsg(typ byte, rel uint32, parts ...any) []byte {
	b := binary.BigEndian.AppendUint32(nil, rel)
	for _, p := range parts {
		switch p := p.(type) {
		case byte:
			b = append(b, p)
		case []string:
			b = append(b, tupleBytes(p)...)
		}
	}
	return b
}

func vehicleVals(status, ext string) []string {
	return []string{"2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f", "new york", "skateboard", "\x00NULL",
		"2019-01-02 03:04:05.123456", status, "64110 Richard Crescent", ext, "25.50", "40.7128", "1", "t"}
}

func TestDecodeChanges(t *testing.T) {
	var d changeDecoder
	ins, err := d.decode(msgInsert, changeMsg(msgInsert, 7, byte('N'), vehicleVals("available", `{"a": 1}`)))
	if err != nil || ins.RelID != 7 || ins.New == nil || ins.Old != nil || string(ins.New[5].Text) != "available" || !ins.New[3].Null {
		t.Fatalf("insert: %+v %v", ins, err)
	}
	// Update with the full old row and an unchanged TOAST column (ext), filled from the old row.
	newVals := vehicleVals("in_use", "\x00TOAST")
	upd, err := d.decode(msgUpdate, changeMsg(msgUpdate, 7, byte('O'), vehicleVals("available", `{"big": true}`), byte('N'), newVals))
	if err != nil {
		t.Fatal(err)
	}
	if string(upd.New[5].Text) != "in_use" || string(upd.Old[5].Text) != "available" || string(upd.New[7].Text) != `{"big": true}` {
		t.Fatalf("update: new %q old %q ext %q", upd.New[5].Text, upd.Old[5].Text, upd.New[7].Text)
	}
	// Without the old row an unchanged TOAST value cannot be rebuilt.
	if _, err := d.decode(msgUpdate, changeMsg(msgUpdate, 7, byte('N'), newVals)); err == nil {
		t.Fatal("update with TOAST and no old row: no error")
	}
	del, err := d.decode(msgDelete, changeMsg(msgDelete, 7, byte('K'), []string{"\x00NULL", "new york"}))
	if err != nil || del.New != nil || !del.OldKey || string(del.Old[1].Text) != "new york" {
		t.Fatalf("delete: %+v %v", del, err)
	}
	for _, bad := range [][]byte{{0, 0}, changeMsg(msgInsert, 1, byte('X')), changeMsg(msgInsert, 1, byte('N'), byte(0), byte(3), byte('t'))} {
		if _, err := d.decode(msgInsert, bad); err == nil {
			t.Errorf("decode(%x): no error", bad)
		}
	}
}

func TestDecodeBeginCommitRelation(t *testing.T) {
	commit := time.Date(2026, 12, 4, 20, 0, 0, 123456000, time.UTC)
	pgTime := uint64(commit.UnixMicro() - pgEpochMicros)
	b := binary.BigEndian.AppendUint64(nil, 0x16B3748)
	b = binary.BigEndian.AppendUint64(b, pgTime)
	b = binary.BigEndian.AppendUint32(b, 42)
	m, err := decodeBegin(b)
	if err != nil || m.Xid != 42 || m.CommitTime != commit.UnixNano() {
		t.Fatalf("begin: %+v %v", m, err)
	}
	c := []byte{0}
	c = binary.BigEndian.AppendUint64(c, 1)
	c = binary.BigEndian.AppendUint64(c, 2)
	c = binary.BigEndian.AppendUint64(c, pgTime)
	cm, err := decodeCommit(c)
	if err != nil || cm.EndLSN != 2 || cm.Commit != commit.UnixNano() {
		t.Fatalf("commit: %+v %v", cm, err)
	}
	r := binary.BigEndian.AppendUint32(nil, 99)
	r = append(r, "public\x00rides\x00f"...)
	r = binary.BigEndian.AppendUint16(r, 2)
	r = append(r, 1)
	r = append(r, "city\x00"...)
	r = binary.BigEndian.AppendUint32(r, 25)
	r = binary.BigEndian.AppendUint32(r, 0xffffffff)
	r = append(r, 0)
	r = append(r, "revenue\x00"...)
	r = binary.BigEndian.AppendUint32(r, oidNumeric)
	r = binary.BigEndian.AppendUint32(r, 0)
	rel, err := decodeRelation(r)
	if err != nil || rel.ID != 99 || rel.Namespace != "public" || rel.Name != "rides" || len(rel.Columns) != 2 ||
		rel.Columns[1].Kind != KindDecimal || rel.Columns[0].Name != "city" {
		t.Fatalf("relation: %+v %v", rel, err)
	}
}

func TestMurmur2KafkaVectors(t *testing.T) {
	// Kafka's clients UtilsTest.testMurmur2.
	for in, want := range map[string]int32{
		"21": -973932308, "foobar": -790332482, "a-little-bit-long-string": -985981536,
		"a-little-bit-longer-string": -1486304829, "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		if got := murmur2([]byte(in)); got != want {
			t.Errorf("murmur2(%q) = %d, want %d", in, got, want)
		}
	}
	key := []byte(`["paris", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f"]`)
	if p := partitionFor(key, 12); p < 0 || p >= 12 || p != partitionFor(key, 12) {
		t.Fatalf("partitionFor = %d", p)
	}
}

// BenchmarkDecodeEncode measures the hot path of pgfeed per row change: decode a pgoutput
// Update (old and new tuple) and encode its key and wrapped envelope (updated, diff,
// mvcc_timestamp, JSONB). It must report 0 allocs/op.
func BenchmarkDecodeEncode(b *testing.B) {
	tbl := movrVehicles(b)
	for _, bc := range []struct {
		name string
		opts EnvelopeOptions
		typ  byte
		msg  []byte
	}{
		{"op=insert/opts=updated", EnvelopeOptions{Updated: true}, msgInsert,
			changeMsg(msgInsert, 1, byte('N'), vehicleVals("available", `{"color": "red", "brand": "Kona"}`))},
		{"op=update/opts=updated,diff,mvcc", EnvelopeOptions{Updated: true, Diff: true, MVCCTimestamp: true}, msgUpdate,
			changeMsg(msgUpdate, 1, byte('O'), vehicleVals("available", `{"color": "red", "brand": "Kona"}`), byte('N'), vehicleVals("in_use", `{"color": "red", "brand": "Kona"}`))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var d changeDecoder
			enc := NewEncoder(bc.opts)
			var key, val []byte
			ts := HLC{WallTime: time.Now().UnixNano()}
			b.ReportAllocs()
			for b.Loop() {
				c, err := d.decode(bc.typ, bc.msg)
				if err != nil {
					b.Fatal(err)
				}
				row := c.New
				if key, err = enc.AppendKey(key[:0], tbl, row); err != nil {
					b.Fatal(err)
				}
				ev := Event{Table: tbl, Topic: "vehicles", After: c.New, Before: c.Old, Updated: ts}
				if val, err = enc.AppendValue(val[:0], &ev); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.SetBytes(int64(len(key) + len(val)))
		})
	}
}

// FuzzDecodeChange feeds arbitrary bytes to the pgoutput decoders: they must return an error
// or a well-formed change, never panic or read out of bounds.
func FuzzDecodeChange(f *testing.F) {
	f.Add(byte(msgInsert), changeMsg(msgInsert, 7, byte('N'), vehicleVals("available", `{"a": 1}`)))
	f.Add(byte(msgUpdate), changeMsg(msgUpdate, 7, byte('O'), vehicleVals("a", "{}"), byte('N'), vehicleVals("b", "\x00TOAST")))
	f.Add(byte(msgDelete), changeMsg(msgDelete, 7, byte('K'), []string{"\x00NULL", "x"}))
	f.Add(byte(msgRelation), []byte("\x00\x00\x00\x01public\x00t\x00f\x00\x01\x01k\x00\x00\x00\x00\x17\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, typ byte, b []byte) {
		var d changeDecoder
		switch typ % 4 {
		case 0:
			_, _ = decodeRelation(b)
		case 1:
			_, _ = decodeBegin(b)
			_, _ = decodeCommit(b)
		default:
			typ = []byte{msgInsert, msgUpdate, msgDelete}[int(typ)%3]
			c, err := d.decode(typ, b)
			if err == nil && c.New == nil && c.Old == nil {
				t.Fatalf("decode(%q, %x): no error and no tuple", typ, b)
			}
		}
	})
}
