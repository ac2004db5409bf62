package web

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEveryCommandValidatesItsArguments(t *testing.T) {
	e := newEnv(t, Options{CommandRate: 1e6, CommandBurst: 1e6})
	long := strings.Repeat("é", MaxReasonLen+1)
	train := trainPrefix(t)
	for _, tc := range []struct{ name, body, field string }{
		// An optional argument given is checked: an explicit 0 or "" out of range is refused,
		// not read as left out.
		{"models.train", train + `"epochs":0}`, "epochs"},
		{"models.train", train + `"epochs":1001}`, "epochs"},
		{"models.train", train + `"horizon":0}`, "horizon"},
		{"models.train", train + `"horizon":1441}`, "horizon"},
		{"models.train", train + `"version":""}`, "version"},
		{"models.train", train + `"seed":0}`, "seed"},
		{"models.deploy", `{"model":"direction","dir":"` + modelDir(t, "direction") + `","mode":""}`, "mode"},
		{"models.deploy", `{"model":"direction","dir":"` + modelDir(t, "direction") + `","sha256":""}`, "sha256"},
		{"orders.cancel_all", `{"agent":""}`, "agent"}, // not every agent's orders
		{"portfolio.rebalance", `{"profile":""}`, "profile"},
		{"portfolio.rebalance", `{"threshold":""}`, "threshold"},
		{"models.deploy", `{"dir":"models/v2","mode":"shadow"}`, "model"},
		{"models.deploy", `{"model":"gpt","dir":"models/v2"}`, "model"},
		{"models.deploy", `{"model":"direction","mode":"live"}`, "dir"},
		{"models.deploy", `{"model":"direction","dir":"  "}`, "dir"},
		{"models.deploy", `{"model":"direction","dir":"d","mode":"paper"}`, "mode"},
		{"models.deploy", `{"model":"direction","dir":"d","force":true}`, "force"},
		{"models.deploy", `{"model":7,"dir":"d"}`, "model"},
		{"models.deploy", `{"model":"direction","dir":"/nonexistent"}`, "dir"},
		{"models.deploy", `{"model":"range","dir":"` + modelDir(t, "direction") + `"}`, "dir"}, // another model's folder
		{"models.promote", `{}`, "model"},
		{"models.promote", `{"model":"range","x":1}`, "x"},
		{"models.retire_shadow", `{"model":"tp-sl"}`, "model"},
		{"killswitch.on", `{"reason":"` + long + `"}`, "reason"},
		{"killswitch.on", `{"why":"x"}`, "why"},
		{"killswitch.on", `{"reason":"ok\nlevel=ERROR forged"}`, "reason"},
		{"killswitch.on", `{"reason":"\u001b[31mred"}`, "reason"},
		{"killswitch.on", `{"reason":"evil\u202etxt.exe"}`, "reason"},
		{"killswitch.on", `{"reason":false}`, "reason"},
		{"killswitch.off", `{"reason":"x"}`, "reason"},
		{"agents.halt", `{}`, "agent"},
		{"agents.halt", `{"agent":""}`, "agent"},
		{"agents.halt", `{"agent":"a b"}`, "agent"},
		{"agents.halt", `{"agent":"a1","all":true}`, "all"},
		{"agents.resume", `{"agent":"../x"}`, "agent"},
		{"agents.resume", `{"agent":"` + strings.Repeat("a", 65) + `"}`, "agent"},
		{"portfolio.rebalance", `{"profile":"a b"}`, "profile"},
		{"portfolio.rebalance", `{"threshold":"1.5"}`, "threshold"},
		{"portfolio.rebalance", `{"threshold":"-0.1"}`, "threshold"},
		{"portfolio.rebalance", `{"threshold":0.05}`, "threshold"},
		{"portfolio.rebalance", `{"profile":"moderate","drift":"0.1"}`, "drift"},
		{"portfolio.distribute", `{}`, "keep"},
		{"portfolio.distribute", `{"keep":"lots"}`, "keep"},
		{"portfolio.distribute", `{"keep":"-0.01"}`, "keep"},
		{"portfolio.distribute", `{"keep":"0.000000000000000000000000000000000000001"}`, "keep"}, // would round to 0
		{"portfolio.rebalance", `{"threshold":"0.1111111111111111111111"}`, "threshold"},
		// Names match to the letter: encoding/json alone would take these for agent, model.
		{"agents.halt", `{"Agent":"a1"}`, "Agent"},
		{"agents.halt", `{"agent":"a1","AGENT":"a2"}`, "AGENT"},
		{"models.promote", `{"Model":"direction"}`, "Model"},
		{"portfolio.distribute", `{"Keep":"0.05"}`, "Keep"},
		{"models.train", `{"model":"direction","data":["x"],"out":"o","Epochs":3}`, "Epochs"},
		// Whole-body errors name no field.
		{"agents.halt", `{"agent":"a1"} {"agent":"a2"}`, ""},
		{"agents.halt", `["a1"]`, ""},
		{"agents.halt", `{"agent":`, ""},
		{"agents.halt", `not json`, ""},
	} {
		a := e.call(t, "POST", "/api/v1/commands/"+tc.name, e.admin, tc.body)
		field, _ := a.body["field"].(string)
		msg, _ := a.body["error"].(string)
		if a.status != 400 || field != tc.field || msg == "" {
			t.Errorf("%s %s: %d %s, want 400 naming %q", tc.name, tc.body, a.status, a.raw, tc.field)
		}
	}
	if n := len(e.sub.all()); n != 0 {
		t.Fatalf("invalid commands reached Submit %d times", n)
	}
}

