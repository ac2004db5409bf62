package actors

import (
	"cmp"
	_ "embed"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/govalues/decimal"
	"gopkg.in/yaml.v3"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

//go:embed agents.yaml
var builtinAgents []byte

// AgentConfig is one agent: a risk profile as configuration. The built-in ATLAS, ORION and
// NOVA are in agents.yaml; users add or override agents in the config file.
type AgentConfig struct {
	Name    string `yaml:"name" json:"name"`
	Profile string `yaml:"profile" json:"profile"` // conservative, moderate, aggressive: a label
	Capital string `yaml:"capital" json:"capital"` // in Quote
	// Quote is the asset the capital is in: USD (the default: USDT, USDC, FDUSD, BUSD and
	// TUSD count as one) or an asset such as BTC. The agent trades only symbols quoted in it,
	// so that one ledger never adds up two currencies; a symbol whose quote asset cannot be
	// told (streams.SplitSymbol) is traded as if it were quoted in it.
	Quote string `yaml:"quote" json:"quote,omitempty"`
	// Execution is paper (the paper exchange fills against market data) or live (the
	// Binance adapter).
	Execution string `yaml:"execution" json:"execution"`
	// Models are the models whose signals the agent follows (default: ensemble).
	Models []string `yaml:"models" json:"models"`
	// Symbols it trades, as venue:SYMBOL or SYMBOL (any venue); empty: every symbol.
	Symbols []string `yaml:"symbols" json:"symbols"`
	// The signal thresholds. Models differ in their base rates (a take-profit-before-stop
	// probability of 0.2 may be high, a direction probability of 0.5 is none), so by default
	// an agent compares a signal's probability with the distribution of the last Window
	// probabilities of the same model and symbol: long at or above the BuyQuantile, flat at
	// or below the SellQuantile. With no quantiles set, BuyAbove and SellBelow are absolute
	// probabilities instead.
	BuyQuantile      float64 `yaml:"buy_quantile" json:"buy_quantile,omitempty"`
	SellQuantile     float64 `yaml:"sell_quantile" json:"sell_quantile,omitempty"`
	Window           int     `yaml:"window" json:"window,omitempty"` // signals; default 240
	BuyAbove         float64 `yaml:"buy_above" json:"buy_above,omitempty"`
	SellBelow        float64 `yaml:"sell_below" json:"sell_below,omitempty"`
	MinConfidence    float64 `yaml:"min_confidence" json:"min_confidence"`
	PositionFraction string  `yaml:"position_fraction" json:"position_fraction"`
	Cooldown         string  `yaml:"cooldown" json:"cooldown"`
	MaxDrawdown      string  `yaml:"max_drawdown" json:"max_drawdown"`
	// QtyDecimals is the quantity step of its orders (default 5: 0.00001).
	QtyDecimals int `yaml:"qty_decimals" json:"qty_decimals"`
	// MinNotional: orders worth less are not sent (default about Binance's minimum in the
	// quote asset: 10 USD, 0.0001 BTC, 0.001 ETH, 0.01 BNB, 100 TRY; otherwise none).
	MinNotional string     `yaml:"min_notional" json:"min_notional"`
	Risk        RiskConfig `yaml:"risk" json:"risk"`
}

// RiskConfig are an agent's pre-trade limits, checked by the risk gate.
type RiskConfig struct {
	MaxOrderNotional    string `yaml:"max_order_notional" json:"max_order_notional"`
	MaxPositionNotional string `yaml:"max_position_notional" json:"max_position_notional"`
	MaxOpenOrders       int    `yaml:"max_open_orders" json:"max_open_orders"`
	PriceBand           string `yaml:"price_band" json:"price_band"`
	OrdersPerMinute     int    `yaml:"orders_per_minute" json:"orders_per_minute"`
}

// Agent is an AgentConfig checked and parsed.
type Agent struct {
	AgentConfig
	capital, fraction, maxDrawdown, minNotional decimal.Decimal
	cooldown                                    int64 // ms
	symbols                                     []SymbolRef
	anyVenue                                    []string
	limits                                      Limits
}

// Limits are parsed risk limits: the risk gate's pre-trade checks (AgentConfig.Risk with its
// defaults filled in), shown in AgentView as exact decimal strings.
type Limits struct {
	MaxOrderNotional    decimal.Decimal `json:"max_order_notional"`    // one order's qty × price, in the quote asset
	MaxPositionNotional decimal.Decimal `json:"max_position_notional"` // |position| × last price after the order
	PriceBand           decimal.Decimal `json:"price_band"`            // a fraction of the last trade
	MaxOpenOrders       int             `json:"max_open_orders"`
	OrdersPerMinute     int             `json:"orders_per_minute"`
}

// BuiltinAgents returns ATLAS, ORION and NOVA.
func BuiltinAgents() ([]AgentConfig, error) {
	var out []AgentConfig
	if err := yaml.Unmarshal(builtinAgents, &out); err != nil {
		return nil, fmt.Errorf("built-in agents: %w", err)
	}
	return out, nil
}

// MergeAgents lays configured agents over the built-in ones: an agent with a built-in's
// name replaces it, others are added.
func MergeAgents(builtin, configured []AgentConfig) []AgentConfig {
	out := slices.Clone(builtin)
	for _, c := range configured {
		i := slices.IndexFunc(out, func(a AgentConfig) bool { return strings.EqualFold(a.Name, c.Name) })
		if i >= 0 {
			out[i] = c
		} else {
			out = append(out, c)
		}
	}
	return out
}

// ParseAgent checks an agent's configuration; errors name the agent and the field.
func ParseAgent(c AgentConfig) (*Agent, error) {
	a := &Agent{AgentConfig: c}
	bad := func(field string, err any) (*Agent, error) {
		return nil, fmt.Errorf("agent %q: %s: %v", c.Name, field, err)
	}
	if c.Name == "" || !isAgentName(c.Name) {
		return bad("name", "must be letters, digits, - or _")
	}
	if reserved[strings.ToLower(c.Name)] {
		return bad("name", "is reserved")
	}
	if a.Execution == "" {
		a.Execution = "paper"
	}
	if a.Execution != "paper" && a.Execution != "live" {
		return bad("execution", fmt.Sprintf("%q: paper or live", a.Execution))
	}
	if len(a.Models) == 0 {
		a.Models = []string{"ensemble"}
	}
	a.Quote = strings.ToUpper(strings.TrimSpace(a.Quote))
	if a.Quote == "" {
		a.Quote = "USD"
	}
	if !isAgentName(a.Quote) || strings.ContainsAny(a.Quote, "-_") {
		return bad("quote", fmt.Sprintf("%q is not an asset like USD or BTC", c.Quote))
	}
	dec := func(field, s, def string, dst *decimal.Decimal, positive bool) error {
		if s == "" {
			s = def
		}
		d, err := streams.ParseDecimal(s)
		if err != nil || d.IsNeg() || positive && d.IsZero() {
			return fmt.Errorf("agent %q: %s: %q is not a positive decimal", c.Name, field, s)
		}
		*dst = d
		return nil
	}
	for _, f := range []struct {
		field, s, def string
		dst           *decimal.Decimal
	}{
		{"capital", c.Capital, "10000", &a.capital},
		{"position_fraction", c.PositionFraction, "0.1", &a.fraction},
		{"max_drawdown", c.MaxDrawdown, "0.1", &a.maxDrawdown},
		{"min_notional", c.MinNotional, minNotionalOf(a.Quote), &a.minNotional},
		{"risk.max_order_notional", c.Risk.MaxOrderNotional, "1000", &a.limits.MaxOrderNotional},
		{"risk.max_position_notional", c.Risk.MaxPositionNotional, "2000", &a.limits.MaxPositionNotional},
		{"risk.price_band", c.Risk.PriceBand, "0.02", &a.limits.PriceBand},
	} {
		if err := dec(f.field, f.s, f.def, f.dst, true); err != nil {
			return nil, err
		}
	}
	if a.fraction.Cmp(decimal.One) > 0 || a.maxDrawdown.Cmp(decimal.One) >= 0 {
		return bad("position_fraction/max_drawdown", "must be below 1")
	}
	switch {
	case c.BuyQuantile != 0 || c.SellQuantile != 0:
		if c.BuyQuantile <= 0.5 || c.BuyQuantile > 1 || c.SellQuantile < 0 || c.SellQuantile >= c.BuyQuantile {
			return bad("buy_quantile/sell_quantile", fmt.Sprintf("need 0 ≤ sell_quantile < buy_quantile ≤ 1 and buy_quantile > 0.5, have %g and %g", c.SellQuantile, c.BuyQuantile))
		}
		if a.Window == 0 {
			a.Window = 240
		}
		if a.Window < 10 || a.Window > 100_000 {
			return bad("window", fmt.Sprintf("%d signals: 10 to 100000", a.Window))
		}
	case c.BuyAbove <= 0 || c.BuyAbove > 1 || c.SellBelow < 0 || c.SellBelow >= c.BuyAbove:
		return bad("buy_above/sell_below", fmt.Sprintf("need 0 ≤ sell_below < buy_above ≤ 1 (or buy_quantile and sell_quantile), have %g and %g", c.SellBelow, c.BuyAbove))
	}
	if c.MinConfidence < 0 || c.MinConfidence > 1 {
		return bad("min_confidence", "must be in [0, 1]")
	}
	if c.Cooldown == "" {
		c.Cooldown = "5m"
	}
	d, err := time.ParseDuration(c.Cooldown)
	if err != nil || d < 0 {
		return bad("cooldown", fmt.Sprintf("%q is not a duration like 10m", c.Cooldown))
	}
	a.cooldown = d.Milliseconds()
	if a.QtyDecimals == 0 {
		a.QtyDecimals = 5
	}
	if a.QtyDecimals < 0 || a.QtyDecimals > 12 {
		return bad("qty_decimals", "must be 0..12")
	}
	a.limits.MaxOpenOrders, a.limits.OrdersPerMinute = c.Risk.MaxOpenOrders, c.Risk.OrdersPerMinute
	if a.limits.MaxOpenOrders <= 0 {
		a.limits.MaxOpenOrders = 4
	}
	if a.limits.OrdersPerMinute <= 0 {
		a.limits.OrdersPerMinute = 10
	}
	for _, s := range c.Symbols {
		if !strings.Contains(s, ":") {
			if err := streams.CheckSymbol(s); err != nil {
				return bad("symbols", err)
			}
			a.anyVenue = append(a.anyVenue, strings.ToUpper(s))
			continue
		}
		ref, err := ParseSymbolRef(s)
		if err != nil {
			return bad("symbols", err)
		}
		a.symbols = append(a.symbols, ref)
	}
	return a, nil
}

// reserved names cannot be agents: they name other things under pf.>.
var reserved = map[string]bool{"risk": true, "desk": true, "total": true}

func isAgentName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return len(s) <= 32
}

