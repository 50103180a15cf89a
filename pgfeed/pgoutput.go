package pgfeed

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// This file decodes the pgoutput logical-replication protocol (version 1, text format) without
// allocating: tuple values alias the WAL message buffer. pglogrepl.Parse allocates one struct
// per column, which would dominate the decode+encode benchmark, so only its connection and
// status-update helpers are used (replicate.go).

// pgoutput message types (PostgreSQL protocol-logicalrep-message-formats).
const (
	msgBegin    = 'B'
	msgCommit   = 'C'
	msgRelation = 'R'
	msgInsert   = 'I'
	msgUpdate   = 'U'
	msgDelete   = 'D'
)

// pgEpoch is PostgreSQL's timestamp epoch (2000-01-01 UTC) in Unix microseconds.
const pgEpochMicros = 946684800 * 1_000_000

var errShort = errors.New("pgoutput: message too short")

// relation is what a Relation message says about a table.
type relation struct {
	ID        uint32
	Namespace string
	Name      string
	Columns   []Column
}

// beginMsg is a decoded Begin message.
type beginMsg struct {
	FinalLSN   uint64
	CommitTime int64 // Unix nanoseconds
	Xid        uint32
}

// commitMsg is a decoded Commit message.
type commitMsg struct {
	CommitLSN uint64
	EndLSN    uint64
	Commit    int64 // Unix nanoseconds
}

func pgTimeNanos(v uint64) int64 { return (int64(v) + pgEpochMicros) * 1000 }

func decodeBegin(b []byte) (beginMsg, error) {
	if len(b) < 20 {
		return beginMsg{}, errShort
	}
	return beginMsg{
		FinalLSN:   binary.BigEndian.Uint64(b),
		CommitTime: pgTimeNanos(binary.BigEndian.Uint64(b[8:])),
		Xid:        binary.BigEndian.Uint32(b[16:]),
	}, nil
}

func decodeCommit(b []byte) (commitMsg, error) {
	if len(b) < 25 {
		return commitMsg{}, errShort
	}
	return commitMsg{
		CommitLSN: binary.BigEndian.Uint64(b[1:]),
		EndLSN:    binary.BigEndian.Uint64(b[9:]),
		Commit:    pgTimeNanos(binary.BigEndian.Uint64(b[17:])),
	}, nil
}

func cstring(b []byte) (string, []byte, error) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), b[i+1:], nil
		}
	}
	return "", nil, errShort
}

// decodeRelation decodes a Relation message (body after the type byte). It allocates; Relation
// messages arrive once per table per session and after schema changes.
func decodeRelation(b []byte) (*relation, error) {
	if len(b) < 4 {
		return nil, errShort
	}
	r := &relation{ID: binary.BigEndian.Uint32(b)}
	var err error
	b = b[4:]
	if r.Namespace, b, err = cstring(b); err != nil {
		return nil, err
	}
	if r.Name, b, err = cstring(b); err != nil {
		return nil, err
	}
	if len(b) < 3 {
		return nil, errShort
	}
	n := int(binary.BigEndian.Uint16(b[1:]))
	b = b[3:]
	r.Columns = make([]Column, n)
	for i := range n {
		if len(b) < 1 {
			return nil, errShort
		}
		b = b[1:] // flags: replica-identity key, not the primary key
		if r.Columns[i].Name, b, err = cstring(b); err != nil {
			return nil, err
		}
		if len(b) < 8 {
			return nil, errShort
		}
		r.Columns[i].TypeOID = binary.BigEndian.Uint32(b)
		r.Columns[i].Kind = KindForOID(r.Columns[i].TypeOID)
		b = b[8:]
	}
	return r, nil
}

