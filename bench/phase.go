package bench

import (
	"github.com/HdrHistogram/hdrhistogram-go"
)

// since returns the values recorded into cur after the snapshot base was taken: cur − base,
// bucket by bucket. Both must be cumulative histograms of the same geometry, base an earlier
// copy of cur; a nil base returns a copy of cur. The warm-up is split off this way: one
// snapshot at the end of the warm-up, one at the end of the measurement.
func since(cur, base *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	if cur == nil {
		return nil
	}
	c := cur.Export()
	if base != nil {
		b := base.Export()
		if len(b.Counts) == len(c.Counts) && b.LowestTrackableValue == c.LowestTrackableValue &&
			b.HighestTrackableValue == c.HighestTrackableValue && b.SignificantFigures == c.SignificantFigures {
			counts := make([]int64, len(c.Counts))
			for i := range counts {
				if d := c.Counts[i] - b.Counts[i]; d > 0 {
					counts[i] = d
				}
			}
			c = &hdrhistogram.Snapshot{
				LowestTrackableValue:  c.LowestTrackableValue,
				HighestTrackableValue: c.HighestTrackableValue,
				SignificantFigures:    c.SignificantFigures,
				Counts:                counts,
			}
		}
	} else {
		c.Counts = append([]int64(nil), c.Counts...)
	}
	return hdrhistogram.Import(c)
}
