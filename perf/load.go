package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
)

var metricRE = func(unit string) *regexp.Regexp {
	return regexp.MustCompile(`\s([0-9.e+]+) ` + regexp.QuoteMeta(unit) + `(\s|$)`)
}

// benchLoad is item 3: BenchmarkVsPgbench in ./load runs load.Run (what `cfbench load --rate 0
// --mix addUser=1` runs) and pgbench with the same INSERT (load/testdata/pgbench/adduser.sql) at
// the same client count on the same PostgreSQL, alternating three times.
func benchLoad(ctx context.Context, env stack, t *table) error {
	_, out, err := goBench(ctx, "./load", `^BenchmarkVsPgbench$`, "-benchtime", "1x")
	if err != nil {
		return err
	}
	get := func(unit string) (float64, error) {
		m := metricRE(unit).FindStringSubmatch(out)
		if m == nil {
			return 0, fmt.Errorf("no %s in BenchmarkVsPgbench output (pgbench missing?):\n%s", unit, out)
		}
		return strconv.ParseFloat(m[1], 64)
	}
	ours, err := get("cfbench-ops/s")
	if err != nil {
		return err
	}
	theirs, err := get("pgbench-tps")
	if err != nil {
		return err
	}
	ratio, err := get("ratio")
	if err != nil {
		return err
	}
	t.add(row{item: "3", what: "load --rate 0 (addUser INSERT, 8 clients) vs pgbench same script", ours: fmt.Sprintf("%.0f ops/s", ours),
		theirs: fmt.Sprintf("%.0f tps", theirs), ratio: fmt.Sprintf("%.3f", ratio), target: "≥ 0.9", met: ratio >= 0.9})
	t.note("item 3: BenchmarkVsPgbench (./load): 3 alternating 5 s rounds each, pgbench -M prepared -c 8 -j 2 -f load/testdata/pgbench/adduser.sql; median of the per-round ratios")
	return nil
}
