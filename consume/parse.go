package consume

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseStartOffsets parses "topic:partition=offset[,topic:partition=offset...]", e.g.
// "vehicles:0=1200,vehicles:1=980", for StartAtOffsets.
func ParseStartOffsets(s string) (map[string]map[int32]int64, error) {
	out := map[string]map[int32]int64{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		tp, off, ok := strings.Cut(item, "=")
		colon := strings.LastIndexByte(tp, ':')
		if !ok || colon <= 0 {
			return nil, fmt.Errorf("%q: want topic:partition=offset", item)
		}
		p, err := strconv.ParseInt(tp[colon+1:], 10, 32)
		if err != nil || p < 0 {
			return nil, fmt.Errorf("%q: partition %q is not a number ≥ 0", item, tp[colon+1:])
		}
		o, err := strconv.ParseInt(off, 10, 64)
		if err != nil || o < 0 {
			return nil, fmt.Errorf("%q: offset %q is not a number ≥ 0", item, off)
		}
		topic := tp[:colon]
		if out[topic] == nil {
			out[topic] = map[int32]int64{}
		}
		if _, dup := out[topic][int32(p)]; dup {
			return nil, fmt.Errorf("%q: %s:%d given twice", item, topic, p)
		}
		out[topic][int32(p)] = o
	}
	return out, nil
}
