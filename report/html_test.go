package report

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestWriteHTML(t *testing.T) {
	r := synth(3, 40_000, 30)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r, ""); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, id := range ChartIDs {
		i := strings.Index(page, `<figure id="`+id+`">`)
		if i < 0 {
			t.Fatalf("no figure %s", id)
		}
		fig := page[i:]
		fig = fig[:strings.Index(fig, "</figure>")]
		if !strings.Contains(fig, "<svg") || !strings.Contains(fig, "</svg>") {
			t.Errorf("figure %s has no inline svg", id)
		}
	}
	if strings.Contains(page, "<?xml") {
		t.Error("inline svg keeps its XML prolog")
	}
	// Self-contained: no scripts, stylesheets, images or fonts fetched from anywhere.
	if m := regexp.MustCompile(`(?i)<script|<link|<img|src=|url\(|@import|href="http`).FindString(page); m != "" {
		t.Errorf("page refers to an external resource: %q", m)
	}
	if !strings.Contains(page, `class="verdict pass"`) {
		t.Error("clean delivery should show a PASS verdict")
	}
	if strings.Contains(page, `id="checks"`) {
		t.Error("a run whose self-checks pass shows a checks banner")
	}
	// The token refresh at second 10 and 20 is drawn: the legend names it.
	if !strings.Contains(page, "token refresh") {
		t.Error("latency chart lacks the token refresh marks")
	}
	out := filepath.Join(t.TempDir(), "report.html")
	os.WriteFile(out, buf.Bytes(), 0o644)
	t.Logf("wrote %s (%d bytes)", out, buf.Len())

	r.Delivery.Missing = 2
	r.Clock = Clock{} // not measured: the clock check fails
	r.Series = nil
	r.Token.Events = nil
	buf.Reset()
	if err := WriteHTML(&buf, r, "t"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `class="verdict fail"`) || !strings.Contains(buf.String(), "No per-second series") {
		t.Error("missing rows should show FAIL, and a result without series should say so")
	}
	if !strings.Contains(buf.String(), `<p class="verdict warn"><b>check clock</b>: offset not measured`) {
		t.Error("a failed self-check should have its banner")
	}
}
