package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// ChartIDs are the element ids of the charts WriteHTML draws, in page order. A chart without
// data is replaced by a paragraph saying so, under the same id.
var ChartIDs = []string{"chart-latency", "chart-spectrum", "chart-throughput", "chart-token"}

// palette is a colour-blind-friendly set (Okabe-Ito).
var palette = []color.Color{
	color.RGBA{0, 114, 178, 255},   // blue
	color.RGBA{213, 94, 0, 255},    // vermillion
	color.RGBA{0, 158, 115, 255},   // green
	color.RGBA{204, 121, 167, 255}, // purple
	color.RGBA{230, 159, 0, 255},   // orange
	color.RGBA{86, 180, 233, 255},  // sky blue
	color.RGBA{0, 0, 0, 255},       // black
}

type htmlChart struct {
	ID, Title, Note string
	SVG             template.HTML
}

// WriteHTML writes one self-contained HTML page for r: the text summary, a delivery verdict
// banner, a banner for each failed self-check ([CheckRun]) and SVG charts drawn with gonum/plot (latency over time with token refreshes marked,
// percentile spectrum on a log axis, throughput over time, token fetches). Everything is inline:
// the page loads nothing from a network. title defaults to the profile and worker.
func WriteHTML(w io.Writer, r *Result, title string) error {
	if title == "" {
		title = fmt.Sprintf("cfbench %s, worker %s", orDash(r.Run.Profile), orDash(r.Run.Worker))
		if r.Run.Variant != "" {
			title += " [" + r.Run.Variant + "]"
		}
	}
	var summary bytes.Buffer
	if err := WriteText(&summary, r); err != nil {
		return err
	}
	builders := []func(*Result) (*plot.Plot, string, error){latencyChart, spectrumChart, throughputChart, tokenChart}
	titles := []string{"Latency over time", "Percentile spectrum", "Throughput over time", "Token fetches"}
	var charts []htmlChart
	for i, build := range builders {
		c := htmlChart{ID: ChartIDs[i], Title: titles[i]}
		p, note, err := build(r)
		if err != nil {
			return fmt.Errorf("html %s: %w", ChartIDs[i], err)
		}
		c.Note = note
		if p != nil {
			svg, err := renderSVG(p, 18*vg.Centimeter, 9*vg.Centimeter)
			if err != nil {
				return fmt.Errorf("html %s: %w", ChartIDs[i], err)
			}
			c.SVG = template.HTML(svg)
		}
		charts = append(charts, c)
	}
	d := r.Delivery
	var failed []Check
	for _, c := range CheckRun(r) {
		if !c.OK {
			failed = append(failed, c)
		}
	}
	data := struct {
		Title    string
		Pass     bool
		Delivery Delivery
		Failed   []Check
		Summary  string
		Charts   []htmlChart
		Started  string
	}{title, d.Passed(), d, failed, summary.String(), charts, r.Run.Started.UTC().Format(time.RFC3339)}
	if err := pageTemplate.Execute(w, data); err != nil {
		return fmt.Errorf("writing html: %w", err)
	}
	return nil
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.85em; }
.verdict { padding: 0.6em 1em; font-weight: bold; border-radius: 4px; }
.pass { background: #d8f0dc; color: #125f24; }
.fail { background: #f8d7d7; color: #8a1010; }
.warn { background: #fbefd0; color: #6b4a00; font-weight: normal; }
figure { margin: 2em 0; }
figure svg { width: 100%; height: auto; }
figcaption { font-weight: bold; margin-bottom: 0.4em; }
table { border-collapse: collapse; }
td { padding: 0.1em 1em 0.1em 0; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>started {{.Started}}</p>
<section id="delivery">
<p class="verdict {{if .Pass}}pass{{else}}fail{{end}}">delivery {{if .Pass}}PASS{{else}}FAIL{{end}}</p>
<table>
<tr><td>written</td><td>{{.Delivery.Written}}</td><td>received</td><td>{{.Delivery.Received}}</td></tr>
<tr><td>missing</td><td>{{.Delivery.Missing}}</td><td>duplicates</td><td>{{.Delivery.Duplicates}}</td></tr>
<tr><td>order violations</td><td>{{.Delivery.OrderViolations}}</td><td>partition violations</td><td>{{.Delivery.PartitionViolations}}</td></tr>
<tr><td>resolved violations</td><td>{{.Delivery.ResolvedViolations}}</td><td>decode errors</td><td>{{.Delivery.DecodeErrors}}</td></tr>
</table>
</section>
{{if .Failed}}<section id="checks">
{{range .Failed}}<p class="verdict warn"><b>check {{.Name}}</b>: {{.Detail}}</p>
{{end}}</section>
{{end}}<section id="summary"><pre>{{.Summary}}</pre></section>
{{range .Charts}}<figure id="{{.ID}}">
<figcaption>{{.Title}}</figcaption>
{{if .SVG}}{{.SVG}}{{end}}{{if .Note}}<p>{{.Note}}</p>{{end}}
</figure>
{{end}}</body>
</html>
`))

// renderSVG draws p and returns the <svg> element without the XML prolog, for inlining.
func renderSVG(p *plot.Plot, w, h vg.Length) (string, error) {
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("rendering svg: %w", err)
	}
	s := buf.String()
	i := strings.Index(s, "<svg")
	if i < 0 {
		return "", fmt.Errorf("rendering svg: no <svg> element in output")
	}
	return s[i:], nil
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

func addLine(p *plot.Plot, name string, xys plotter.XYs, i int) error {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("line %s: %w", name, err)
	}
	l.Color = palette[i%len(palette)]
	l.Width = vg.Points(1.2)
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

// latencyChart: e2e p50/p99/max per second, token refreshes as dashed vertical lines.
func latencyChart(r *Result) (*plot.Plot, string, error) {
	if len(r.Series) == 0 {
		return nil, "No per-second series in this result.", nil
	}
	p := newPlot("", "time (s)", "e2e_commit latency (ms)")
	get := []struct {
		name string
		f    func(Second) int64
	}{{"p50", func(s Second) int64 { return s.E2EP50US }}, {"p99", func(s Second) int64 { return s.E2EP99US }},
		{"max", func(s Second) int64 { return s.E2EMaxUS }}}
	ymax := 0.0
	for i, g := range get {
		xys := make(plotter.XYs, len(r.Series))
		for j, s := range r.Series {
			xys[j] = plotter.XY{X: float64(s.T), Y: float64(g.f(s)) / 1000}
			ymax = math.Max(ymax, xys[j].Y)
		}
		if err := addLine(p, g.name, xys, i); err != nil {
			return nil, "", err
		}
	}
	marked := false
	for _, s := range r.Series {
		if s.TokenRefreshes == 0 {
			continue
		}
		l, err := plotter.NewLine(plotter.XYs{{X: float64(s.T), Y: 0}, {X: float64(s.T), Y: ymax}})
		if err != nil {
			return nil, "", err
		}
		l.Color = palette[6]
		l.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(l)
		if !marked {
			p.Legend.Add("token refresh", l)
			marked = true
		}
	}
	return p, "", nil
}

// percentileTicks label the 1/(1−q) axis with percentiles.
var percentileTicks = plot.ConstantTicks{
	{Value: 1, Label: "0%"}, {Value: 2, Label: "50%"}, {Value: 10, Label: "90%"}, {Value: 100, Label: "99%"},
	{Value: 1000, Label: "99.9%"}, {Value: 10000, Label: "99.99%"}, {Value: 100000, Label: "99.999%"},
	{Value: 1000000, Label: "99.9999%"},
}

// spectrumXYs returns the percentile spectrum of m: x = 1/(1−q), y = value in ms.
func spectrumXYs(m Metric) (plotter.XYs, error) {
	h, err := m.Histogram()
	if err != nil {
		return nil, err
	}
	var xys plotter.XYs
	for _, b := range h.CumulativeDistributionWithTicks(HgrmTicksPerHalfDistance) {
		if b.Quantile >= 100 {
			continue
		}
		xys = append(xys, plotter.XY{X: 1 / (1 - b.Quantile/100), Y: float64(b.ValueAt) / 1000})
	}
	return xys, nil
}

// spectrumMetrics are the metrics drawn on the percentile spectrum: the pipeline's, plus the
// all-ops write latency. Per-op write latencies would crowd it; their .hgrm files hold them.
var spectrumMetrics = []string{MetricE2ECommit, MetricE2EAck, MetricCommitToKafka, MetricKafkaToConsumer,
	MetricResolvedLag, WriteLatencyPrefix + "total"}

// spectrumChart: the percentile spectra of spectrumMetrics, both axes logarithmic.
func spectrumChart(r *Result) (*plot.Plot, string, error) {
	p := newPlot("", "percentile", "latency (ms)")
	p.Legend.Left = true // the curves rise to the right
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = percentileTicks
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	n := 0
	for _, name := range spectrumMetrics {
		m, ok := r.Metrics[name]
		if !ok || m.Count < 2 {
			continue
		}
		xys, err := spectrumXYs(m)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", name, err)
		}
		if len(xys) < 2 {
			continue
		}
		if err := addLine(p, name, xys, n); err != nil {
			return nil, "", err
		}
		n++
	}
	if n == 0 {
		return nil, "No latency histogram with enough values.", nil
	}
	p.X.Min = 1
	return p, "", nil
}

// throughputChart: writes and events per second.
func throughputChart(r *Result) (*plot.Plot, string, error) {
	if len(r.Series) == 0 {
		return nil, "No per-second series in this result.", nil
	}
	p := newPlot("", "time (s)", "per second")
	w := make(plotter.XYs, len(r.Series))
	e := make(plotter.XYs, len(r.Series))
	for i, s := range r.Series {
		w[i] = plotter.XY{X: float64(s.T), Y: float64(s.Writes)}
		e[i] = plotter.XY{X: float64(s.T), Y: float64(s.Events)}
	}
	if err := addLine(p, "writes", w, 0); err != nil {
		return nil, "", err
	}
	if err := addLine(p, "events", e, 1); err != nil {
		return nil, "", err
	}
	p.Y.Min = 0
	return p, "", nil
}

// tokenChart: each token fetch's duration at its time (failures in red); without events, the
// token_fetch percentile spectrum.
func tokenChart(r *Result) (*plot.Plot, string, error) {
	if len(r.Token.Events) > 0 {
		p := newPlot("", "time since start (s)", "token fetch (ms)")
		var ok, failed plotter.XYs
		for _, ev := range r.Token.Events {
			x := 0.0
			if !r.Run.Started.IsZero() {
				x = ev.At.Sub(r.Run.Started).Seconds()
			}
			pt := plotter.XY{X: x, Y: float64(ev.TookUS) / 1000}
			if ev.OK {
				ok = append(ok, pt)
			} else {
				failed = append(failed, pt)
			}
		}
		for i, set := range []struct {
			name string
			xys  plotter.XYs
		}{{"ok", ok}, {"failed", failed}} {
			if len(set.xys) == 0 {
				continue
			}
			s, err := plotter.NewScatter(set.xys)
			if err != nil {
				return nil, "", err
			}
			s.Color = palette[[]int{2, 1}[i]]
			s.Radius = vg.Points(3)
			p.Add(s)
			p.Legend.Add(set.name, s)
		}
		p.Y.Min = 0
		return p, "", nil
	}
	m, ok := r.Metrics[MetricTokenFetch]
	if !ok || m.Count < 2 {
		return nil, "No token fetches recorded.", nil
	}
	xys, err := spectrumXYs(m)
	if err != nil {
		return nil, "", err
	}
	p := newPlot("", "percentile", "token fetch (ms)")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = percentileTicks
	if err := addLine(p, MetricTokenFetch, xys, 0); err != nil {
		return nil, "", err
	}
	return p, "", nil
}