// Trades reports whether the agent trades venue/symbol.
func (a *Agent) Trades(venue, symbol string) bool {
	if len(a.symbols) == 0 && len(a.anyVenue) == 0 {
		return true
	}
	return slices.Contains(a.anyVenue, symbol) || slices.Contains(a.symbols, SymbolRef{Venue: venue, Symbol: symbol})
}

// minNotionals are the default smallest orders per quote asset, about Binance's own
// minimums (10 USDT, 0.0001 BTC, ...); an asset not listed has next to none.
var minNotionals = map[string]string{"USD": "10", "EUR": "10", "BTC": "0.0001", "ETH": "0.001", "BNB": "0.01", "TRY": "100"}

// minNotionalOf is the default smallest order in quote asset q: a USD stablecoin's is USD's.
func minNotionalOf(q string) string {
	if slices.Contains(usdStablecoins, q) {
		q = "USD"
	}
	return cmp.Or(minNotionals[q], "0.00000001")
}

// usdStablecoins are the quote assets an agent whose capital is in USD trades.
var usdStablecoins = []string{"USDT", "USDC", "FDUSD", "BUSD", "TUSD"}

// QuotedIn reports whether symbol is quoted in the agent's quote asset, and names the
// symbol's quote asset ("" when it cannot be told: then it counts as quoted in it).
func (a *Agent) QuotedIn(symbol string) (ok bool, quote string) {
	_, quote, known := streams.SplitSymbol(symbol)
	switch {
	case !known:
		return true, ""
	case a.Quote == "USD":
		return slices.Contains(usdStablecoins, quote), quote
	}
	return quote == a.Quote, quote
}

