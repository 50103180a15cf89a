package report

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// CrossClockLimit is the largest clock-offset uncertainty (per worker) with which cfbench merge
// still measures e2e_ack across workers (an ack on one host, the receive on another, both
// moved onto the database clock by their offsets); beyond it, only same-worker e2e_ack counts.
const CrossClockLimit = 2 * time.Millisecond

// MergeFiles reads the result files at paths, merges them (Merge) and, for workers of a group
// run (run.group set), reconciles delivery across workers with the verification sidecars next
// to each result file (SidecarName; see Reconcile). A group worker's missing sidecar is an
// error naming it.
func MergeFiles(paths []string) (*Result, error) {
	rs := make([]*Result, len(paths))
	sidecars := make([]string, len(paths))
	for i, p := range paths {
		r, err := ReadFile(p)
		if err != nil {
			return nil, err
		}
		rs[i] = r
		if r.Run.Group != "" && !strings.HasPrefix(r.Run.Worker, "merged") {
			sidecars[i] = filepath.Join(filepath.Dir(p), SidecarName)
		}
	}
	out, err := Merge(rs)
	if err != nil {
		return nil, err
	}
	if err := Reconcile(out, rs, sidecars); err != nil {
		return nil, err
	}
	return out, nil
}

// pendingAck is an A line waiting for its R line: the writer's ack time and the writer.
type pendingAck struct {
	ns     int64
	worker int
}

