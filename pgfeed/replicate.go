package pgfeed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/oauth"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// tableMeta is what the catalog says about a watched table.
type tableMeta struct {
	schema, name string
	pk           []string // primary-key column names in key order
	topic        string
}

func (m *tableMeta) qualified() string {
	return pgx.Identifier{m.schema, m.name}.Sanitize()
}

// setup resolves the tables, switches them to REPLICA IDENTITY FULL (so updates and deletes
// carry the whole old row: `before`, and deletes' keys), and creates the publication and the
// logical replication slot when missing. It is idempotent.
func (f *Feed) setup(ctx context.Context, db *pgx.Conn) (map[string]*tableMeta, error) {
	metas := make(map[string]*tableMeta, len(f.cfg.Tables))
	var names []string
	for _, t := range f.cfg.Tables {
		var oid uint32
		var schema, name string
		var ident string
		err := db.QueryRow(ctx, `SELECT c.oid, n.nspname, c.relname, c.relreplident::text
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.oid = to_regclass($1)`, t).Scan(&oid, &schema, &name, &ident)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("table %q does not exist", t)
		}
		if err != nil {
			return nil, fmt.Errorf("looking up table %q: %w", t, err)
		}
		rows, err := db.Query(ctx, `SELECT a.attname FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indrelid = $1 AND i.indisprimary
			ORDER BY array_position(i.indkey::int2[], a.attnum)`, oid)
		if err != nil {
			return nil, fmt.Errorf("reading the primary key of %s: %w", t, err)
		}
		pk, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("reading the primary key of %s: %w", t, err)
		}
		if len(pk) == 0 {
			return nil, fmt.Errorf("table %s has no primary key: a changefeed needs one", t)
		}
		m := &tableMeta{schema: schema, name: name, pk: pk, topic: f.sink.Topic(name)}
		if ident != "f" {
			if _, err := db.Exec(ctx, "ALTER TABLE "+m.qualified()+" REPLICA IDENTITY FULL"); err != nil {
				return nil, fmt.Errorf("setting REPLICA IDENTITY FULL on %s: %w", t, err)
			}
		}
		metas[schema+"."+name] = m
		names = append(names, m.qualified())
	}
	slices.Sort(names)
	names = slices.Compact(names)

	var exists bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)`, f.slot).Scan(&exists); err != nil {
		return nil, fmt.Errorf("looking up publication %s: %w", f.slot, err)
	}
	pub := pgx.Identifier{f.slot}.Sanitize()
	if !exists {
		if _, err := db.Exec(ctx, "CREATE PUBLICATION "+pub+" FOR TABLE "+strings.Join(names, ", ")); err != nil {
			return nil, fmt.Errorf("creating publication %s: %w", f.slot, err)
		}
	} else {
		rows, err := db.Query(ctx, `SELECT format('%I.%I', schemaname, tablename) FROM pg_publication_tables WHERE pubname = $1`, f.slot)
		if err != nil {
			return nil, fmt.Errorf("reading publication %s: %w", f.slot, err)
		}
		have, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("reading publication %s: %w", f.slot, err)
		}
		slices.Sort(have)
		if !slices.Equal(have, names) {
			if _, err := db.Exec(ctx, "ALTER PUBLICATION "+pub+" SET TABLE "+strings.Join(names, ", ")); err != nil {
				return nil, fmt.Errorf("updating publication %s: %w", f.slot, err)
			}
		}
	}
	if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`, f.slot).Scan(&exists); err != nil {
		return nil, fmt.Errorf("looking up replication slot %s: %w", f.slot, err)
	}
	if !exists {
		if _, err := db.Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, f.slot); err != nil {
			return nil, fmt.Errorf("creating replication slot %s: %w", f.slot, err)
		}
		f.log.Info("created replication slot and publication", "slot", f.slot)
	}
	return metas, nil
}