// Follows reports whether the agent acts on the model's signals.
func (a *Agent) Follows(model string) bool { return slices.Contains(a.Models, model) }

// Capital is the agent's starting capital.
func (a *Agent) Capital() decimal.Decimal { return a.capital }

// Limits returns the agent's risk limits.
func (a *Agent) Limits() Limits { return a.limits }

// AgentView is what an agent shows (the UI's "agent/<NAME>" topic and the agents query).
type AgentView struct {
	Name      string               `json:"name"`
	Profile   string               `json:"profile"`
	Execution string               `json:"execution"`
	Models    []string             `json:"models"`
	State     streams.AgentState   `json:"state"`
	Reason    string               `json:"reason,omitempty"`
	Totals    portfolio.Totals     `json:"totals"`
	Positions []portfolio.Position `json:"positions"`
	Open      int                  `json:"open_orders"`
	Signals   int64                `json:"signals"`
	Intents   int64                `json:"intents"`
	Fills     int64                `json:"fills"`
	Rejected  int64                `json:"rejected"`
	LastOrder *streams.OrderEvent  `json:"last_order,omitempty"`
	EventTime int64                `json:"event_time"`
	// MaxDrawdown is the deepest drawdown seen (marked on 1m closes and fills).
	MaxDrawdown decimal.Decimal `json:"max_drawdown"`
	// Curve is the equity at the first mark of each hour of market time (the last
	// curvePoints hours).
	Curve []CurvePoint `json:"curve"`
	// Limits are its risk limits, as configured with the defaults filled in, and
	// DrawdownHalt the drawdown at which it halts itself (its max_drawdown): the UI shows
	// them beside the usage above.
	Limits       Limits          `json:"limits"`
	DrawdownHalt decimal.Decimal `json:"drawdown_halt"`
}

