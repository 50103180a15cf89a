package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
)

// benchLine matches one `go test -bench -benchmem` result line.
var benchLine = regexp.MustCompile(`(?m)^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op.*?\s([0-9.]+) B/op\s+([0-9.]+) allocs/op`)

type benchResult struct {
	nsPerOp []float64
	allocs  float64
}

// goBench runs `go test -run ^$ -bench pattern -benchmem` in pkg and returns the results by
// benchmark name (GOMAXPROCS suffix removed).
func goBench(ctx context.Context, pkg, pattern string, extra ...string) (map[string]*benchResult, string, error) {
	args := append([]string{"test", "-run", "^$", "-bench", pattern, "-benchmem"}, extra...)
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, string(out), fmt.Errorf("go %v: %w\n%s", args, err, out)
	}
	res := map[string]*benchResult{}
	for _, m := range benchLine.FindAllStringSubmatch(string(out), -1) {
		r := res[m[1]]
		if r == nil {
			r = &benchResult{}
			res[m[1]] = r
		}
		ns, _ := strconv.ParseFloat(m[2], 64)
		r.nsPerOp = append(r.nsPerOp, ns)
		r.allocs, _ = strconv.ParseFloat(m[4], 64)
	}
	return res, string(out), nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// decodeRounds is how many times item 1 runs the three benchmarks, one after the other.
const decodeRounds = 5

// benchDecode is item 1: BenchmarkDecodeRecord (decode + verify + record of a vehicles row) vs
// BenchmarkUnmarshal (encoding/json of the same message), run in turn five times (one go test each) so
// machine noise hits all of them; medians, and the highest allocs/op seen. A CPU profile of decode+record is kept.
func benchDecode(ctx context.Context, o options, t *table) error {
	prof := filepath.Join(o.profileDir, "decode-record.cpu.pprof")
	res := map[string]*benchResult{}
	for round := range decodeRounds {
		extra := []string{"-count", "1", "-benchtime", "1s"}
		if round == decodeRounds-1 {
			extra = append(extra, "-cpuprofile", prof, "-o", filepath.Join(o.profileDir, "consume.test"))
		}
		got, _, err := goBench(ctx, "./consume", `^(BenchmarkDecode|BenchmarkDecodeRecord|BenchmarkUnmarshal)$`, extra...)
		if err != nil {
			return err
		}
		for name, r := range got {
			if res[name] == nil {
				res[name] = &benchResult{}
			}
			res[name].nsPerOp = append(res[name].nsPerOp, r.nsPerOp...)
			res[name].allocs = max(res[name].allocs, r.allocs)
		}
	}
	var rec, unm, dec *benchResult
	var recName string
	for name, r := range res {
		switch {
		case regexp.MustCompile(`^BenchmarkDecodeRecord/.*ledger=false`).MatchString(name):
			rec, recName = r, name
		case regexp.MustCompile(`^BenchmarkUnmarshal/`).MatchString(name):
			unm = r
		case regexp.MustCompile(`^BenchmarkDecode/`).MatchString(name):
			dec = r
		}
	}
	if rec == nil || unm == nil || dec == nil {
		return fmt.Errorf("missing benchmark results: %v", res)
	}
	ours, theirs := median(rec.nsPerOp), median(unm.nsPerOp)
	ratio := theirs / ours
	t.add(row{item: "1", what: "decode+record, vehicles row (ns/msg, allocs)", ours: fmt.Sprintf("%.0f ns, %.0f allocs", ours, rec.allocs),
		theirs: fmt.Sprintf("encoding/json %.0f ns, %.0f allocs", theirs, unm.allocs), ratio: fmt.Sprintf("%.1f×", ratio),
		target: "≥ 20×, 0 allocs", met: ratio >= 20 && rec.allocs == 0})
	t.add(row{item: "1", what: "decode+record throughput per core", ours: fmt.Sprintf("%.2fM msgs/s", 1e3/ours),
		theirs: fmt.Sprintf("decode alone %.0f ns", median(dec.nsPerOp)), ratio: "", target: "≥ 5M msgs/s", met: 1e3/ours >= 5})
	t.note("item 1: %s vs BenchmarkUnmarshal (./consume), medians of 5 rounds run in turn (one `go test -count 1` each); CPU profile in %s", recName, prof)
	return nil
}