// decodeTuple decodes TupleData into row (resized as needed) and returns the rest of b.
// Values alias b. An unchanged TOAST column is marked with Datum.toast and reported through
// the toast result.
func decodeTuple(b []byte, row []Datum) ([]Datum, []byte, bool, error) {
	if len(b) < 2 {
		return row, nil, false, errShort
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if row == nil || cap(row) < n {
		row = make([]Datum, n)
	}
	row = row[:n]
	toast := false
	for i := range n {
		if len(b) < 1 {
			return row, nil, false, errShort
		}
		switch b[0] {
		case 'n':
			row[i] = Datum{Null: true}
			b = b[1:]
		case 'u':
			row[i] = Datum{toast: true}
			toast = true
			b = b[1:]
		case 't', 'b':
			if b[0] == 'b' {
				return row, nil, false, fmt.Errorf("pgoutput: binary tuple data is not supported")
			}
			if len(b) < 5 {
				return row, nil, false, errShort
			}
			l := int(binary.BigEndian.Uint32(b[1:]))
			b = b[5:]
			if len(b) < l {
				return row, nil, false, errShort
			}
			row[i] = Datum{Text: b[:l:l]}
			b = b[l:]
		default:
			return row, nil, false, fmt.Errorf("pgoutput: unknown tuple column kind %q", b[0])
		}
	}
	return row, b, toast, nil
}

// change is one decoded row change. Rows alias the message buffer and the decoder's scratch.
type change struct {
	RelID  uint32
	Op     byte    // msgInsert, msgUpdate, msgDelete
	New    []Datum // nil for a delete
	Old    []Datum // old tuple ('O', REPLICA IDENTITY FULL) or key ('K'); nil if not sent
	OldKey bool    // Old holds only the replica-identity key columns (others null)
}

// changeDecoder decodes Insert/Update/Delete messages, reusing its row buffers: not safe for
// concurrent use.
type changeDecoder struct {
	newRow, oldRow []Datum
}

func (d *changeDecoder) decode(typ byte, b []byte) (change, error) {
	if len(b) < 5 {
		return change{}, errShort
	}
	c := change{RelID: binary.BigEndian.Uint32(b), Op: typ}
	b = b[4:]
	var err error
	var toast bool
	switch typ {
	case msgInsert:
		if b[0] != 'N' {
			return c, fmt.Errorf("pgoutput: insert: unexpected tuple tag %q", b[0])
		}
		d.newRow, _, toast, err = decodeTuple(b[1:], d.newRow)
		c.New = d.newRow
	case msgUpdate:
		if b[0] == 'K' || b[0] == 'O' {
			c.OldKey = b[0] == 'K'
			d.oldRow, b, _, err = decodeTuple(b[1:], d.oldRow)
			if err != nil {
				return c, err
			}
			c.Old = d.oldRow
			if len(b) < 1 {
				return c, errShort
			}
		}
		if b[0] != 'N' {
			return c, fmt.Errorf("pgoutput: update: unexpected tuple tag %q", b[0])
		}
		d.newRow, _, toast, err = decodeTuple(b[1:], d.newRow)
		c.New = d.newRow
		if err == nil && toast {
			// An unchanged TOAST value is only in the old tuple (REPLICA IDENTITY FULL).
			for i := range c.New {
				if c.New[i].toast {
					if c.Old == nil || c.OldKey || i >= len(c.Old) {
						return c, fmt.Errorf("pgoutput: update of relation %d: column %d is an unchanged TOAST value and the old row was not sent; set REPLICA IDENTITY FULL", c.RelID, i)
					}
					c.New[i] = c.Old[i]
				}
			}
			toast = false
		}
	case msgDelete:
		if b[0] != 'K' && b[0] != 'O' {
			return c, fmt.Errorf("pgoutput: delete: unexpected tuple tag %q", b[0])
		}
		c.OldKey = b[0] == 'K'
		d.oldRow, _, _, err = decodeTuple(b[1:], d.oldRow)
		c.Old = d.oldRow
	default:
		return c, fmt.Errorf("pgoutput: unexpected message type %q", typ)
	}
	if err == nil && toast {
		err = fmt.Errorf("pgoutput: relation %d: unexpected unchanged TOAST value", c.RelID)
	}
	return c, err
}

// commitTime converts a Unix-nanosecond commit time for messages and logs.
func commitTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }
