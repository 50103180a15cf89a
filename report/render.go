package report

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Formats are the output formats of [Render] and [RenderFiles], in the order the CLI lists them.
var Formats = []string{"text", "hgrm", "hlog", "csv", "html"}

// RenderOptions configures [Render] and [RenderFiles]. The zero value is usable.
type RenderOptions struct {
	// Metrics restricts hgrm and hlog output to these metric names. For hgrm on a single
	// writer the default is e2e_commit; for files it is every metric.
	Metrics []string
	// ValueScale divides µs values in .hgrm output; default [UnitMS] (milliseconds).
	ValueScale float64
	// Title heads the HTML page; default the run's profile and worker.
	Title string
}

func checkFormat(format string) error {
	for _, f := range Formats {
		if f == format {
			return nil
		}
	}
	return fmt.Errorf("format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// Render writes r to w in format (one of [Formats]). hgrm writes one metric: the first of
// opt.Metrics, default e2e_commit.
func Render(w io.Writer, r *Result, format string, opt RenderOptions) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	switch format {
	case "text":
		return WriteText(w, r)
	case "csv":
		return WriteCSV(w, r)
	case "hlog":
		return WriteHlog(w, r, opt.Metrics...)
	case "html":
		return WriteHTML(w, r, opt.Title)
	default: // hgrm
		name := MetricE2ECommit
		if len(opt.Metrics) > 0 {
			name = opt.Metrics[0]
		}
		m, ok := r.Metrics[name]
		if !ok {
			return fmt.Errorf("no metric %q in this result (it has %s)", name, strings.Join(MetricNames(r.Metrics), ", "))
		}
		return WriteHgrm(w, m, opt.ValueScale)
	}
}

// RenderFiles writes r in format into dir, naming files after base (a result file name without
// .json): base.txt, base.<metric>.hgrm (one per metric, or per opt.Metrics), base.hlog,
// base.csv, base.html. Files are written atomically. It returns the paths written.
func RenderFiles(dir, base string, r *Result, format string, opt RenderOptions) ([]string, error) {
	if err := checkFormat(format); err != nil {
		return nil, err
	}
	type file struct {
		name   string
		render func(io.Writer) error
	}
	var files []file
	switch format {
	case "hgrm":
		names := opt.Metrics
		if len(names) == 0 {
			names = MetricNames(r.Metrics)
		}
		for _, name := range names {
			m, ok := r.Metrics[name]
			if !ok {
				return nil, fmt.Errorf("no metric %q in this result (it has %s)", name, strings.Join(MetricNames(r.Metrics), ", "))
			}
			files = append(files, file{base + "." + name + ".hgrm", func(w io.Writer) error { return WriteHgrm(w, m, opt.ValueScale) }})
		}
	default:
		ext := map[string]string{"text": ".txt", "hlog": ".hlog", "csv": ".csv", "html": ".html"}[format]
		files = append(files, file{base + ext, func(w io.Writer) error { return Render(w, r, format, opt) }})
	}
	var written []string
	for _, f := range files {
		var buf bytes.Buffer
		if err := f.render(&buf); err != nil {
			return written, fmt.Errorf("rendering %s: %w", f.name, err)
		}
		path := filepath.Join(dir, f.name)
		if err := writeFileAtomic(path, buf.Bytes()); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}