// Cleanup drops the feed's replication slot and publication (the tables keep REPLICA IDENTITY
// FULL). Run must not be running. Missing objects are not an error.
func (f *Feed) Cleanup(ctx context.Context) error {
	if f.running.Load() {
		return errors.New("pgfeed: Cleanup while Run is running")
	}
	db, err := pgx.Connect(ctx, f.cfg.Source)
	if err != nil {
		return fmt.Errorf("connecting to the source: %w", redactErr(err, f.cfg.Source))
	}
	defer db.Close(context.Background())
	// The walsender of a just-stopped Run may still hold the slot for a moment.
	for attempt := 0; ; attempt++ {
		_, err = db.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, f.slot)
		var pgErr *pgconn.PgError
		if err == nil || attempt >= 50 || !errors.As(err, &pgErr) || pgErr.Code != "55006" { // object_in_use
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err != nil {
		return fmt.Errorf("dropping replication slot %s: %w", f.slot, err)
	}
	if _, err := db.Exec(ctx, "DROP PUBLICATION IF EXISTS "+pgx.Identifier{f.slot}.Sanitize()); err != nil {
		return fmt.Errorf("dropping publication %s: %w", f.slot, err)
	}
	return nil
}

// txn is one committed (or being decoded) transaction with changes in watched tables.
type txn struct {
	hlc      HLC
	commitNs int64
	endLSN   uint64
	msgs     int64
	bytes    int64
	pending  atomic.Int64 // messages not yet acknowledged, +1 until the commit was decoded
}

// resolvedMark is the Opaque of resolved messages.
type resolvedMark struct{}

// relState is a relation of the stream.
type relState struct {
	table  *Table
	topic  *string
	nparts int32
}

// stream is Run's state; used only by Run's goroutine (txn.pending excepted).
type stream struct {
	f     *Feed
	conn  *pgconn.PgConn
	prod  *kafka.Producer
	enc   *Encoder
	dec   changeDecoder
	metas map[string]*tableMeta
	parts map[string]int32
	rels  map[uint32]*relState

	queue        []*txn // decoded transactions in commit order, not yet all acknowledged
	cur          *txn   // the transaction being decoded
	last         HLC    // the latest HLC given to a transaction
	floor        HLC    // every later transaction gets an HLC above this (last resolved)
	lastAcked    HLC    // HLC of the latest transaction whose messages were all acknowledged
	flush        uint64 // end LSN of that transaction (or an idle keepalive's WAL end)
	confirmed    HLC    // lastAcked when the latest standby status (flush) was sent
	serverTimeNs int64  // the server's clock in the latest keepalive / XLogData
	lastResolved HLC

	key, val, res []byte
}

// ErrAbandoned, as the cause of the cancellation of Run's context (context.WithCancelCause),
// makes Run stop the way a crash would: what is in flight is not flushed and no final standby
// status is sent, so the next Run replays every transaction after the last status sent. Fault
// injection uses it.
var ErrAbandoned = errors.New("pgfeed: abandoned")

// Run streams changes until ctx is done (then it returns nil) or an error occurs. Before
// streaming it creates what is missing (publication, slot, REPLICA IDENTITY FULL, topics when
// Config.TopicPartitions > 0). The slot's confirmed position only advances past a transaction
// once Kafka has acknowledged all its messages, so after a crash or cancel, Run resumes from
// the slot and loses nothing (transactions after the last confirmed position are sent again:
// duplicates are possible, loss is not). A later Run of the same Feed gives the transactions it
// sends again the HLCs they had (see the package doc), so a consumer sees them as duplicates.
func (f *Feed) Run(ctx context.Context) error {
	if !f.running.CompareAndSwap(false, true) {
		return errors.New("pgfeed: Run is already running")
	}
	defer f.running.Store(false)
	f.failure.Store(nil)
	err := f.run(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return err
}

func (f *Feed) run(ctx context.Context) error {
	db, err := pgx.Connect(ctx, f.cfg.Source)
	if err != nil {
		return fmt.Errorf("connecting to the source: %w", redactErr(err, f.cfg.Source))
	}
	defer db.Close(context.Background())
	metas, err := f.setup(ctx, db)
	if err != nil {
		return err
	}
	// The HLC floor of this Run (see resume): where this Feed's previous Run left off, or, on
	// a Feed's first Run, the server's clock. Resolved timestamps published by another process
	// are not stored anywhere, but each was at most the server's clock when published, so
	// starting there keeps every message of this Run above them.
	floor := f.resume
	if floor == (HLC{}) {
		var nowNs int64
		if err := db.QueryRow(ctx, `SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8 * 1000`).Scan(&nowNs); err != nil {
			return fmt.Errorf("reading the server clock: %w", err)
		}
		floor = HLC{WallTime: nowNs}
	}

	prod, err := kafka.NewProducer(&f.kconf)
	if err != nil {
		return fmt.Errorf("creating the Kafka producer: %w", err)
	}
	defer prod.Close()
	f.log.Debug("producer settings", "config", redactedConfig(f.kconf))

	evCtx, stopEvents := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var refresher *consume.TokenRefresher
	if f.oauthCfg != nil {
		src, err := oauth.New(*f.oauthCfg)
		if err != nil {
			stopEvents()
			return fmt.Errorf("OAuth settings from the sink URI: %w", err)
		}
		refresher = consume.NewTokenRefresher(prod, src, "", f.log)
		f.tokenMu.Lock()
		f.tokenSource, f.refresher = src, refresher
		f.tokenMu.Unlock()
	}
	wg.Add(2)
	go func() { defer wg.Done(); f.handleEvents(evCtx, prod, refresher) }()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-evCtx.Done():
				return
			case l, ok := <-prod.Logs():
				if !ok {
					return
				}
				f.log.Debug("librdkafka", "tag", l.Tag, "level", l.Level, "msg", l.Message)
			}
		}
	}()
	defer func() {
		stopEvents()
		wg.Wait()
		if refresher != nil {
			refresher.Close()
		}
	}()

	parts, err := f.topicPartitions(ctx, prod, metas)
	if err != nil {
		return err
	}

	conn, err := f.connectReplication(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	err = pglogrepl.StartReplication(ctx, conn, f.slot, 0, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names '" + f.slot + "'"},
	})
	if err != nil {
		return fmt.Errorf("starting replication from slot %s: %w", f.slot, err)
	}
	f.log.Info("streaming", "feed", f.String())

	s := &stream{
		f: f, conn: conn, prod: prod, enc: NewEncoder(f.env), metas: metas, parts: parts,
		rels:  make(map[uint32]*relState),
		floor: floor, confirmed: floor,
	}
	s.last = s.floor
	err = s.loop(ctx)
	// Drain what is in flight so the final status update confirms as much as possible; a
	// Run abandoned like a crash (ErrAbandoned) leaves everything unconfirmed as it is.
	if ctx.Err() != nil && !errors.Is(context.Cause(ctx), ErrAbandoned) {
		prod.Flush(5000)
		s.advance()
		_ = s.sendStatus(false)
	}
	f.resume = s.lastResolved
	if f.resume.Less(s.confirmed) {
		f.resume = s.confirmed
	}
	return err
}

