package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/govalues/decimal"
	"github.com/nats-io/nats.go"

	"github.com/synapse-trading/synapse/portfolio"
	"github.com/synapse-trading/synapse/streams"
)

// The NATS request subjects on which bots submit and cancel orders. They are outside the
// ORD stream (a request there would be stored and answered by JetStream): the desk records
// the intent on ORD itself, and the intent goes through the same risk gate as an agent's.
// Publishing on them needs the trader credential.
const (
	SubjectSubmitOrder = "req.orders.submit"
	SubjectCancelOrder = "req.orders.cancel"
)

// BotOrder is the request on req.orders.submit. Key makes the order unique for the bot: the
// same agent, venue, symbol and key give the same client order ID, so a retried request is
// recognised, never doubled.
type BotOrder struct {
	Agent  string            `json:"agent"`
	Venue  string            `json:"venue"`
	Symbol string            `json:"symbol"`
	Side   streams.Side      `json:"side"`
	Type   streams.OrderType `json:"type"`
	Qty    decimal.Decimal   `json:"qty"`
	Price  decimal.Decimal   `json:"price,omitzero"`
	Key    string            `json:"key"`
}

// BotCancel is the request on req.orders.cancel.
type BotCancel struct {
	ClientOrderID string `json:"client_order_id"`
}

// BotReply answers both: status submitted, rejected (with the reason) or cancel_requested.
type BotReply struct {
	ClientOrderID string `json:"client_order_id,omitempty"`
	Status        string `json:"status"`
	Reason        string `json:"reason,omitempty"`
}

// ServeBots answers order requests from bots on nc until ctx ends. now gives the market
// time that stamps a bot's intent (the engine's newest event time).
func (d *Desk) ServeBots(ctx context.Context, nc *nats.Conn, now func() int64) error {
	reply := func(m *nats.Msg, r BotReply) {
		data, _ := json.Marshal(r)
		_ = m.Respond(data)
	}
	submit, err := nc.Subscribe(SubjectSubmitOrder, func(m *nats.Msg) {
		var req BotOrder
		if err := json.Unmarshal(m.Data, &req); err != nil {
			reply(m, BotReply{Status: "rejected", Reason: "bad request: " + err.Error()})
			return
		}
		reply(m, d.botOrder(req, now()))
	})
	if err != nil {
		return err
	}
	defer func() { _ = submit.Unsubscribe() }()
	cancel, err := nc.Subscribe(SubjectCancelOrder, func(m *nats.Msg) {
		var req BotCancel
		if err := json.Unmarshal(m.Data, &req); err != nil || req.ClientOrderID == "" {
			reply(m, BotReply{Status: "rejected", Reason: "bad request: need client_order_id"})
			return
		}
		d.sending(d.risk)
		res, err := d.engine.Request(d.risk, riskCancel{ClientOrderID: req.ClientOrderID, Reason: "canceled by a bot"}, 5*time.Second).Result()
		if err != nil {
			reply(m, BotReply{ClientOrderID: req.ClientOrderID, Status: "rejected", Reason: err.Error()})
			return
		}
		dec := res.(riskDecision)
		reply(m, BotReply(dec))
	})
	if err != nil {
		return err
	}
	defer func() { _ = cancel.Unsubscribe() }()
	<-ctx.Done()
	return nil
}

func (d *Desk) botOrder(req BotOrder, now int64) BotReply {
	agent := ""
	for name := range d.agents {
		if strings.EqualFold(name, req.Agent) {
			agent = name
		}
	}
	if agent == "" {
		return BotReply{Status: "rejected", Reason: fmt.Sprintf("agent: no agent %q", req.Agent)}
	}
	if req.Key == "" {
		return BotReply{Status: "rejected", Reason: "key: required (it makes a retried request idempotent)"}
	}
	if len(req.Key) > 128 {
		return BotReply{Status: "rejected", Reason: fmt.Sprintf("key: %d bytes, the most is 128", len(req.Key))}
	}
	if err := streams.CheckText(req.Key); err != nil {
		return BotReply{Status: "rejected", Reason: "key: " + err.Error()}
	}
	if req.Type == "" {
		req.Type = streams.Market
	}
	venue, symbol := strings.ToLower(req.Venue), strings.ToUpper(req.Symbol)
	d.sending(d.risk) // the risk actor counts it done
	known, err := d.engine.Request(d.risk, riskMarketKnown{Venue: venue, Symbol: symbol}, 5*time.Second).Result()
	if err != nil {
		return BotReply{Status: "rejected", Reason: err.Error()}
	}
	if !known.(bool) {
		return BotReply{Status: "rejected", Reason: fmt.Sprintf("venue, symbol: the engine has no market %s:%s (venues are binance and binance-um; the symbol must be one the engine trades and has a price of)", venue, symbol)}
	}
	intent := &streams.OrderEvent{Type: streams.OrderIntent, Agent: agent, Venue: venue, Symbol: symbol,
		Side: req.Side, OrderType: req.Type, Qty: req.Qty, Price: req.Price, Reason: "bot order " + req.Key, Source: "bot", Time: now}
	intent.ClientOrderID = streams.ClientOrderID(agent, intent.Venue, intent.Symbol, "bot."+req.Key)
	o, err := portfolio.NewOrder(intent)
	if err != nil {
		return BotReply{Status: "rejected", Reason: err.Error()}
	}
	d.sending(d.risk)
	seen, err := d.engine.Request(d.risk, riskSeen{ClientOrderID: o.ClientOrderID}, 5*time.Second).Result()
	if err != nil {
		return BotReply{Status: "rejected", Reason: err.Error()}
	}
	if seen.(bool) { // a retry: the same order, which went through the gate before
		return BotReply{ClientOrderID: o.ClientOrderID, Status: "submitted",
			Reason: "a retry of key " + req.Key + ": the order was submitted before (its events are on ord.>); nothing new was sent"}
	}
	if err := d.record(intent); err != nil {
		return BotReply{ClientOrderID: o.ClientOrderID, Status: "rejected", Reason: "the log refused the intent: " + err.Error()}
	}
	d.sending(d.risk)
	res, err := d.engine.Request(d.risk, riskIntent{Order: o}, 5*time.Second).Result()
	if err != nil {
		return BotReply{ClientOrderID: o.ClientOrderID, Status: "rejected", Reason: err.Error()}
	}
	dec := res.(riskDecision)
	return BotReply(dec)
}
