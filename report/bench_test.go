package report

import (
	"fmt"
	"io"
	"testing"
)

// BenchmarkMerge merges the results of several workers of a 60 s run (metrics, per-second
// intervals and series).
func BenchmarkMerge(b *testing.B) {
	for _, workers := range []int{2, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			var rs []*Result
			for i := range workers {
				r := synth(uint64(i), 40_000, 60)
				r.Run.Worker = fmt.Sprintf("%d/%d", i+1, workers)
				rs = append(rs, r)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Merge(rs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParse decodes and validates a result file of a 60 s run.
func BenchmarkParse(b *testing.B) {
	doc, err := synth(1, 40_000, 60).Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteHTML renders the HTML report of a 60 s run.
func BenchmarkWriteHTML(b *testing.B) {
	r := synth(1, 40_000, 60)
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteHTML(io.Discard, r, ""); err != nil {
			b.Fatal(err)
		}
	}
}