func (f *Feed) connectReplication(ctx context.Context) (*pgconn.PgConn, error) {
	cfg, err := pgconn.ParseConfig(f.cfg.Source)
	if err != nil {
		return nil, fmt.Errorf("source URL: %w", redactErr(err, f.cfg.Source))
	}
	cfg.RuntimeParams["replication"] = "database"
	// pgoutput prints values with the walsender's settings: pin the ones the encoder parses.
	cfg.RuntimeParams["timezone"] = "UTC"
	cfg.RuntimeParams["datestyle"] = "ISO, MDY"
	cfg.RuntimeParams["extra_float_digits"] = "1"
	cfg.RuntimeParams["application_name"] = f.slot
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening the replication connection: %w", redactErr(err, f.cfg.Source))
	}
	return conn, nil
}

// topicPartitions returns the partition count of every topic, creating missing topics when
// Config.TopicPartitions > 0.
func (f *Feed) topicPartitions(ctx context.Context, prod *kafka.Producer, metas map[string]*tableMeta) (map[string]int32, error) {
	parts := make(map[string]int32)
	for _, m := range metas {
		parts[m.topic] = 0
	}
	var missing []string
	for topic := range parts {
		n, err := partitionCount(prod, topic)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			missing = append(missing, topic)
		}
		parts[topic] = n
	}
	if len(missing) > 0 && f.cfg.TopicPartitions > 0 {
		admin, err := kafka.NewAdminClientFromProducer(prod)
		if err != nil {
			return nil, fmt.Errorf("creating the Kafka admin client: %w", err)
		}
		specs := make([]kafka.TopicSpecification, len(missing))
		for i, t := range missing {
			specs[i] = kafka.TopicSpecification{Topic: t, NumPartitions: f.cfg.TopicPartitions, ReplicationFactor: 1}
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		res, err := admin.CreateTopics(cctx, specs)
		cancel()
		admin.Close()
		if err != nil {
			return nil, fmt.Errorf("creating topics %s: %w", strings.Join(missing, ", "), err)
		}
		for _, r := range res {
			if r.Error.Code() != kafka.ErrNoError && r.Error.Code() != kafka.ErrTopicAlreadyExists {
				return nil, fmt.Errorf("creating topic %s: %w", r.Topic, r.Error)
			}
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for topic, n := range parts {
		for n == 0 {
			var err error
			if n, err = partitionCount(prod, topic); err != nil {
				return nil, err
			}
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("topic %s does not exist (create it, enable auto.create.topics.enable, or set the topic partitions)", topic)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
		parts[topic] = n
	}
	return parts, nil
}

func partitionCount(prod *kafka.Producer, topic string) (int32, error) {
	t := topic
	md, err := prod.GetMetadata(&t, false, 10000)
	if err != nil {
		return 0, fmt.Errorf("reading metadata of topic %s: %w", topic, err)
	}
	tm, ok := md.Topics[topic]
	if !ok || tm.Error.Code() == kafka.ErrUnknownTopicOrPart || tm.Error.Code() == kafka.ErrUnknownTopic {
		return 0, nil
	}
	if tm.Error.Code() != kafka.ErrNoError {
		return 0, fmt.Errorf("reading metadata of topic %s: %w", topic, tm.Error)
	}
	return int32(len(tm.Partitions)), nil
}

// handleEvents consumes the producer's events: delivery reports, token refresh requests and
// errors. It runs until ctx is done.
func (f *Feed) handleEvents(ctx context.Context, prod *kafka.Producer, r *consume.TokenRefresher) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-prod.Events():
			if !ok {
				return
			}
			switch e := ev.(type) {
			case *kafka.Message:
				if err := e.TopicPartition.Error; err != nil {
					f.fail(fmt.Errorf("delivering to %s[%d]: %w", deref(e.TopicPartition.Topic), e.TopicPartition.Partition, err))
					continue
				}
				switch o := e.Opaque.(type) {
				case *txn:
					o.pending.Add(-1)
				case resolvedMark:
					f.resolvedMsgs.Add(1)
				}
			case kafka.OAuthBearerTokenRefresh:
				if r != nil {
					r.Refresh(ctx)
				}
			case kafka.Error:
				if e.IsFatal() {
					f.fail(fmt.Errorf("kafka producer: %w", e))
				} else {
					f.log.Warn("kafka producer", "err", e.Error())
				}
			}
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (s *stream) idle() bool { return s.cur == nil && len(s.queue) == 0 }

// advance retires the transactions at the head of the queue whose messages were all
// acknowledged, moving the flush LSN and the acknowledged HLC forward.
func (s *stream) advance() {
	n := 0
	for _, t := range s.queue {
		if t.pending.Load() != 0 {
			break
		}
		s.lastAcked = t.hlc
		s.flush = max(s.flush, t.endLSN)
		s.f.messages.Add(t.msgs)
		s.f.bytes.Add(t.bytes)
		n++
	}
	if n > 0 {
		clear(s.queue[:n])
		s.queue = s.queue[n:]
	}
	if len(s.queue) > 0 {
		s.f.oldestPending.Store(s.queue[0].commitNs)
	} else {
		s.f.oldestPending.Store(0)
	}
	s.f.flushLSN.Store(s.flush)
}

// sendStatus confirms the flush LSN to PostgreSQL: the slot's next reader starts after it.
func (s *stream) sendStatus(reply bool) error {
	lsn := pglogrepl.LSN(s.flush)
	err := pglogrepl.SendStandbyStatusUpdate(context.Background(), s.conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: lsn, WALFlushPosition: lsn, WALApplyPosition: lsn, ReplyRequested: reply,
	})
	if err != nil {
		return fmt.Errorf("sending standby status: %w", err)
	}
	if s.confirmed.Less(s.lastAcked) {
		s.confirmed = s.lastAcked
	}
	return nil
}

func (s *stream) loop(ctx context.Context) error {
	statusEvery := s.f.cfg.StatusInterval
	nextStatus := time.Now()
	var nextResolved time.Time
	if s.f.resolved > 0 {
		nextResolved = time.Now().Add(s.f.resolved)
	}
	// Cancelling ctx interrupts a blocked read (the loop then sees ctx.Err()).
	stop := context.AfterFunc(ctx, func() { _ = s.conn.Conn().SetReadDeadline(time.Now()) })
	defer stop()
	for {
		if err := s.f.failed(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		s.advance()
		now := time.Now()
		if !now.Before(nextStatus) {
			// While idle, ask for a keepalive: its server time lets resolved advance.
			if err := s.sendStatus(s.idle()); err != nil {
				return err
			}
			nextStatus = now.Add(statusEvery)
		}
		if !nextResolved.IsZero() && !now.Before(nextResolved) {
			if err := s.resolve(ctx); err != nil {
				return err
			}
			nextResolved = now.Add(s.f.resolved)
		}
		wake := nextStatus
		if !nextResolved.IsZero() && nextResolved.Before(wake) {
			wake = nextResolved
		}
		if len(s.queue) > 0 {
			if poll := now.Add(20 * time.Millisecond); poll.Before(wake) {
				wake = poll // poll acknowledgements
			}
		}
		// A read deadline instead of a per-message context: pgconn starts a watcher for every
		// ReceiveMessage with a cancellable context, which costs more than decoding the message.
		if err := s.conn.Conn().SetReadDeadline(wake); err != nil {
			return fmt.Errorf("replication connection: %w", err)
		}
		raw, err := s.conn.ReceiveMessage(context.Background())
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if pgconn.Timeout(err) {
				continue
			}
			return fmt.Errorf("receiving from the replication stream: %w", err)
		}
		switch msg := raw.(type) {
		case *pgproto3.ErrorResponse:
			return fmt.Errorf("replication stream: %w", pgconn.ErrorResponseToPgError(msg))
		case *pgproto3.CopyData:
			if len(msg.Data) == 0 {
				continue
			}
			switch msg.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				pkm, err := pglogrepl.ParsePrimaryKeepaliveMessage(msg.Data[1:])
				if err != nil {
					return fmt.Errorf("replication keepalive: %w", err)
				}
				s.serverTimeNs = pkm.ServerTime.UnixNano()
				s.advance()
				if s.idle() {
					// Everything up to the server's WAL end was sent before this keepalive and
					// none of it is pending: it can be released.
					s.flush = max(s.flush, uint64(pkm.ServerWALEnd))
				}
				if pkm.ReplyRequested {
					if err := s.sendStatus(false); err != nil {
						return err
					}
				}
			case pglogrepl.XLogDataByteID:
				xld, err := pglogrepl.ParseXLogData(msg.Data[1:])
				if err != nil {
					return fmt.Errorf("replication data: %w", err)
				}
				s.serverTimeNs = xld.ServerTime.UnixNano()
				if err := s.handle(ctx, xld.WALData); err != nil {
					return err
				}
			}
		}
	}
}

// handle processes one pgoutput message.
func (s *stream) handle(ctx context.Context, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case msgBegin:
		m, err := decodeBegin(b[1:])
		if err != nil {
			return err
		}
		// HLC order: strictly increasing in commit order; commits sharing a wall time (or
		// landing at or below the last resolved timestamp) get the next logical value.
		h := HLC{WallTime: m.CommitTime}
		if !s.last.Less(h) {
			h = s.last.Next()
		}
		if !s.floor.Less(h) {
			h = s.floor.Next()
		}
		s.last = h
		t := &txn{hlc: h, commitNs: m.CommitTime}
		t.pending.Store(1)
		s.cur = t
		s.queue = append(s.queue, t)
	case msgCommit:
		m, err := decodeCommit(b[1:])
		if err != nil {
			return err
		}
		if s.cur == nil {
			return errors.New("pgoutput: commit without begin")
		}
		s.cur.endLSN = m.EndLSN
		s.cur.pending.Add(-1)
		s.cur = nil
	case msgRelation:
		r, err := decodeRelation(b[1:])
		if err != nil {
			return err
		}
		return s.relation(r)
	case msgInsert, msgUpdate, msgDelete:
		c, err := s.dec.decode(b[0], b[1:])
		if err != nil {
			return err
		}
		return s.change(ctx, &c)
	}
	return nil
}

