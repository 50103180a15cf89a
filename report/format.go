package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// sig3 formats v with about three significant figures (benchunit style) and never more than
// maxPrec digits after the point: 0.0123, 1.23, 12.3, 123, 1234.
func sig3(v float64, maxPrec int) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		if v == 0 {
			return "0"
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	prec := 2 - int(math.Floor(math.Log10(math.Abs(v))))
	// Rounding can carry into the next magnitude (9.996 → 10.00): recheck once.
	if prec > 0 {
		s := strconv.FormatFloat(v, 'f', prec, 64)
		if r, _ := strconv.ParseFloat(s, 64); math.Abs(r) >= math.Pow(10, float64(3-prec)) {
			prec--
		}
	}
	if prec < 0 {
		prec = 0
	}
	if prec > maxPrec {
		prec = maxPrec
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// ms formats a microsecond value in milliseconds with ~3 significant figures (µs resolution).
func ms(us float64) string { return sig3(us/1000, 3) }

// duration formats a microsecond value with a unit chosen to keep ~3 significant figures:
// 950µs, 12.3ms, 1.23s.
func duration(us float64) string {
	a := math.Abs(us)
	switch {
	case a < 1000:
		return sig3(us, 0) + "µs"
	case a < 1_000_000:
		return sig3(us/1000, 3) + "ms"
	default:
		return sig3(us/1_000_000, 3) + "s"
	}
}

// count formats a count or rate with ~3 significant figures and an SI prefix above 10 000:
// 998, 1234, 12.3k, 1.23M.
func count(v float64) string {
	a := math.Abs(v)
	switch {
	case a < 10_000:
		if v == math.Trunc(v) {
			return strconv.FormatFloat(v, 'f', 0, 64)
		}
		return sig3(v, 2)
	case a < 1e6:
		return sig3(v/1e3, 2) + "k"
	case a < 1e9:
		return sig3(v/1e6, 2) + "M"
	default:
		return sig3(v/1e9, 2) + "G"
	}
}

// bytesRate formats bytes per second with IEC prefixes: 1.23MiB/s.
func bytesRate(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for math.Abs(v) >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return sig3(v, 2) + units[i] + "/s"
}

// table accumulates rows and writes them with aligned columns: the first column left-aligned,
// the others right-aligned, two spaces apart.
type table struct {
	rows [][]string
	// left marks extra columns (by index) to left-align.
	left map[int]bool
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer, indent string) error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			if n := utf8.RuneCountInString(c); n > widths[i] {
				widths[i] = n
			}
		}
	}
	var b, b2 strings.Builder
	for _, r := range t.rows {
		start := b.Len()
		b.WriteString(indent)
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if i == 0 || t.left[i] {
				b.WriteString(c)
				if i < len(r)-1 {
					b.WriteString(pad)
				}
			} else {
				b.WriteString(pad)
				b.WriteString(c)
			}
		}
		// Right-trim: an empty last cell must not leave trailing spaces.
		line := strings.TrimRight(b.String()[start:], " ")
		b2.WriteString(line)
		b2.WriteString("\n")
	}
	_, err := io.WriteString(w, b2.String())
	return err
}

// errWriter remembers the first write error so renderers can check once at the end.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