// CurvePoint is one point of an equity curve.
type CurvePoint struct {
	Time   int64           `json:"time"` // epoch ms
	Equity decimal.Decimal `json:"equity"`
}

// curvePoints bounds an agent's equity curve: about five weeks of hours.
const curvePoints = 840

// appendCurve adds a point to an equity curve, which keeps its last curvePoints.
func appendCurve(curve []CurvePoint, p CurvePoint) []CurvePoint {
	if len(curve) == curvePoints {
		curve = append(curve[:0], curve[1:]...)
	}
	return append(curve, p)
}

// AgentTopic is the UI topic of an agent.
func AgentTopic(name string) string { return "agent/" + name }

// The messages an agent actor handles besides signals, features and order reports.
type (
	// agentSetState changes the agent's state (a command or the kill switch). Cancel asks
	// for its open orders to be canceled; Flatten for its positions to be closed.
	agentSetState struct {
		State           streams.AgentState
		Reason, Cause   string
		CommandSeq      uint64
		Time            int64
		Cancel, Flatten bool
	}
	// agentRestore hands a restarted agent the state rebuilt from the log.
	agentRestore struct {
		Account *portfolio.Account
		State   streams.AgentState
		Reason  string
		Open    map[string]*portfolio.Order // by client order ID
		Last    map[[2]string]int64         // last order time per venue/symbol
		Now     int64                       // market time of its newest event on the log
		View    AgentView                   // its counts, last order and equity curve as the log tells them
	}
)

// agentActor turns the signals of the models it follows into order intents, and keeps its
// account from the fills. It decides in market time only (the signal's candle), never by
// the wall clock, so a backtest and a replay decide exactly as live trading would.
type agentActor struct {
	cfg     *Agent
	desk    *Desk
	account *portfolio.Account
	state   streams.AgentState
	reason  string
	marks   map[[2]string]decimal.Decimal // last 1m close per venue/symbol
	open    map[string]*portfolio.Order   // orders not terminal, by client order ID
	last    map[[2]string]int64           // market time of the last intent per venue/symbol
	now     int64                         // newest market time seen
	// restored is the market time of the agent's newest event on the log when it was
	// rebuilt: signals and closes up to it are the log replaying decisions already taken.
	restored int64
	// peak is the newest peak on the log (streams.Peak or a capital move's equity): a
	// ledger's peak above it is recorded before the agent goes on.
	peak  decimal.Decimal
	dists map[[3]string]*distribution // recent probabilities per model, venue, symbol
	// otherQuote holds the symbols it was sent signals of and does not trade: quoted in
	// another asset than its capital.
	otherQuote map[string]bool
	view       AgentView
	shown      time.Time
	dirty      bool // changed since last shown
	ticker     actor.SendRepeater
}

