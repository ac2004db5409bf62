package web

import (
	"bytes"
	"errors"
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// smallReport is a backtest report as `synapse backtest` writes it, cut down to one agent;
// its reason tries to end the script element that carries the JSON.
const smallReport = `{
  "schema": "backtest/v1",
  "inputs": [{"file": "ETHUSDT-1m-2022-08-14.csv.gz", "bytes": 66029, "sha256": "930c3feafdbfaf39e2688f8a4e070053c9943222334d77dba546fbf639b10c54"}],
  "from": 1660435259999, "to": 1660521599999, "events": 1440,
  "skipped": {"records": 1440, "malformed": 0, "out_of_order": 0, "duplicates": 0, "non_market": 0, "other_streams": 0},
  "rejected": [],
  "steps": 1440,
  "models": [{"model": "ensemble", "version": "1"}],
  "agents": [{
    "name": "ATLAS", "profile": "conservative", "execution": "paper", "models": ["ensemble"], "state": "HALTED",
    "reason": "</script><script>alert(1)</script> & <!-- more",
    "totals": {"capital": "10000", "cash": "9985.52049915", "equity": "9985.52049915", "exposure": "0", "realized": "-8.48960673",
      "unrealized": "0", "fees": "5.98989412", "peak": "10002.70233235", "drawdown": "0.001718", "fills": 12},
    "positions": [], "open_orders": 0, "signals": 1407, "intents": 12, "fills": 12, "rejected": 0, "event_time": 1660521600000,
    "max_drawdown": "0.002149",
    "curve": [{"time": 1660435200000, "equity": "10000"}, {"time": 1660438800000, "equity": "10001.89951912"}],
    "return": "-0.001448", "identity": "ok"
  }],
  "total": {"capital": "10000", "cash": "9985.52049915", "equity": "9985.52049915", "exposure": "0", "realized": "-8.48960673",
    "unrealized": "0", "fees": "5.98989412", "peak": "0", "drawdown": "0", "fills": 12},
  "identity": "ok",
  "risk": {"kill_switch": false, "passed": 12, "rejected": {"price_band": 2}, "open_orders": 0},
  "orders": {"intent": 12, "submitted": 12, "accepted": 12, "fill": 12}
}`

func TestRenderBacktest(t *testing.T) {
	var out bytes.Buffer
	if err := RenderBacktest(&out, []byte(smallReport)); err != nil {
		t.Fatal(err)
	}
	page := out.String()

	js, err := fs.ReadFile(ui, "ui/report.js")
	if err != nil {
		t.Fatal(err)
	}
	css, err := fs.ReadFile(ui, "ui/report.css")
	if err != nil {
		t.Fatal(err)
	}
	// the script and styles are inlined (as built; this build needs no escaping)
	if !strings.Contains(page, "<script>"+string(js)+"</script>") {
		t.Error("the page does not inline ui/report.js")
	}
	if !strings.Contains(page, "<style>"+string(css)+"</style>") {
		t.Error("the page does not inline ui/report.css")
	}
	// nothing is fetched: no script, stylesheet, image or frame from elsewhere
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)<script[^>]*\ssrc\s*=`),
		regexp.MustCompile(`(?i)<link[^>]*rel\s*=\s*["']?stylesheet`),
		regexp.MustCompile(`(?i)<(?:img|iframe|link|script|source|video|audio)[^>]*\s(?:src|href)\s*=\s*["']?(?:https?:)?//`),
		regexp.MustCompile(`(?i)@import`),
		regexp.MustCompile(`(?i)url\(\s*["']?(?:https?:)?//`),
	} {
		if m := re.FindString(page); m != "" {
			t.Errorf("the page refers to something outside it: %q", m)
		}
	}
	if !strings.Contains(page, `Content-Security-Policy" content="default-src 'none';`) {
		t.Error("the page has no policy forbidding requests")
	}
	// the reason cannot end the JSON's script element: exactly two scripts open and close
	if n := strings.Count(strings.ToLower(page), "</script>"); n != 2 {
		t.Errorf("%d </script> in the page, want 2 (the JSON and the script)", n)
	}
	if n := strings.Count(strings.ToLower(page), "<script"); n != 2 {
		t.Errorf("%d <script in the page, want 2", n)
	}
	if !strings.Contains(page, `\u003c/script\u003e\u003cscript\u003ealert(1)`) {
		t.Error("the reason is not escaped inside the JSON")
	}
	if !strings.Contains(page, "<title>Synapse backtest — 2022-08-14 to 2022-08-14</title>") {
		t.Errorf("title: %s", regexp.MustCompile(`<title>.*</title>`).FindString(page))
	}
}

func TestRenderBacktestBrokenIdentityInTitle(t *testing.T) {
	var out bytes.Buffer
	report := strings.Replace(smallReport, `"identity": "ok",`+"\n  \"risk\"", `"identity": "total: equity 1 ≠ 2",`+"\n  \"risk\"", 1)
	if report == smallReport {
		t.Fatal("the test report did not change")
	}
	if err := RenderBacktest(&out, []byte(report)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "identity BROKEN</title>") {
		t.Error("a broken identity is not in the title")
	}
}

func TestRenderBacktestBadJSON(t *testing.T) {
	for _, in := range []string{"", "{", "[1,2]", `"report"`} {
		var out bytes.Buffer
		err := RenderBacktest(&out, []byte(in))
		if !errors.Is(err, ErrBadReport) {
			t.Errorf("RenderBacktest(%q) = %v, want ErrBadReport", in, err)
		}
		if out.Len() != 0 {
			t.Errorf("RenderBacktest(%q) wrote %d bytes", in, out.Len())
		}
	}
}

func TestInlineSafe(t *testing.T) {
	for in, want := range map[string]string{
		`a="</script>"`:   `a="<\/script>"`,
		`a="</SCRIPT >"`:  `a="<\/SCRIPT >"`,
		`a="<!--"`:        `a="<\!--"`,
		`a="</scrip"`:     `a="</scrip"`,
		`if(a</b)return;`: `if(a</b)return;`,
	} {
		if got := inlineSafe([]byte(in), scriptEnd); got != want {
			t.Errorf("inlineSafe(%q) = %q, want %q", in, got, want)
		}
	}
	if got := inlineSafe([]byte(`a::after{content:"</style>"}`), styleEnd); got != `a::after{content:"<\/style>"}` {
		t.Errorf("styles: %q", got)
	}
}
