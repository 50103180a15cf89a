package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// WriteHTML writes the comparison as one self-contained HTML page: the text table and, for every
// latency metric, the groups' percentile spectra overlaid on a log axis. A group's spectrum is
// that of its runs' histograms merged (all repetitions pooled).
func (c *Comparison) WriteHTML(w io.Writer) error {
	var text bytes.Buffer
	if err := c.WriteText(&text); err != nil {
		return err
	}
	all := map[string]Metric{}
	for _, g := range c.Groups {
		for _, r := range g.Results {
			for name, m := range r.Metrics {
				all[name] = m
			}
		}
	}
	var charts []htmlChart
	for _, name := range MetricNames(all) {
		p := newPlot("", "percentile", name+" (ms)")
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = percentileTicks
		p.Legend.Left = true
		lines := 0
		for i, g := range c.Groups {
			acc := NewHistogram()
			n := 0
			for _, r := range g.Results {
				m, ok := r.Metrics[name]
				if !ok || m.Count == 0 {
					continue
				}
				h, err := mergeHDR(acc, m.HDR, m.Count)
				if err != nil {
					return fmt.Errorf("html %s, %s: %w", g.Name, name, err)
				}
				acc = h
				n++
			}
			if acc.TotalCount() < 2 {
				continue
			}
			xys, err := spectrumXYs(MetricFromHistogram(acc))
			if err != nil {
				return err
			}
			if len(xys) < 2 {
				continue
			}
			if err := addLine(p, fmt.Sprintf("%s (%d runs)", g.Name, n), xys, i); err != nil {
				return err
			}
			lines++
		}
		if lines == 0 {
			continue
		}
		svg, err := renderSVG(p, 18*vg.Centimeter, 9*vg.Centimeter)
		if err != nil {
			return err
		}
		charts = append(charts, htmlChart{ID: "spectrum-" + name, Title: name + " percentile spectrum", SVG: template.HTML(svg)})
	}
	data := struct {
		Text   string
		Charts []htmlChart
	}{text.String(), charts}
	if err := comparePage.Execute(w, data); err != nil {
		return fmt.Errorf("writing html: %w", err)
	}
	return nil
}

var comparePage = template.Must(template.New("compare").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cfbench compare</title>
<style>
body { font-family: sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.85em; }
figure { margin: 2em 0; }
figure svg { width: 100%; height: auto; }
figcaption { font-weight: bold; margin-bottom: 0.4em; }
</style>
</head>
<body>
<h1>cfbench compare</h1>
<section id="table"><pre>{{.Text}}</pre></section>
{{range .Charts}}<figure id="{{.ID}}">
<figcaption>{{.Title}}</figcaption>
{{.SVG}}
</figure>
{{end}}</body>
</html>
`))