func (s *stream) relation(r *relation) error {
	m, ok := s.metas[r.Namespace+"."+r.Name]
	if !ok {
		delete(s.rels, r.ID)
		return nil // not watched (publication changed under us)
	}
	pk := make([]int, 0, len(m.pk))
	for _, name := range m.pk {
		i := slices.IndexFunc(r.Columns, func(c Column) bool { return c.Name == name })
		if i < 0 {
			return fmt.Errorf("table %s: primary-key column %s missing from the replication stream", m.name, name)
		}
		pk = append(pk, i)
	}
	t, err := NewTable(r.Namespace, r.Name, r.Columns, pk)
	if err != nil {
		return err
	}
	topic := m.topic
	s.rels[r.ID] = &relState{table: t, topic: &topic, nparts: s.parts[m.topic]}
	return nil
}

func (s *stream) change(ctx context.Context, c *change) error {
	rs, ok := s.rels[c.RelID]
	if !ok {
		return nil
	}
	if s.cur == nil {
		return errors.New("pgoutput: change outside a transaction")
	}
	s.f.rows.Add(1)
	t := rs.table
	switch c.Op {
	case msgInsert:
		return s.emit(ctx, rs, c.New, nil)
	case msgDelete:
		if c.OldKey && s.enc.opts.Diff {
			return fmt.Errorf("table %s: delete without the old row: set REPLICA IDENTITY FULL for diff", t.Name)
		}
		return s.emit(ctx, rs, nil, c.Old)
	default: // update
		if c.Old != nil && !c.OldKey && !samePK(t, c.Old, c.New) {
			// A primary-key change is a delete of the old key and an insert of the new one, as
			// CockroachDB emits it.
			if err := s.emit(ctx, rs, nil, c.Old); err != nil {
				return err
			}
			return s.emit(ctx, rs, c.New, nil)
		}
		before := c.Old
		if c.OldKey {
			before = nil
		}
		if before == nil && s.enc.opts.Diff {
			return fmt.Errorf("table %s: update without the old row: set REPLICA IDENTITY FULL for diff", t.Name)
		}
		return s.emit(ctx, rs, c.New, before)
	}
}