func newAgentActor(cfg *Agent, desk *Desk) actor.Producer {
	return func() actor.Receiver {
		return &agentActor{cfg: cfg, desk: desk, account: portfolio.NewAccount(cfg.Name, cfg.capital), peak: cfg.capital, state: streams.AgentActive,
			marks: map[[2]string]decimal.Decimal{}, open: map[string]*portfolio.Order{}, last: map[[2]string]int64{}, dists: map[[3]string]*distribution{}, otherQuote: map[string]bool{},
			view: AgentView{Name: cfg.Name, Profile: cfg.Profile, Execution: cfg.Execution, Models: cfg.Models, Limits: cfg.limits, DrawdownHalt: cfg.maxDrawdown}}
	}
}

func (a *agentActor) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		a.show(true)
		a.ticker = c.SendRepeat(c.PID(), agentTick{}, 250*time.Millisecond)
		return
	case agentTick: // shows a state that changed since it was last shown
		if a.dirty {
			a.show(true)
		}
		return
	case *streams.Feature:
		a.mark(msg)
		a.desk.add(-1) // sent by a symbol actor (SymbolOptions.InFlight), not through the desk
		return
	case *streams.Signal:
		a.signal(msg)
		a.show(false)
	case orderReport:
		a.report(msg.Event)
	case agentSetState:
		a.setState(msg)
	case agentHoldingAsk:
		c.Respond(a.holding())
	case agentMove:
		c.Respond(a.moveCapital(msg.Move))
	case agentRestore:
		a.account, a.state, a.reason, a.open, a.last = msg.Account, msg.State, msg.Reason, msg.Open, msg.Last
		a.view.Intents, a.view.Fills, a.view.Rejected, a.view.LastOrder = msg.View.Intents, msg.View.Fills, msg.View.Rejected, msg.View.LastOrder
		a.view.Curve, a.view.MaxDrawdown = msg.View.Curve, msg.View.MaxDrawdown
		a.restored, a.now, a.peak = msg.Now, max(a.now, msg.Now), msg.Account.Peak
		a.show(true)
	case actor.Stopped:
		a.ticker.Stop()
		a.show(true)
		return
	default:
		return
	}
	a.desk.done(c.PID())
}

// agentTick makes an agent show a state that changed since it was last shown.
type agentTick struct{}

// mark values the account at the close of the symbol's newest 1m candle and halts the agent
// when its drawdown reaches the limit.
func (a *agentActor) mark(f *streams.Feature) {
	if f.Interval != "1m" {
		return
	}
	k := [2]string{f.Venue, f.Symbol}
	a.marks[k] = f.Close
	t := f.OpenTime + 60_000
	if t > a.now {
		a.now = t
	}
	if t <= a.restored {
		// The log replaying what this agent already lived through: its ledger, rebuilt to the
		// end, takes the price (for its value now) but no peak of then. No halt, no snapshot.
		a.account.Reprice(f.Venue, f.Symbol, f.Close)
		return
	}
	if a.account.Mark(f.Venue, f.Symbol, f.Close) {
		a.recordPeak()
		a.checkDrawdown()
	}
	a.sample()
	a.show(false)
}

// recordPeak puts a peak of the ledger above the one on the log on the log (pf.<agent>.peak),
// so that a restart measures the drawdown from the same peak. A failed write is a problem
// counted, and retried at the next mark or fill.
func (a *agentActor) recordPeak() {
	if a.account.Peak.Cmp(a.peak) <= 0 {
		return
	}
	if err := a.desk.record(&streams.Peak{Agent: a.cfg.Name, Peak: a.account.Peak, Time: a.now}); err != nil {
		a.desk.problem("agent "+a.cfg.Name+": recording its peak", err)
		return
	}
	a.peak = a.account.Peak
}