// Reconcile settles the writes of group workers that their own consumer did not receive
// (Delivery.Unreconciled): each A line of any sidecar is matched, per table and key and oldest
// ack first, with an R line of any sidecar (another worker received it, or the same worker
// received it before recording its ack). out is the merged result of rs; sidecars[i] is rs[i]'s
// sidecar, "" for a worker that has none (not a group worker; left as it is).
//
// Then: each matched write counts as received (cross_worker when the receiver was another
// worker; acked_after_receive when the ack, on the database clock, came after the receive), an
// A line left unmatched is missing, an R line left unmatched is unexpected (a change no worker
// acknowledged: a seed row, an ambiguous commit, a redelivery after a rebalance), and
// unreconciled becomes 0. The e2e_ack of a cross-worker match (receive − ack, each moved onto
// the database clock by its worker's clock offset) is added to metrics.e2e_ack (warmup.e2e_ack
// when the ack precedes the writer's measured phase) only when every worker's clock uncertainty
// is within CrossClockLimit or all ran on one host; Delivery.CrossWorkerE2EAck says which.
// Duplicates and the order, partition and resolved checks stay with each partition's owner.
//
// Memory: every A line is held until matched (about (n−1)/n of all writes); R lines stream.
func Reconcile(out *Result, rs []*Result, sidecars []string) error {
	pending := map[string][]pendingAck{}
	var have []int
	for i, path := range sidecars {
		if path == "" {
			continue
		}
		have = append(have, i)
		var acks int64
		if _, err := ReadSidecar(path, func(rec SidecarRecord) error {
			if rec.Kind == 'A' {
				k := rec.Table + "\x00" + rec.Key
				pending[k] = append(pending[k], pendingAck{rec.At, i})
				acks++
			}
			return nil
		}); err != nil {
			return fmt.Errorf("worker %s (%s): %w: copy each worker's %s along with its result.json", rs[i].Run.Worker, path, err, SidecarName)
		}
		if acks != rs[i].Delivery.Unreconciled {
			return fmt.Errorf("worker %s: %s holds %d unreconciled writes, its result says %d: not the sidecar of that result (or a truncated one)",
				rs[i].Run.Worker, path, acks, rs[i].Delivery.Unreconciled)
		}
	}
	if len(have) == 0 {
		return nil
	}
	for _, q := range pending {
		slices.SortFunc(q, func(a, b pendingAck) int { return int(min(max(a.ns-b.ns, -1), 1)) })
	}

	// Clocks: host + offset = database time.
	sound, host := true, ""
	sameHost := true
	for _, i := range have {
		r := rs[i]
		if host == "" {
			host = r.Run.Host
		}
		sameHost = sameHost && r.Run.Host == host && host != ""
		if time.Duration(r.Clock.UncertaintyUS)*time.Microsecond > CrossClockLimit {
			sound = false
		}
	}
	sound = sound || sameHost
	offset := func(i int) int64 {
		if sameHost {
			return 0 // one clock: no offset to apply (and none of the probes' error)
		}
		return rs[i].Clock.OffsetUS * 1000
	}
	measured, warm := NewHistogram(), NewHistogram()

	var matched, cross, afterReceive, unexpected int64
	for _, recv := range have {
		if _, err := ReadSidecar(sidecars[recv], func(rec SidecarRecord) error {
			if rec.Kind != 'R' {
				return nil
			}
			k := rec.Table + "\x00" + rec.Key
			q := pending[k]
			if len(q) == 0 {
				unexpected++
				return nil
			}
			a := q[0]
			if len(q) == 1 {
				delete(pending, k)
			} else {
				pending[k] = q[1:]
			}
			matched++
			if a.worker == recv {
				// Its own consumer received it before the writer had recorded the ack.
				afterReceive++
				return nil
			}
			cross++
			e2e := (rec.At + offset(recv)) - (a.ns + offset(a.worker))
			if e2e < 0 || !sound {
				if e2e < 0 {
					afterReceive++
				}
				return nil
			}
			h := measured
			if from := rs[a.worker].Run.MeasuredFrom; from.IsZero() || a.ns < from.UnixNano() {
				h = warm
			}
			_ = h.RecordValue(min(max(e2e/1000, LowestUS), HighestUS))
			return nil
		}); err != nil {
			return fmt.Errorf("worker %s: %w", rs[recv].Run.Worker, err)
		}
	}
	var missing int64
	var sample []string
	for k, q := range pending {
		missing += int64(len(q))
		if len(sample) < 5 {
			table, key, _ := strings.Cut(k, "\x00")
			sample = append(sample, fmt.Sprintf("%s %s (worker %s)", table, key, rs[q[0].worker].Run.Worker))
		}
	}
	slices.Sort(sample)

	d := &out.Delivery
	d.Received += matched
	d.Missing += missing
	d.Unexpected += unexpected
	d.AckedAfterReceive += afterReceive
	d.CrossWorker += cross
	d.Unreconciled = 0
	for i, r := range rs {
		if sidecars[i] == "" {
			d.Unreconciled += r.Delivery.Unreconciled
		}
	}
	d.CrossWorkerE2EAck = sound && cross > 0
	if d.CrossWorkerE2EAck {
		if err := addSamples(&out.Metrics, measured); err != nil {
			return err
		}
		if err := addSamples(&out.Warmup, warm); err != nil {
			return err
		}
	}
	if missing > 0 {
		out.Errors = append(out.Errors, ErrorCount{At: out.Run.Ended, Where: "consume", Count: missing,
			Message: fmt.Sprintf("acknowledged writes no worker received, e.g. %s", strings.Join(sample, "; "))})
	}
	return nil
}

// addSamples merges h into (*set)[e2e_ack].
func addSamples(set *map[string]Metric, h *hdrhistogram.Histogram) error {
	if h.TotalCount() == 0 {
		return nil
	}
	if *set == nil {
		*set = map[string]Metric{}
	}
	if m, ok := (*set)[MetricE2EAck]; ok && m.Count > 0 {
		acc, err := m.Histogram()
		if err != nil {
			return fmt.Errorf("merging cross-worker e2e_ack: %w", err)
		}
		if dropped := acc.Merge(h); dropped > 0 {
			return fmt.Errorf("merging cross-worker e2e_ack: %d values out of range", dropped)
		}
		h = acc
	}
	(*set)[MetricE2EAck] = MetricFromHistogram(h)
	return nil
}
