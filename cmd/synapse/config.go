package main

import (
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/inference"
	"github.com/synapse-trading/synapse/streams"
)

// Config is the file given with --config (YAML). Flags override it; the environment supplies
// secrets. Every field has a sensible default, so no file is needed.
type Config struct {
	DataDir string `yaml:"data_dir"` // JetStream store of the embedded server (default ./data)
	HTTP    string `yaml:"http"`     // UI and API address (default 127.0.0.1:8080)
	// HTTPOrigins are the other origins whose pages may open the websocket (the UI's own
	// always may): host patterns such as "dash.example.com", "*.example.com",
	// "localhost:5173" (--http-origin). See checkOrigins.
	HTTPOrigins []string `yaml:"http_origins"`
	// DatabaseURL is the Postgres of the read model (--database-url); empty: in memory.
	DatabaseURL string `yaml:"database_url"`
	NATS        struct {
		Listen string             `yaml:"listen"` // TCP listener for bots, off by default
		URL    string             `yaml:"url"`    // external NATS instead of the embedded one
		Reader streams.Credential `yaml:"reader"` // read-only bot credential
		Trader streams.Credential `yaml:"trader"` // bot credential that may send commands
	} `yaml:"nats"`
	Replay []string `yaml:"replay"` // recorded files to replay; default: the bundled recordings
	// Correlations are symbol pairs ["venue:SYMBOL", "venue:SYMBOL"] whose rolling correlation
	// of 1m closes over CorrelationPeriod candles (default 20) is published on corr.>.
	Correlations      [][]string `yaml:"correlations"`
	CorrelationPeriod int        `yaml:"correlation_period"`
	Speed             string     `yaml:"speed"` // replay speed: 1 (real time), 60, max (default 60)
	// Agents are added to (or, by name, replace) the built-in ATLAS, ORION and NOVA; see
	// actors/agents.yaml for every field.
	Agents []actors.AgentConfig `yaml:"agents"`
	// Portfolio sets the allocation between the agents and its schedules.
	Portfolio PortfolioConfig `yaml:"portfolio"`
	// Inference tunes the batching actor (zero values: the defaults).
	Inference InferenceConfig `yaml:"inference"`
	// Orders configure live execution (agents with execution: live).
	Orders struct {
		Testnet   bool   `yaml:"testnet"`    // Binance's spot testnet
		RESTURL   string `yaml:"rest_url"`   // default: Binance (or its testnet)
		StreamURL string `yaml:"stream_url"` // Binance WebSocket API URL (user-data stream)
	} `yaml:"orders"`
	Live struct {
		Enabled bool     `yaml:"enabled"`
		Venue   string   `yaml:"venue"`   // binance (spot, default) or binance-um (USDⓈ-M futures)
		Symbols []string `yaml:"symbols"` // e.g. [BTCUSDT, ETHUSDT]
		RESTURL string   `yaml:"rest_url"`
		WSURL   string   `yaml:"ws_url"`
	} `yaml:"live"`
}

func defaultConfig() Config {
	var c Config
	c.DataDir = "./data"
	c.HTTP = "127.0.0.1:8080"
	c.Speed = "60"
	c.Live.Symbols = []string{"BTCUSDT", "ETHUSDT"}
	return c
}

// loadConfig reads path (if any) over the defaults, then the environment's secrets.
var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

func loadConfig(path string) (Config, error) {
	c := defaultConfig()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("reading config: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			// yaml names Go types ("field x not found in type main.Config"); a user wrote keys.
			msg := unknownField.ReplaceAllString(err.Error(), `unknown key "$1"`)
			return c, fmt.Errorf("config %s: %s (see README.md, Configuration, for the keys)", path, msg)
		}
	}
	if v := os.Getenv("SYNAPSE_NATS_READER_USER"); v != "" {
		c.NATS.Reader.User = v
	}
	if v := os.Getenv("SYNAPSE_NATS_READER_PASSWORD"); v != "" {
		c.NATS.Reader.Password = v
	}
	if v := os.Getenv("SYNAPSE_NATS_TRADER_USER"); v != "" {
		c.NATS.Trader.User = v
	}
	if v := os.Getenv("SYNAPSE_NATS_TRADER_PASSWORD"); v != "" {
		c.NATS.Trader.Password = v
	}
	return c, nil
}