// sample keeps the equity curve and the deepest drawdown.
func (a *agentActor) sample() {
	tot := a.account.Totals()
	if tot.Drawdown.Cmp(a.view.MaxDrawdown) > 0 {
		a.view.MaxDrawdown = tot.Drawdown
	}
	hour := a.now - a.now%3_600_000
	if n := len(a.view.Curve); n == 0 || a.view.Curve[n-1].Time < hour {
		a.view.Curve = appendCurve(a.view.Curve, CurvePoint{Time: hour, Equity: tot.Equity})
		snap := &streams.EquitySnapshot{Agent: a.cfg.Name, Time: hour, Capital: tot.Capital, Cash: tot.Cash, Equity: tot.Equity,
			Exposure: tot.Exposure, Realized: tot.Realized, Unrealized: tot.Unrealized, Fees: tot.Fees, Drawdown: tot.Drawdown,
			MarkTime: a.now}
		for _, p := range a.account.Positions() { // sorted by venue and symbol
			if !p.Qty.IsZero() {
				snap.Marks = append(snap.Marks, streams.Mark{Venue: p.Venue, Symbol: p.Symbol, Price: p.Mark})
			}
		}
		if err := a.desk.record(snap); err != nil {
			a.desk.problem("agent "+a.cfg.Name+": recording its equity", err)
		}
	}
}

func (a *agentActor) checkDrawdown() {
	if a.state == streams.AgentHalted {
		return
	}
	tot := a.account.Totals()
	if tot.Drawdown.Cmp(a.cfg.maxDrawdown) < 0 {
		return
	}
	pct, _ := tot.Drawdown.Mul(decimal.Hundred)
	limit, _ := a.cfg.maxDrawdown.Mul(decimal.Hundred)
	a.setState(agentSetState{State: streams.AgentHalted, Cause: fmt.Sprintf("drawdown.%d", a.now), Time: a.now, Cancel: true,
		Reason: fmt.Sprintf("max drawdown %s%% reached: equity %s is %s%% below its peak %s", limit.Trim(2), tot.Equity.Round(2), pct.Round(2), tot.Peak.Round(2))})
}

// signal decides a target position for the signal's symbol and sends the order that moves
// the position there, if any.
func (a *agentActor) signal(sig *streams.Signal) {
	if sig.Shadow || !a.cfg.Follows(sig.Model) || !a.cfg.Trades(sig.Venue, sig.Symbol) {
		return
	}
	if ok, quote := a.cfg.QuotedIn(sig.Symbol); !ok {
		if !a.otherQuote[sig.Symbol] { // said once per symbol
			a.otherQuote[sig.Symbol] = true
			a.desk.problem("agent "+a.cfg.Name, fmt.Errorf("%s is quoted in %s and the agent's capital in %s: it does not trade it (set quote: %s in the agent's config to trade %s-quoted symbols instead)",
				sig.Symbol, quote, a.cfg.Quote, quote, quote))
		}
		return
	}
	a.view.Signals++
	p := sig.Prediction["probability"]
	buyAt, sellAt, ready := a.cfg.BuyAbove, a.cfg.SellBelow, true
	if a.cfg.Window > 0 {
		d := a.dists[[3]string{sig.Model, sig.Venue, sig.Symbol}]
		if d == nil {
			d = &distribution{size: a.cfg.Window}
			a.dists[[3]string{sig.Model, sig.Venue, sig.Symbol}] = d
		}
		buyAt, sellAt = d.quantile(a.cfg.BuyQuantile), d.quantile(a.cfg.SellQuantile)
		ready = d.len() >= min(a.cfg.Window, 60)
		d.add(p)
	}
	t := sig.FeatureTime + 60_000 // the features were known when the candle closed
	if t > a.now {
		a.now = t
	}
	if t <= a.restored {
		return // decided before the restart: the log already holds what came of it
	}
	if a.state == streams.AgentHalted {
		return
	}
	k := [2]string{sig.Venue, sig.Symbol}
	price, ok := a.marks[k]
	if !ok {
		return
	}
	for _, o := range a.open {
		if o.Venue == sig.Venue && o.Symbol == sig.Symbol {
			return // one order at a time per symbol
		}
	}
	if last, ok := a.last[k]; ok && t-last < a.cfg.cooldown {
		return
	}
	pos := a.account.Position(sig.Venue, sig.Symbol).Qty
	target := pos
	switch {
	case a.state == streams.AgentReducing:
		target = decimal.Decimal{}
	case !ready:
		return
	case p >= buyAt && sig.Confidence >= a.cfg.MinConfidence:
		notional, err := a.account.Totals().Equity.Mul(a.cfg.fraction)
		if err != nil {
			return
		}
		if target, err = notional.Quo(price); err != nil {
			return
		}
		target = target.Trunc(a.cfg.QtyDecimals)
		if target.Cmp(pos) < 0 {
			target = pos // a higher probability never sells
		}
	case p <= sellAt:
		target = decimal.Decimal{}
	}
	reason := fmt.Sprintf("%s %s p=%.4f (long at ≥ %.4f, flat at ≤ %.4f) confidence=%.4f", sig.Model, sig.Version, p, buyAt, sellAt, sig.Confidence)
	a.order(sig.Venue, sig.Symbol, target, price, t, sig.ID(), reason, sig.Emitted)
}

