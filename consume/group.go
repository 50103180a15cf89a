package consume

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// topicPartition identifies one partition of one topic.
type topicPartition struct {
	topic     string
	partition int32
}

// Rebalance is one change of a group consumer's partitions, as handed to OnRebalance.
type Rebalance struct {
	At time.Time
	// Assigned is true when the group assigned Partitions (Offset: where each starts); false
	// when it revoked them (after the consumed positions were committed).
	Assigned   bool
	Partitions []kafka.TopicPartition
	// Err is a failure reading or committing offsets or (un)assigning. Reading committed
	// offsets failed: the partitions start at New's start offsets instead (re-reading, never
	// skipping). Committing failed: the next owner starts at an older committed offset
	// (duplicates, never a gap).
	Err error
}

// groupCommittedTimeout bounds the committed-offsets request of one assignment.
const groupCommittedTimeout = 10 * time.Second

// rebalanced is the group's rebalance callback; librdkafka calls it from Poll (or Close). It
// positions each assigned partition explicitly at max(committed offset, the start offset taken
// in New): the committed offset is where the previous owner stopped (commit on revoke, or the
// auto-commit of a worker that died), and anything below New's start offsets predates this
// consumer (an old group's commits). So a rebalance, while the group forms or mid-run, never
// skips a message; at worst it delivers some twice. A revocation commits the consumed
// positions first, so the next owner starts right after them.
func (c *Consumer) rebalanced(kc *kafka.Consumer, ev kafka.Event) error {
	coop := kc.GetRebalanceProtocol() == "COOPERATIVE"
	var rb Rebalance
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		tps, err := c.groupPositions(kc, e.Partitions)
		rb = Rebalance{Assigned: true, Partitions: tps, Err: err}
		if coop {
			err = kc.IncrementalAssign(tps)
		} else {
			err = kc.Assign(tps)
		}
		if err != nil {
			rb.Err = errors.Join(rb.Err, fmt.Errorf("assigning %d partitions: %w", len(tps), err))
			break
		}
		if coop {
			c.setAssigned(append(c.Assignment(), tps...))
		} else {
			c.setAssigned(slices.Clone(tps))
		}
	case kafka.RevokedPartitions:
		rb = Rebalance{Partitions: e.Partitions}
		var kerr kafka.Error
		if _, err := kc.Commit(); err != nil && !(errors.As(err, &kerr) && kerr.Code() == kafka.ErrNoOffset) {
			rb.Err = fmt.Errorf("committing the offsets of %d revoked partitions: %w", len(e.Partitions), err)
		}
		var err error
		if coop {
			err = kc.IncrementalUnassign(e.Partitions)
		} else {
			err = kc.Unassign()
		}
		if err != nil {
			rb.Err = errors.Join(rb.Err, fmt.Errorf("unassigning %d partitions: %w", len(e.Partitions), err))
		}
		if coop {
			c.setAssigned(slices.DeleteFunc(c.Assignment(), func(tp kafka.TopicPartition) bool {
				return slices.ContainsFunc(e.Partitions, func(r kafka.TopicPartition) bool {
					return *r.Topic == *tp.Topic && r.Partition == tp.Partition
				})
			}))
		} else {
			c.setAssigned(nil)
		}
	default:
		return nil
	}
	rb.At = time.Now()
	if fn := c.cfg.onRebalance; fn != nil {
		fn(rb)
	}
	return nil
}

// groupPositions returns parts with explicit start offsets: max(committed, New's start offset).
// A partition New did not see (created since) starts at its beginning.
func (c *Consumer) groupPositions(kc *kafka.Consumer, parts []kafka.TopicPartition) ([]kafka.TopicPartition, error) {
	out := make([]kafka.TopicPartition, len(parts))
	for i, tp := range parts {
		from, ok := c.groupFrom[topicPartition{*tp.Topic, tp.Partition}]
		if !ok {
			from = kafka.OffsetBeginning
		}
		out[i] = kafka.TopicPartition{Topic: tp.Topic, Partition: tp.Partition, Offset: from}
	}
	committed, err := kc.Committed(parts, int(groupCommittedTimeout.Milliseconds()))
	if err != nil {
		return out, fmt.Errorf("reading the committed offsets of %d assigned partitions (starting at the run's start offsets instead): %w", len(parts), err)
	}
	for _, cp := range committed {
		if cp.Offset < 0 || cp.Topic == nil {
			continue // none committed
		}
		for i := range out {
			if *out[i].Topic == *cp.Topic && out[i].Partition == cp.Partition && (out[i].Offset < 0 || cp.Offset > out[i].Offset) {
				out[i].Offset = cp.Offset
			}
		}
	}
	return out, nil
}

// GroupPartitions returns, with GroupID, every partition of the consumed topics as New found
// them (at New's start offsets), sorted by topic and partition: what the group spreads across
// its members. nil without a group.
func (c *Consumer) GroupPartitions() []kafka.TopicPartition {
	out := make([]kafka.TopicPartition, 0, len(c.groupFrom))
	for tp, off := range c.groupFrom {
		out = append(out, kafka.TopicPartition{Topic: &tp.topic, Partition: tp.partition, Offset: off})
	}
	slices.SortFunc(out, func(a, b kafka.TopicPartition) int {
		if c := strings.Compare(*a.Topic, *b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	if len(out) == 0 {
		return nil
	}
	return out
}

// leaveGroup, before Close, commits the offsets of what Run delivered and drops the
// assignment. librdkafka's close serves the consumer queue once more (for the revocation) and
// stores, then commits, the offsets of the messages it discards there: the partitions' next
// owner would start after messages nobody recorded (found by TestStackGroupRebalanceSkipsNothing).
// With no assignment left, nothing more is fetched or stored.
func (c *Consumer) leaveGroup() {
	var kerr kafka.Error
	if _, err := c.kc.Commit(); err != nil && !(errors.As(err, &kerr) && kerr.Code() == kafka.ErrNoOffset) {
		c.cfg.log.Warn("committing offsets before leaving the group", "group", c.cfg.groupID, "err", err)
	}
	var err error
	if c.kc.GetRebalanceProtocol() == "COOPERATIVE" {
		err = c.kc.IncrementalUnassign(c.Assignment())
	} else {
		err = c.kc.Unassign()
	}
	if err != nil {
		c.cfg.log.Warn("dropping the assignment before leaving the group", "group", c.cfg.groupID, "err", err)
	}
	c.setAssigned(nil)
}
