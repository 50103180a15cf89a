package report

import "fmt"

// RefreshWindowS is the default half-width, in seconds, of the window around a token refresh
// that [RefreshImpact] counts as "near" (DESIGN.md §4 "refresh impact": ±N s).
const RefreshWindowS = 2

// RefreshImpact splits r's e2e_commit per-second histograms into the seconds within ±windowS of
// a token refresh (series rows with token_refreshes > 0) and the others, and merges each side.
// ok is false when r has no e2e_commit intervals or no refresh.
func RefreshImpact(r *Result, windowS int64) (near, away Metric, ok bool, err error) {
	ivs := r.Intervals[MetricE2ECommit]
	var refreshes []int64
	for _, s := range r.Series {
		if s.TokenRefreshes > 0 {
			refreshes = append(refreshes, s.T)
		}
	}
	if len(ivs) == 0 || len(refreshes) == 0 {
		return Metric{}, Metric{}, false, nil
	}
	nearH, awayH := NewHistogram(), NewHistogram()
	for _, iv := range ivs {
		isNear := false
		for _, t := range refreshes {
			if iv.T >= t-windowS && iv.T <= t+windowS {
				isNear = true
				break
			}
		}
		acc := awayH
		if isNear {
			acc = nearH
		}
		if _, err := mergeHDR(acc, iv.HDR, 1); err != nil {
			return Metric{}, Metric{}, false, fmt.Errorf("intervals.%s t=%d: %w", MetricE2ECommit, iv.T, err)
		}
	}
	return MetricFromHistogram(nearH), MetricFromHistogram(awayH), true, nil
}