// order sends the intent that moves the position in venue/symbol to target. signaled is when
// the signal it acts on was emitted (zero: no signal), timed to the intent (signal_to_intent).
func (a *agentActor) order(venue, symbol string, target, price decimal.Decimal, t int64, key, reason string, signaled time.Time) {
	pos := a.account.Position(venue, symbol).Qty
	diff, err := target.Sub(pos)
	if err != nil || diff.IsZero() {
		return
	}
	side := streams.Buy
	if diff.IsNeg() {
		side = streams.Sell
	}
	qty := diff.Abs().Trunc(a.cfg.QtyDecimals).Pad(a.cfg.QtyDecimals) // the venue fills in steps of this scale
	notional, err := qty.Mul(price)
	if err != nil || notional.Cmp(a.cfg.minNotional) < 0 {
		return
	}
	reduce := target.Abs().Cmp(pos.Abs()) < 0 && target.Sign()*pos.Sign() >= 0
	intent := &streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: streams.ClientOrderID(a.cfg.Name, venue, symbol, key),
		Agent: a.cfg.Name, Venue: venue, Symbol: symbol, Side: side, OrderType: streams.Market, Qty: qty, ReduceOnly: reduce,
		Reason: reason, Time: t}
	o, err := portfolio.NewOrder(intent)
	if err != nil {
		a.desk.problem("agent "+a.cfg.Name, err)
		return
	}
	stages := a.desk.opts.Stages
	stages.ObserveSince(StageSignalToIntent, signaled)
	start := time.Now()
	if err := a.desk.record(intent); err != nil { // on the log before the risk gate sees it
		a.desk.problem("agent "+a.cfg.Name+": recording an intent", err)
		return
	}
	stages.ObserveSince(StageIntentAck, start)
	a.open[o.ClientOrderID] = o
	a.last[[2]string{venue, symbol}] = t
	a.view.Intents++
	a.view.LastOrder = intent
	a.desk.toRisk(riskIntent{Order: o, Reference: price})
	a.show(false)
}

// report applies the fate of one of its orders: a fill moves the account.
func (a *agentActor) report(ev *streams.OrderEvent) {
	o, ok := a.open[ev.ClientOrderID]
	if !ok {
		if ev.Type != streams.OrderFill {
			return
		}
		// a fill of an order it no longer tracks (a late fill after a cancel, a bot's order)
		var err error
		if o, err = portfolio.NewOrder(&streams.OrderEvent{Type: streams.OrderIntent, ClientOrderID: ev.ClientOrderID, Agent: ev.Agent,
			Venue: ev.Venue, Symbol: ev.Symbol, Side: ev.Side, OrderType: ev.OrderType, Qty: ev.Qty, Price: ev.Price, Time: ev.Time}); err != nil {
			return
		}
	}
	applied, err := o.Apply(ev)
	if err != nil {
		a.desk.problem("agent "+a.cfg.Name, err)
		return
	}
	if ev.Time > a.now {
		a.now = ev.Time
	}
	switch ev.Type {
	case streams.OrderFill:
		if applied {
			if err := a.account.Fill(ev); err != nil {
				a.desk.problem("agent "+a.cfg.Name, err)
			}
			a.view.Fills++
			a.recordPeak()
			a.checkDrawdown()
			a.sample()
		}
	case streams.OrderRejected:
		a.view.Rejected++
	}
	if o.Status.Terminal() {
		delete(a.open, o.ClientOrderID)
	}
	a.view.LastOrder = ev
	a.show(false)
}

