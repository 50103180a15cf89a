package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"

	"github.com/cfbench/cfbench/profiles"
)

// MatrixRun is one run of a matrix: its variant, repetition and outcome.
type MatrixRun struct {
	Variant    string
	Repetition int
	Outcome    *Outcome
	Err        error
}

// RunMatrix runs every variant of o.Profile's matrix, interleaved across repetitions
// (A B C A B C …) so slow drifts of the environment spread evenly over the variants, each run
// with the same workload and its own directory <OutDir>/<variant>/rep<k>. It stops at the first
// interrupt; other failures are recorded in the returned runs and the matrix goes on. before, if
// set, is called before each run (for progress headers).
func RunMatrix(ctx context.Context, o Options, before func(i, n int, v profiles.Variant)) ([]MatrixRun, error) {
	variants, err := o.Profile.Variants()
	if err != nil {
		return nil, err
	}
	order := profiles.Interleave(variants, o.Profile.Workload.Repetitions)
	var runs []MatrixRun
	for i, v := range order {
		if ctx.Err() != nil {
			return runs, ErrInterrupted
		}
		if before != nil {
			before(i+1, len(order), v)
		}
		ro := o
		ro.Profile = v.Profile
		ro.Variant = v.Label
		ro.Repetition = v.Repetition
		ro.OutDir = filepath.Join(o.OutDir, dirName(v.Label), fmt.Sprintf("rep%d", v.Repetition))
		oc, err := Run(ctx, ro)
		runs = append(runs, MatrixRun{Variant: v.Label, Repetition: v.Repetition, Outcome: oc, Err: err})
		if errors.Is(err, ErrInterrupted) {
			return runs, err
		}
	}
	return runs, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._=-]+`)

// dirName turns a variant label such as "Flush.Frequency=50ms" into a directory name.
func dirName(label string) string {
	if label == "" {
		return "base"
	}
	return unsafeName.ReplaceAllString(label, "_")
}
