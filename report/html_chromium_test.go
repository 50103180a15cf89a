package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromium returns the path of a Chromium binary (CFBENCH_CHROMIUM, else chromium or
// chromium-browser on PATH; Debian's package is "chromium"), or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CFBENCH_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" || os.Getenv("CFBENCH_INTEGRATION") == "1" {
		t.Fatal("no chromium on PATH: `make test` installs Debian's chromium package (or set CFBENCH_CHROMIUM)")
	}
	t.Skip("no chromium on PATH (apt-get install chromium, or set CFBENCH_CHROMIUM)")
	return ""
}

// TestHTMLInChromium opens the HTML report in headless Chromium: the page must load with no
// console message (errors, failed loads, CSP reports all land there), the rendered DOM must hold
// each chart's SVG, and a screenshot is saved in the test's artifact directory
// (go test -artifacts keeps it under -outputdir).
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.ArtifactDir()
	page := filepath.Join(dir, "report.html")
	var buf bytes.Buffer
	if err := WriteHTML(&buf, synth(3, 40_000, 60), ""); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// Chromium wants a writable home for its profile; keep it inside the test.
	home := t.TempDir()
	browse := func(args ...string) (stdout, stderr string) {
		t.Helper()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
			"--user-data-dir=" + filepath.Join(home, "profile"), "--enable-logging=stderr", "--v=0"}
		cmd := exec.CommandContext(ctx, bin, append(append(base, args...), "file://"+page)...)
		cmd.Env = append(os.Environ(), "HOME="+home)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", bin, err, errb.String())
		}
		return out.String(), errb.String()
	}

	dom, logs := browse("--dump-dom")
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, ":CONSOLE") {
			t.Errorf("console message while loading the report: %s", line)
		}
	}
	for _, id := range ChartIDs {
		i := strings.Index(dom, `<figure id="`+id+`">`)
		if i < 0 {
			t.Errorf("rendered page has no figure %s", id)
			continue
		}
		fig := dom[i:]
		if j := strings.Index(fig, "</figure>"); j >= 0 {
			fig = fig[:j]
		}
		if !strings.Contains(fig, "<svg") {
			t.Errorf("figure %s has no svg in the rendered DOM", id)
		}
	}

	shot := filepath.Join(dir, "report.png")
	browse("--screenshot="+shot, "--window-size=1280,3600", "--hide-scrollbars")
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 10_000 {
		t.Errorf("screenshot %s is not a plausible PNG (%d bytes)", shot, len(b))
	}
	t.Logf("screenshot: %s", shot)
}