// setState changes the agent's state. The event is stamped with the agent's market time:
// a command's wall-clock time would move a replaying agent's clock to today.
func (a *agentActor) setState(m agentSetState) {
	if m.State != a.state {
		ev := &streams.AgentEvent{Agent: a.cfg.Name, State: m.State, Previous: a.state, Reason: m.Reason, Time: a.now, Cause: m.Cause, CommandSeq: m.CommandSeq}
		tot := a.account.Totals()
		ev.Equity, ev.Drawdown = tot.Equity, tot.Drawdown
		if err := a.desk.record(ev); err != nil {
			a.desk.problem("agent "+a.cfg.Name+": recording its state", err)
			return
		}
		if a.state == streams.AgentHalted && m.State == streams.AgentActive {
			// Resumed after a halt: the drawdown is measured afresh, from the equity the event
			// on the log holds (a restart does the same).
			a.account.ResetPeak()
			a.peak = a.account.Peak
		}
		a.state, a.reason = m.State, m.Reason
		a.desk.agentState(ev)
	}
	if m.Cancel {
		for _, o := range a.open {
			a.desk.toRisk(riskCancel{ClientOrderID: o.ClientOrderID, Reason: m.Reason})
		}
	}
	if m.Flatten {
		for _, p := range a.account.Positions() {
			if price, ok := a.marks[[2]string{p.Venue, p.Symbol}]; ok && !p.Qty.IsZero() {
				a.order(p.Venue, p.Symbol, decimal.Decimal{}, price, a.now, "flatten."+m.Cause, "flatten: "+m.Reason, time.Time{})
			}
		}
	}
	a.show(true)
}

func (a *agentActor) show(force bool) {
	now := time.Now()
	if !force && now.Sub(a.shown) < 250*time.Millisecond {
		a.dirty = true // the next tick shows it
		return
	}
	a.shown, a.dirty = now, false
	v := a.view
	v.State, v.Reason, v.Open, v.EventTime = a.state, a.reason, len(a.open), a.now
	v.Totals, v.Positions = a.account.Totals(), a.account.Positions()
	v.Curve = slices.Clone(a.view.Curve) // the observer keeps it; the actor goes on appending
	a.desk.observe(AgentTopic(a.cfg.Name), v)
}

// distribution keeps the last size values in arrival order and sorted, for quantiles.
type distribution struct {
	size   int
	ring   []float64 // arrival order, the oldest at next when full
	next   int
	sorted []float64
}

func (d *distribution) len() int { return len(d.ring) }

func (d *distribution) add(x float64) {
	if math.IsNaN(x) {
		return
	}
	if len(d.ring) == d.size {
		old := d.ring[d.next]
		i, _ := slices.BinarySearch(d.sorted, old)
		d.sorted = slices.Delete(d.sorted, i, i+1)
		d.ring[d.next] = x
		d.next = (d.next + 1) % d.size
	} else {
		d.ring = append(d.ring, x)
	}
	i, _ := slices.BinarySearch(d.sorted, x)
	d.sorted = slices.Insert(d.sorted, i, x)
}

// quantile is the q-quantile of the values (the nearest rank); +Inf when there are none.
func (d *distribution) quantile(q float64) float64 {
	n := len(d.sorted)
	if n == 0 {
		return math.Inf(1)
	}
	i := int(math.Ceil(q*float64(n))) - 1
	return d.sorted[max(0, min(i, n-1))]
}