func samePK(t *Table, a, b []Datum) bool {
	for _, i := range t.PK {
		if a[i].Null != b[i].Null || string(a[i].Text) != string(b[i].Text) {
			return false
		}
	}
	return true
}

// emit encodes and produces one row message for the current transaction.
func (s *stream) emit(ctx context.Context, rs *relState, after, before []Datum) error {
	tx := s.cur
	keyRow := after
	if keyRow == nil {
		keyRow = before
	}
	var err error
	if s.key, err = s.enc.AppendKey(s.key[:0], rs.table, keyRow); err != nil {
		return err
	}
	ev := Event{Table: rs.table, Topic: *rs.topic, After: after, Before: before, Updated: tx.hlc}
	if s.val, err = s.enc.AppendValue(s.val[:0], &ev); err != nil {
		return err
	}
	msg := &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: rs.topic, Partition: partitionFor(s.key, rs.nparts)},
		Key:            s.key,
		Value:          s.val,
		Opaque:         tx,
	}
	tx.pending.Add(1)
	tx.msgs++
	tx.bytes += int64(len(s.key) + len(s.val))
	return s.produce(ctx, msg)
}

// produce enqueues msg (librdkafka copies key and value), waiting while the queue is full.
func (s *stream) produce(ctx context.Context, msg *kafka.Message) error {
	for {
		err := s.prod.Produce(msg, nil)
		if err == nil {
			return nil
		}
		var kerr kafka.Error
		if !errors.As(err, &kerr) || kerr.Code() != kafka.ErrQueueFull {
			return fmt.Errorf("producing to %s: %w", deref(msg.TopicPartition.Topic), err)
		}
		if ferr := s.f.failed(); ferr != nil {
			return ferr
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		s.advance()
	}
}

// resolve publishes a resolved timestamp when it can advance. The candidate T is:
//   - while transactions are pending: the HLC of the latest transaction whose messages were
//     all acknowledged (every earlier transaction was too, and every pending one has a larger
//     HLC because HLCs increase in commit order);
//   - while idle: the larger of the last HLC given out and the server clock in the latest
//     keepalive (requested with every idle status update), since nothing is pending or
//     in flight.
//
// T then becomes the floor: every transaction decoded afterwards gets an HLC above it, even
// one whose commit timestamp is a little lower (it took its timestamp before the keepalive but
// wrote its commit record after), exactly as CockroachDB pushes writes above a closed
// timestamp. So no row at or below a published resolved timestamp can follow it, on any
// partition; and Run starts its floor at the server's clock, which keeps the rule across
// restarts.
func (s *stream) resolve(ctx context.Context) error {
	s.advance()
	var t HLC
	if s.idle() {
		t = s.last
		if w := (HLC{WallTime: s.serverTimeNs}); t.Less(w) {
			t = w
		}
	} else {
		t = s.lastAcked
	}
	if !s.lastResolved.Less(t) {
		return nil
	}
	// Confirm every transaction at or below t first (see resume): a later Run then replays
	// only transactions above t, with the HLCs they had.
	if err := s.sendStatus(false); err != nil {
		return err
	}
	if s.floor.Less(t) {
		s.floor = t
	}
	s.lastResolved = t
	s.res = AppendResolved(s.res[:0], t)
	topics := make([]string, 0, len(s.parts))
	for topic := range s.parts {
		topics = append(topics, topic)
	}
	slices.Sort(topics)
	for _, topic := range topics {
		tp := topic
		for p := range s.parts[topic] {
			msg := &kafka.Message{
				TopicPartition: kafka.TopicPartition{Topic: &tp, Partition: p},
				Value:          s.res,
				Opaque:         resolvedMark{},
			}
			if err := s.produce(ctx, msg); err != nil {
				return err
			}
		}
	}
	s.f.lastResolved.Store(t.WallTime)
	return nil
}
