// Package report reads, writes, renders, compares and merges cfbench result files.
//
// # Result file
//
// One JSON document per run and worker (DESIGN.md §6), schema "cfbench.result/v1"; [ReadFile]
// rejects any other schema. Every latency is an HdrHistogram of microseconds (1 µs .. 1 h,
// 3 significant figures) stored losslessly in the "hdr" field (V2 compressed encoding, base64,
// readable by every HdrHistogram implementation), next to summary fields for scripts:
//
//	"metrics": {"e2e_commit": {"count": 5899, "min_us": 8063, "mean_us": 55912.3, "p50_us": 49631,
//	            "p90_us": 91839, "p99_us": 159103, "p999_us": 248191, "p9999_us": 425983,
//	            "max_us": 505855, "hdr": "HISTFAAA..."}, ...}
//
// Besides the fields of DESIGN.md §6, whose names are fixed, a result may carry these optional
// extensions (older readers ignore them):
//
//   - "warmup": metrics recorded during the warm-up, same shape as "metrics", kept apart so
//     every total leaves the ramp-up out;
//   - "intervals": per metric, one histogram per second of the measured phase,
//     {"e2e_commit": [{"t": 10, "hdr": "HISTFAAA..."}, ...]}, the source of .hlog output and of
//     exact per-second percentiles after a merge;
//   - "run.variant" (matrix variant label) and "run.repetition" (1-based), used by compare;
//   - "run.measured_from" (RFC 3339): when the measured phase began;
//   - "rates.bytes_per_s";
//   - "clock.drift_us" and "clock.end_uncertainty_us": the clock offset probed again after the
//     drain, as a change from "clock.offset_us", and that probe's bound;
//   - "series[].consumer_lag_msgs": messages the consumer had not polled yet as the second
//     closed (summed over workers after a merge), the input of [CheckRun]'s consumer check;
//   - for the workers of a group run (cfbench run --worker i/n, n > 1): "run.group",
//     "run.run_id", "run.partitions" (the "topic[p]"s owned at the end),
//     "delivery.unreconciled" (own writes on other workers' partitions, listed in the sidecar
//     [SidecarName]), and after [Reconcile] "delivery.cross_worker" and
//     "delivery.cross_worker_e2e_ack"; also "delivery.acked_after_receive" and
//     "delivery.unexpected" (see [Delivery]).
//
// In "series" and "intervals", "t" is whole seconds from the start of the measured phase:
// run.measured_from when present, else run.started. Merge and .hlog use it to place seconds on
// wall time. run.config is the effective
// profile with secrets redacted by the writer; [Result.WriteFile] redacts again as a safety net
// ([Redact]). [Result.WriteFile] is atomic (temporary file, then rename; mode 0644).
//
// # Renderers
//
// [WriteText] (summary table: ms columns, ~3 significant figures, delivery verdict, token, clock,
// rates, self-checks, errors), [WriteHgrm] (HdrHistogram percentile distribution, the .hgrm its plotter
// reads), [WriteHlog] (HdrHistogram interval log, one tag per metric), [WriteCSV] (per-second
// series, unscaled), [WriteHTML] (one self-contained page, SVG charts drawn by gonum/plot).
// [Render] and [RenderFiles] pick one by name.
//
// # Self-checks
//
// [CheckRun] says whether cfbench itself stayed out of what it measured: the consumer kept up
// (its lag never stayed above one second of traffic for [LagCheckSeconds] seconds), the load kept
// its schedule ([ScheduleCheckRatio] of the intended rate, or short by chance) and the clock offset is known well
// enough ([ClockCheckRatio] of the e2e_commit median). A failed check is a warning in the text
// summary, a banner in the HTML page and a "check:" line under a comparison; it does not fail
// the run.
//
// # Several results
//
// [Compare] compares groups of repeated runs metric by metric, benchstat style: medians, change,
// and the Mann-Whitney U test of golang.org/x/perf/benchmath ("~" when not significant); it
// refuses runs whose run.config "workload" sections differ unless forced. [Merge] combines the
// results of the workers of one run: histograms merge exactly, counts add; [MergeFiles] also
// reads the group workers' sidecars and [Reconcile]s delivery across workers.
//
// The package only reads results: it runs nothing and imports no other cfbench package.
package report