// checkOrigins checks the websocket origin patterns of name (http_origins or --http-origin):
// each is matched (path.Match) against the host[:port] of a page's Origin header, so a
// scheme or a path would never match, and a malformed pattern would fail every handshake.
func checkOrigins(name string, patterns []string) error {
	for _, p := range patterns {
		if strings.Contains(p, "://") || strings.Contains(p, "/") {
			return fmt.Errorf("%s: %q: give the origin's host, and port if not the default, without scheme or path (e.g. dash.example.com, *.example.com, localhost:5173)", name, p)
		}
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("%s: %q: %v (patterns as in path.Match: * and ? wildcards)", name, p, err)
		}
	}
	return nil
}

// agents returns the built-in agents with the configured ones laid over them, parsed.
func (c Config) agents() ([]*actors.Agent, error) {
	builtin, err := actors.BuiltinAgents()
	if err != nil {
		return nil, err
	}
	for i, a := range c.Agents { // a name twice would leave one of them out without a word
		for _, b := range c.Agents[:i] {
			if strings.EqualFold(a.Name, b.Name) {
				return nil, fmt.Errorf("config: agents: %q is named twice; an agent named like a built-in one replaces it whole", a.Name)
			}
		}
	}
	var out []*actors.Agent
	for _, ac := range actors.MergeAgents(builtin, c.Agents) {
		a, err := actors.ParseAgent(ac)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}

// pairs reads the correlations of the config.
func (c Config) pairs() ([]actors.Pair, error) {
	var out []actors.Pair
	for _, p := range c.Correlations {
		if len(p) != 2 {
			return nil, fmt.Errorf("correlations: %v is not a pair [venue:SYMBOL, venue:SYMBOL]", p)
		}
		a, err := actors.ParseSymbolRef(p[0])
		if err != nil {
			return nil, fmt.Errorf("correlations: %w", err)
		}
		b, err := actors.ParseSymbolRef(p[1])
		if err != nil {
			return nil, fmt.Errorf("correlations: %w", err)
		}
		out = append(out, actors.Pair{A: a, B: b})
	}
	return out, nil
}

// InferenceConfig tunes the batching actor that serves the models.
type InferenceConfig struct {
	MaxBatch int           `yaml:"max_batch"` // most rows in one ONNX Runtime run (default 64)
	MaxWait  time.Duration `yaml:"max_wait"`  // window policy: how long the oldest request waits for a fuller batch (default 2ms)
	Policy   string        `yaml:"policy"`    // adaptive (default) or window
	Deadline time.Duration `yaml:"deadline"`  // a request not run by then is dropped and counted (default 2s)
	QueueCap int           `yaml:"queue_cap"` // most requests waiting per model (default 4096)
	InFlight int           `yaml:"in_flight"` // batches of one model running at once (default 1)
}

// batcher checks the section and returns the batching actor's options and the requests'
// deadline.
func (c InferenceConfig) batcher() (inference.BatcherOptions, time.Duration, error) {
	o := inference.BatcherOptions{MaxBatch: c.MaxBatch, MaxWait: c.MaxWait, QueueCap: c.QueueCap, InFlight: c.InFlight}
	switch c.Policy {
	case "", "adaptive":
		o.Policy = inference.PolicyAdaptive
	case "window":
		o.Policy = inference.PolicyWindow
	default:
		return o, 0, fmt.Errorf("inference.policy %q: adaptive or window", c.Policy)
	}
	switch {
	case c.MaxBatch < 0 || c.MaxBatch > 4096:
		return o, 0, fmt.Errorf("inference.max_batch %d: between 1 and 4096 (0: the default, 64)", c.MaxBatch)
	case c.MaxWait < 0 || c.MaxWait > time.Second:
		return o, 0, fmt.Errorf("inference.max_wait %s: between 0 (the default, 2ms) and 1s", c.MaxWait)
	case c.Deadline < 0 || c.Deadline > time.Hour:
		return o, 0, fmt.Errorf("inference.deadline %s: between 0 (the default, 2s) and 1h", c.Deadline)
	case c.QueueCap < 0 || c.QueueCap > 1<<20:
		return o, 0, fmt.Errorf("inference.queue_cap %d: between 1 and 1048576 (0: the default, 4096)", c.QueueCap)
	case c.InFlight < 0 || c.InFlight > 16:
		return o, 0, fmt.Errorf("inference.in_flight %d: between 1 and 16 (0: the default, 1)", c.InFlight)
	}
	return o, c.Deadline, nil
}
