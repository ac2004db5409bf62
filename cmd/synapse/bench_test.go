package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/synapse-trading/synapse/benchmarks"
)

// A load tester's own deployment: an engine started separately on a NATS server of its own
// (an embedded one here on a random port, never the system one on 4222), measured by
// `synapse bench --nats-url` from outside. Tick-to-order times the engine's own agents'
// intents on the run's symbols; ingest writes into the engine's log, which the engine
// follows.
func TestBenchAgainstARunningEngine(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	defer ns.Shutdown()
	url := ns.ClientURL()
	addr, stop := runEngine(t, "--nats-url", url, "--data-dir", t.TempDir(), "--config", "../../benchmarks/engine.yaml",
		"--replay", recDir+"ETHUSDT-1m-2022-08-14.csv.gz", "--speed", "max")
	defer stop()

	results := func(args ...string) []benchmarks.Result {
		t.Helper()
		code, out, errs := synapse(t, append([]string{"bench"}, args...)...)
		if code != 0 {
			t.Fatalf("bench %s: exit %d: %s", strings.Join(args, " "), code, errs)
		}
		var rs []benchmarks.Result
		if err := json.Unmarshal([]byte(out), &rs); err != nil || len(rs) != 1 {
			t.Fatalf("bench %s printed %q (%v)", strings.Join(args, " "), out, err)
		}
		var table bytes.Buffer
		benchmarks.Print(&table, rs...)
		t.Logf("bench %s:\n%s", strings.Join(args, " "), table.String())
		return rs
	}
	r := results("tick-to-order", "--nats-url", url, "--json", "--rate", "2000", "--duration", "3s", "--symbols", "2")[0]
	if r.Latency == nil || r.Latency.Count == 0 || r.Extra["candles with an intent"] == 0 || r.Baseline.Value <= 0 {
		t.Fatalf("tick-to-order against the engine measured nothing: %+v", r)
	}
	if r.Extra["intents not matched to a candle"] != 0 {
		t.Fatalf("intents timed at no candle close: %v", r.Extra)
	}
	// The engine routed the run's symbols: they are among its symbols now.
	var symbols [][2]string
	if err := getJSON(addr, "/api/v1/queries/symbols", &symbols); err != nil {
		t.Fatal(err)
	}
	bench := 0
	for _, s := range symbols {
		if strings.HasPrefix(s[1], "BN") {
			bench++
		}
	}
	if bench != 2 {
		t.Fatalf("the engine follows %d of the run's 2 symbols: %v", bench, symbols)
	}

	r = results("replay", "--nats-url", url, "--json", "--klines", "20000")[0]
	if r.Figure.Value <= 0 || r.Baseline.Value <= 0 || r.Extra["klines"] != 20000 || r.Extra["1m features back"] < 20000 {
		t.Fatalf("replay against the engine: %+v", r)
	}

	// fanout: the clients on the engine's gateway (this engine runs with --no-auth)
	r = results("fanout", "--nats-url", url, "--http-url", "http://"+addr, "--json", "--clients", "20",
		"--rate", "2000", "--duration", "2s", "--symbols", "2")[0]
	if r.Latency == nil || r.Latency.Count == 0 || r.Extra["clients connected"] != 20 || r.Extra["clients closed by the gateway"] != 0 ||
		r.Extra["frames per client per second"] < 1 {
		t.Fatalf("fanout against the engine: %+v", r)
	}

	// What has no form against a running engine says so and why.
	code, _, errs := synapse(t, "bench", "recovery", "--nats-url", url)
	if code != 2 || !strings.Contains(errs, "drop --nats-url") || !strings.Contains(errs, "/readyz") {
		t.Fatalf("recovery --nats-url: exit %d: %s", code, errs)
	}

	r = results("ingest", "--nats-url", url, "--json", "--events", "20000")[0]
	if r.Figure.Value <= 0 || r.Baseline.Value <= 0 || r.Extra["events"] != 20000 {
		t.Fatalf("ingest against the engine: %+v", r)
	}
	// The scratch streams of the baselines are gone.
	code, out, _ := synapse(t, "tail", "bench.>", "--nats-url", url)
	if code == 0 && strings.TrimSpace(out) != "" {
		t.Fatalf("scratch records left on the engine's server: %s", out)
	}
}
