package streams_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/synapse-trading/synapse/streams"
)

// A bot in Go: connect to a running engine's bot listener with the read-only credential and
// print market data and signals as they are published. Against your own engine, start it with
//
//	SYNAPSE_NATS_READER_PASSWORD=... SYNAPSE_NATS_TRADER_PASSWORD=... synapse run --nats-listen 127.0.0.1:4223
//
// and connect to nats://127.0.0.1:4223 with user "reader". (This example starts its own
// engine log so that it runs as a test.)
func Example_bot() {
	engine, url, stop := startEngine()
	defer stop()

	// --- the bot ---
	nc, err := nats.Connect(url, nats.UserInfo("reader", os.Getenv("SYNAPSE_NATS_READER_PASSWORD")))
	if err != nil {
		fmt.Println("connect:", err)
		return
	}
	defer nc.Close()
	received := make(chan *nats.Msg, 16)
	for _, subject := range []string{"md.>", "sig.>"} {
		if _, err := nc.ChanSubscribe(subject, received); err != nil {
			fmt.Println("subscribe:", err)
			return
		}
	}
	_ = nc.Flush()

	// --- the engine publishes a closed candle ---
	publishKline(engine)

	msg := <-received
	ev, err := streams.Decode(msg.Subject, msg.Header, msg.Data)
	if err != nil {
		fmt.Println("decode:", err)
		return
	}
	k := ev.(*streams.Kline)
	fmt.Println(msg.Subject, msg.Header.Get(streams.HeaderSchema))
	fmt.Println(k.Symbol, time.UnixMilli(k.OpenTime).UTC().Format("15:04"), "close", k.Close)
	// Output:
	// md.binance.btcusdt.kline.1m kline/v1
	// BTCUSDT 23:54 close 61850.10
}

func startEngine() (*streams.Log, string, func()) {
	os.Setenv("SYNAPSE_NATS_READER_PASSWORD", "example-reader-secret")
	dir, _ := os.MkdirTemp("", "synapse-example-")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	l, err := streams.Open(context.Background(), streams.Options{DataDir: dir, Listen: addr,
		Reader: streams.Credential{User: "reader", Password: os.Getenv("SYNAPSE_NATS_READER_PASSWORD")},
		Trader: streams.Credential{User: "trader", Password: "example-trader-secret"}})
	if err != nil {
		panic(err)
	}
	return l, l.ClientURL(), func() { l.Close(); os.RemoveAll(dir) }
}

func publishKline(l *streams.Log) {
	var k streams.Kline
	_ = json.Unmarshal([]byte(`{"venue":"binance","symbol":"BTCUSDT","interval":"1m","open_time":1723161240000,"close_time":1723161299999,
		"open":"61837.63","high":"61900.00","low":"61800.01","close":"61850.10","volume":"12.5","quote_volume":"773126.25","trades":42,
		"taker_buy_volume":"6.25","taker_buy_quote_volume":"386563.125"}`), &k)
	_ = l.Publish(context.Background(), &k)
	_ = l.Flush(context.Background())
}
