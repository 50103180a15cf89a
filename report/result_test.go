package report

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"
)

func TestMetricFromHistogramRoundTrip(t *testing.T) {
	h := NewHistogram()
	for v := int64(1); v <= 10_000; v++ {
		if err := h.RecordValue(v * 100); err != nil {
			t.Fatal(err)
		}
	}
	m := MetricFromHistogram(h)
	if m.Count != 10_000 {
		t.Errorf("Count = %d, want 10000", m.Count)
	}
	checks := []struct {
		name      string
		got, want int64
	}{
		{"min", m.MinUS, h.Min()},
		{"p50", m.P50US, h.ValueAtQuantile(50)},
		{"p90", m.P90US, h.ValueAtQuantile(90)},
		{"p99", m.P99US, h.ValueAtQuantile(99)},
		{"p99.9", m.P999US, h.ValueAtQuantile(99.9)},
		{"p99.99", m.P9999US, h.ValueAtQuantile(99.99)},
		{"max", m.MaxUS, h.Max()},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	// p50 of 100..1_000_000 step 100 is ~500_000 within 3 significant figures.
	if m.P50US < 499_000 || m.P50US > 501_000 {
		t.Errorf("p50 = %d µs, want about 500000", m.P50US)
	}
	back, err := m.Histogram()
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equals(h) {
		t.Error("decoded histogram differs from the recorded one")
	}
}

func TestMetricHistogramErrors(t *testing.T) {
	if _, err := (Metric{Count: 3}).Histogram(); err == nil {
		t.Error("metric with a count and no hdr: want an error")
	}
	if _, err := (Metric{Count: 1, HDR: "bm90IGEgaGlzdG9ncmFt"}).Histogram(); err == nil {
		t.Error("garbage hdr: want an error")
	}
	h, err := (Metric{}).Histogram()
	if err != nil || h.TotalCount() != 0 {
		t.Errorf("empty metric: got %v, %v; want an empty histogram", h, err)
	}
}

func TestWriteReadFile(t *testing.T) {
	r := synth(1, 50_000, 30)
	path := filepath.Join(t.TempDir(), "result.json")
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	if len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("read back differs from written result")
	}
	b, _ := os.ReadFile(path)
	for _, field := range []string{`"schema": "cfbench.result/v1"`, `"p9999_us"`, `"order_violations"`,
		`"first_token_us"`, `"uncertainty_us"`, `"intended_writes_per_s"`, `"e2e_p50_us"`, `"resolved_lag_us"`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("result file lacks %s", field)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"other schema", `{"schema":"cfbench.result/v2"}`, `schema "cfbench.result/v2" is not supported`},
		{"no schema", `{"run":{}}`, `no "schema" field`},
		{"not json", `hello`, `not a JSON result`},
		{"bad hdr", `{"schema":"cfbench.result/v1","metrics":{"e2e_commit":{"count":1,"hdr":"AAAA"}}}`, `metrics.e2e_commit`},
		{"bad interval", `{"schema":"cfbench.result/v1","intervals":{"e2e_commit":[{"t":0,"hdr":"AAAA"}]}}`, `intervals.e2e_commit[0]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "old.json")
	os.WriteFile(path, []byte(`{"schema":"cfbench.result/v0"}`), 0o644)
	if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("ReadFile error = %v, want it to name the file", err)
	}
}

func TestRedact(t *testing.T) {
	in := map[string]any{
		"idp": map[string]any{
			"token_url":          "http://127.0.0.1:24444/oauth2/token",
			"client_id":          "cfbench",
			"client_secret":      "s3cr3t-1",
			"client_secret_file": "/run/secret",
		},
		"database": map[string]any{"url": "postgres://cfbench:pw-2@127.0.0.1:25432/cfbench", "Password": "pw-3"},
		"changefeed": map[string]any{
			"sink": "kafka://127.0.0.1:29093?sasl_client_secret=czNjcjN0&sasl_enabled=true&sasl_token_url=http%3A%2F%2Fx",
		},
		"list":         []any{map[string]any{"access_token": "tok-4"}},
		"empty_secret": "",
	}
	out := Redact(in)
	b, err := (&Result{Run: Run{Config: in}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"s3cr3t-1", "pw-2", "pw-3", "czNjcjN0", "tok-4"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("marshalled result still holds %q", secret)
		}
	}
	idp := out["idp"].(map[string]any)
	if idp["token_url"] != "http://127.0.0.1:24444/oauth2/token" || idp["client_secret_file"] != "/run/secret" || idp["client_id"] != "cfbench" {
		t.Errorf("non-secret keys changed: %v", idp)
	}
	if idp["client_secret"] != Redacted {
		t.Errorf("client_secret = %v, want %s", idp["client_secret"], Redacted)
	}
	sink := out["changefeed"].(map[string]any)["sink"].(string)
	if !strings.Contains(sink, "sasl_enabled=true") || !strings.Contains(sink, "sasl_client_secret="+Redacted) {
		t.Errorf("sink = %s, want only the secret redacted", sink)
	}
	if out["empty_secret"] != "" {
		t.Errorf("an empty secret should stay empty (nothing to hide), got %v", out["empty_secret"])
	}
	if in["idp"].(map[string]any)["client_secret"] != "s3cr3t-1" {
		t.Error("Redact modified its input")
	}
}

func TestMetricHistogramGeometry(t *testing.T) {
	other := hdrhistogram.New(1, 60_000_000_000, 5) // a nanosecond histogram from another tool
	other.RecordValue(42)
	enc, err := other.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	_, err = (Metric{Count: 1, HDR: string(enc)}).Histogram()
	if err == nil || !strings.Contains(err.Error(), "cfbench histograms cover 1..3600000000 µs at 3") {
		t.Errorf("foreign geometry: err = %v", err)
	}
}