// trainPrefix is the start of a valid models.train body, open for one more argument: a data
// file to read and a folder to write into.
func trainPrefix(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "BTCUSDT-1m.csv")
	if err := os.WriteFile(data, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return `{"model":"direction","data":["` + data + `"],"out":"` + filepath.Join(dir, "out") + `",`
}

// modelDir makes a folder holding the files of the models named, as synapse train writes
// them (their content is the engine's to check when it loads them).
func modelDir(t *testing.T, models ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, m := range models {
		for _, ext := range []string{".json", ".onnx"} {
			if err := os.WriteFile(filepath.Join(dir, m+ext), []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func TestValidCommandsAreSubmittedOnce(t *testing.T) {
	e := newEnv(t, Options{})
	v2, v3 := modelDir(t, "direction"), modelDir(t, "tp_sl")
	train := trainPrefix(t)
	for i, tc := range []struct {
		name, token, body, args string
	}{
		// Left out, an optional argument takes its default; given in range, it is kept.
		{"models.train", e.admin, train + `"seed":7}`, train + `"version":"1","epochs":30,"seed":7}`},
		{"models.train", e.admin, train + `"version":"2","epochs":1,"seed":1,"horizon":1440}`, train + `"version":"2","epochs":1,"seed":1,"horizon":1440}`},
		{"orders.cancel_all", e.trader, `{}`, `{}`},
		{"orders.cancel_all", e.trader, `{"agent":"mm_BTC-1"}`, `{"agent":"mm_BTC-1"}`},
		{"models.deploy", e.admin, `{"model":"direction","dir":"` + v2 + `","mode":"shadow"}`, `{"model":"direction","dir":"` + v2 + `","mode":"shadow"}`},
		{"models.deploy", e.admin, `{"model":"tp_sl","dir":"` + v3 + `"}`, `{"model":"tp_sl","dir":"` + v3 + `","mode":"live"}`},
		{"models.promote", e.admin, `{"model":"direction"}`, `{"model":"direction"}`},
		{"models.retire_shadow", e.admin, `{"model":"range"}`, `{"model":"range"}`},
		{"killswitch.on", e.trader, `{"reason":"exchange down"}`, `{"reason":"exchange down"}`},
		{"killswitch.on", e.trader, ``, `{}`},
		{"killswitch.off", e.trader, `{}`, `{}`},
		{"agents.halt", e.trader, `{"agent":"mm_BTC-1"}`, `{"agent":"mm_BTC-1"}`},
		{"agents.resume", e.trader, ` {"agent":"mm_BTC-1"} `, `{"agent":"mm_BTC-1"}`},
		{"portfolio.rebalance", e.trader, ``, `{}`},
		{"portfolio.rebalance", e.trader, `{"profile":"aggressive","threshold":"0.1"}`, `{"profile":"aggressive","threshold":"0.1"}`},
		{"portfolio.distribute", e.trader, `{"keep":"0"}`, `{"keep":"0"}`},
	} {
		a := e.call(t, "POST", "/api/v1/commands/"+tc.name, tc.token, tc.body)
		if a.status != 202 {
			t.Fatalf("%s %s: %d %s", tc.name, tc.body, a.status, a.raw)
		}
		cmds := e.sub.all()
		if len(cmds) != i+1 {
			t.Fatalf("%s: Submit called %d times in all, want %d", tc.name, len(cmds), i+1)
		}
		cmd := cmds[i]
		issuer, _ := e.tokens.Lookup(tc.token)
		if cmd.Name != tc.name || string(cmd.Args) != tc.args || cmd.Issuer != issuer.Name || cmd.Time == 0 ||
			!strings.HasPrefix(cmd.CommandID, tc.name+".") || cmd.Subject() != "cmd."+tc.name {
			t.Errorf("submitted %+v (args %s), want %s with args %s by %s", cmd, cmd.Args, tc.name, tc.args, issuer.Name)
		}
		if a.body["id"] != cmd.CommandID || a.body["seq"] != float64(i+1) {
			t.Errorf("answer %s, want id %s seq %d", a.raw, cmd.CommandID, i+1)
		}
	}
	// models.* need admin; an unknown command is 404; neither reaches Submit.
	before := len(e.sub.all())
	if a := e.call(t, "POST", "/api/v1/commands/models.promote", e.trader, `{"model":"direction"}`); a.status != 403 {
		t.Errorf("trader deploys: %d %s", a.status, a.raw)
	}
	if a := e.call(t, "POST", "/api/v1/commands/agents.explode", e.admin, `{}`); a.status != 404 {
		t.Errorf("unknown command: %d %s", a.status, a.raw)
	}
	if a := e.call(t, "POST", "/api/v1/commands/agents.halt", e.admin, `{"agent":"`+strings.Repeat("a", maxBody)+`"}`); a.status != 413 {
		t.Errorf("huge body: %d", a.status)
	}
	if n := len(e.sub.all()); n != before {
		t.Errorf("refused commands reached Submit")
	}
	// The list says which role each command needs.
	a := e.call(t, "GET", "/api/v1/commands", e.viewer, "")
	if a.body["models.deploy"] != "admin" || a.body["agents.halt"] != "trader" {
		t.Errorf("command list %s", a.raw)
	}
}

func TestCommandRefusedByTheLogIs503(t *testing.T) {
	e := newEnv(t, Options{})
	e.sub.err = errors.New("nats: no responders")
	a := e.call(t, "POST", "/api/v1/commands/killswitch.off", e.trader, `{}`)
	if a.status != 503 || !strings.Contains(a.raw, "no responders") {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	noLog := newEnv(t, Options{Submit: nil})
	noLog.g.opts.Submit = nil
	if a := noLog.call(t, "POST", "/api/v1/commands/killswitch.off", noLog.trader, `{}`); a.status != 503 {
		t.Fatalf("no Submit: %d %s", a.status, a.raw)
	}
}

// A command's body is JSON, said so by its Content-Type (charset=utf-8 allowed): anything
// else is a 415 naming the header to send, and reaches nothing. A command without arguments
// may come with no body at all, and then needs no Content-Type.
func TestCommandBodiesMustBeJSON(t *testing.T) {
	e := newEnv(t, Options{CommandRate: 1e6, CommandBurst: 1e6})
	post := func(name, contentType, body string) answer {
		t.Helper()
		path, token := "/api/v1/commands/"+name, e.trader
		if name == "tokens" { // POST /api/v1/tokens takes JSON as the commands do
			path, token = "/api/v1/tokens", e.admin
		}
		req, err := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		a := answer{status: resp.StatusCode, header: resp.Header, raw: string(data)}
		_ = json.Unmarshal(data, &a.body)
		return a
	}
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/jsonx", "text/json",
		"application/json; charset=latin1", "application/json; boundary=x", "application/json;;"} {
		a := post("agents.halt", ct, `{"agent":"ATLAS"}`)
		msg, _ := a.body["error"].(string)
		if a.status != http.StatusUnsupportedMediaType || !strings.Contains(msg, "Content-Type: application/json") || a.header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type %q: %d %s, want 415 naming the header to send", ct, a.status, a.raw)
		}
	}
	if n := len(e.sub.all()); n != 0 {
		t.Fatalf("bodies refused for their Content-Type reached Submit %d times", n)
	}
	if a := post("tokens", "application/x-www-form-urlencoded", `{"name":"grafana","role":"viewer"}`); a.status != http.StatusUnsupportedMediaType {
		t.Errorf("token with a form Content-Type: %d %s, want 415", a.status, a.raw)
	}
	if a := post("tokens", "application/json", `{"name":"grafana","role":"viewer"}`); a.status != http.StatusCreated {
		t.Errorf("token with JSON: %d %s, want 201", a.status, a.raw)
	}
	for _, tc := range []struct{ name, ct, body string }{
		{"agents.halt", "application/json", `{"agent":"ATLAS"}`},
		{"agents.halt", "application/json; charset=utf-8", `{"agent":"ATLAS"}`},
		{"agents.halt", "Application/JSON; Charset=UTF-8", `{"agent":"ATLAS"}`},
		{"killswitch.off", "", ""},           // no arguments: no body, no Content-Type
		{"killswitch.off", "text/plain", ""}, // the Content-Type of no body does not matter
		{"orders.cancel_all", "", "  \n"},    // whitespace is no body
	} {
		if a := post(tc.name, tc.ct, tc.body); a.status != http.StatusAccepted {
			t.Errorf("%s with Content-Type %q and body %q: %d %s, want 202", tc.name, tc.ct, tc.body, a.status, a.raw)
		}
	}
	if n := len(e.sub.all()); n != 6 {
		t.Errorf("%d commands reached Submit, want the 6 accepted", n)
	}
}

func TestAddingACommandIsOneLine(t *testing.T) {
	e := newEnv(t, Options{})
	e.g.HandleCommand("orders.cancel_all", RoleViewer, Args[AgentArgs]()) // raised to trader
	if a := e.call(t, "POST", "/api/v1/commands/orders.cancel_all", e.viewer, `{"agent":"a"}`); a.status != 403 {
		t.Errorf("viewer: %d", a.status)
	}
	if a := e.call(t, "POST", "/api/v1/commands/orders.cancel_all", e.trader, `{"agent":"a"}`); a.status != 202 {
		t.Errorf("trader: %d %s", a.status, a.raw)
	}
}

// FuzzCommandArgs: any body either decodes to arguments that pass their checks or is a
// *FieldError; nothing panics.
func FuzzCommandArgs(f *testing.F) {
	for _, seed := range []string{
		`{"model":"direction","dir":"models/v2","mode":"shadow"}`,
		`{"reason":"exchange down"}`, `{"agent":"mm_BTC-1"}`, `{}`, ``, `{"agent":1}`, `[`, `{"a":1} x`,
		`{"agent":""}`, `{"profile":"moderate","threshold":"0.05"}`, `{"mode":null}`,
	} {
		f.Add(seed)
	}
	decoders := []DecodeArgs{Args[DeployArgs](), Args[ModelArgs](), Args[KillSwitchArgs](), Args[NoArgs](), Args[AgentArgs](),
		Args[CancelAllArgs](), Args[RebalanceArgs]()}
	f.Fuzz(func(t *testing.T, body string) {
		for _, decode := range decoders {
			v, err := decode([]byte(body))
			if err != nil {
				var fe *FieldError
				if !errors.As(err, &fe) || !errors.Is(err, ErrBadCommand) {
					t.Fatalf("%q: error %v is not a FieldError", body, err)
				}
				continue
			}
			if _, err := json.Marshal(v); err != nil {
				t.Fatal(err)
			}
			if err := v.(Validator).Validate(); err != nil {
				t.Fatalf("%q: accepted args fail a second check: %v", body, err)
			}
		}
	})
}

func BenchmarkCommand(b *testing.B) {
	sub := &submitted{}
	g := New(NewHub(), Options{Open: true, Submit: sub.submit, Logger: slog.New(slog.DiscardHandler), CommandRate: 1e9, CommandBurst: 1 << 30})
	h := g.Handler()
	body := `{"model":"direction","dir":"models/v2","mode":"shadow"}`
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("POST", "/api/v1/commands/models.deploy", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := newDiscardWriter()
		h.ServeHTTP(w, req)
		if w.code != 202 {
			b.Fatal(w.code)
		}
		sub.cmds = sub.cmds[:0]
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func newDiscardWriter() *discardWriter               { return &discardWriter{h: http.Header{}} }
func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }
