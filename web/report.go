package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"regexp"
	"time"
)

// ErrBadReport means the backtest report given to RenderBacktest is not a JSON object. (It is
// declared here rather than in errors.go to keep the report in one file.)
var ErrBadReport = errors.New("bad backtest report")

// RenderBacktest writes a backtest report (its JSON, as `synapse backtest` builds it) as one
// self-contained HTML page: the report's script and styles (ui/report.js and ui/report.css,
// built from uisrc/src/report.ts) and the report's JSON are inlined, and the page's Content
// Security Policy forbids any request, so it opens the same from a disk, a mail or a CI
// artifact store. The script draws the summary, a table and an equity curve per agent, the
// risk gate's rejections and the order counts.
func RenderBacktest(w io.Writer, reportJSON []byte) error {
	var head struct {
		Schema   string `json:"schema"`
		From     int64  `json:"from"`
		To       int64  `json:"to"`
		Identity string `json:"identity"`
	}
	if err := json.Unmarshal(reportJSON, &head); err != nil {
		return fmt.Errorf("%w: %v", ErrBadReport, err)
	}
	var data bytes.Buffer
	if err := json.Compact(&data, reportJSON); err != nil {
		return fmt.Errorf("%w: %v", ErrBadReport, err)
	}
	var safe bytes.Buffer // <, > and & as \u escapes: the JSON cannot end its script element
	json.HTMLEscape(&safe, data.Bytes())
	js, err := fs.ReadFile(ui, "ui/report.js")
	if err != nil {
		return fmt.Errorf("the report script is not in this build (run `make ui`): %w", err)
	}
	css, err := fs.ReadFile(ui, "ui/report.css")
	if err != nil {
		return fmt.Errorf("the report styles are not in this build (run `make ui`): %w", err)
	}
	title := "Synapse backtest"
	if head.From > 0 && head.To > 0 {
		title += fmt.Sprintf(" — %s to %s", day(head.From), day(head.To))
	}
	if head.Identity != "" && head.Identity != "ok" {
		title += " · identity BROKEN"
	}
	return backtestPage.Execute(w, map[string]any{
		"Title":  title,
		"Schema": head.Schema,
		"JSON":   template.JS(safe.String()),
		"Script": template.JS(inlineSafe(js, scriptEnd)),
		"Style":  template.CSS(inlineSafe(css, styleEnd)),
	})
}

func day(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02") }

var (
	scriptEnd = regexp.MustCompile(`(?i)</(script)|<!--`)
	styleEnd  = regexp.MustCompile(`(?i)</(style)`)
)

// inlineSafe makes code safe to put inside a <script> or <style> element: a "</script" (in a
// string or a regular expression) becomes "<\/script", which means the same to JavaScript,
// and "<!--" becomes "<\!--".
func inlineSafe(code []byte, end *regexp.Regexp) string {
	return string(end.ReplaceAllFunc(code, func(m []byte) []byte {
		if string(m) == "<!--" {
			return []byte(`<\!--`)
		}
		return append([]byte(`<\/`), m[2:]...)
	}))
}

// backtestPage is the report's page. The policy allows only what the page itself carries:
// its inline script and styles, and data: images (the charts draw on canvases).
var backtestPage = template.Must(template.New("backtest").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:">
<meta name="generator" content="synapse backtest ({{.Schema}})">
<title>{{.Title}}</title>
<link rel="icon" href="data:,">
<style>{{.Style}}</style>
</head>
<body class="report">
<div id="app"><noscript><p>This report draws itself with JavaScript; without it, its data is the JSON in the element with id "report" of this file.</p></noscript></div>
<script id="report" type="application/json">{{.JSON}}</script>
<script>{{.Script}}</script>
</body>
</html>
`))
