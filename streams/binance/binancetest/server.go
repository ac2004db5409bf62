package binancetest

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"

	"github.com/synapse-trading/synapse/streams"
)

// Options choose the dialect the server speaks.
type Options struct {
	// Futures makes frames and snapshots look like USDⓈ-M futures ones: depth updates carry
	// "T" and "pu", bookTicker carries "e", "E" and "T", depth snapshots carry "E" and "T".
	// REST answers on both the spot and the futures paths either way.
	Futures bool
}

// Faults make the server misbehave on purpose. The zero value misbehaves in no way.
type Faults struct {
	// DropAfter closes each websocket connection after it has sent this many frames from the
	// tape (0: never).
	DropAfter int
	// MaxDrops stops dropping connections after this many drops (0: no limit).
	MaxDrops int
	// SkipKlines discards, at each drop, the next this many closed-kline frames of the tape,
	// as if they had been published while the client was away. REST still serves them.
	SkipKlines int
	// GarbageEvery sends one malformed frame after every this many good frames (0: never).
	GarbageEvery int
}

// Stats counts what the server did.
type Stats struct {
	Connections   int // websocket connections accepted
	Drops         int // connections closed on purpose (Faults.DropAfter)
	FramesSent    int // good frames written
	GarbageSent   int // malformed frames written (Faults.GarbageEvery)
	SkippedKlines int // closed-kline frames discarded at a drop (Faults.SkipKlines)
	KlineRequests int // REST klines requests answered
	DepthRequests int // REST depth requests answered
}

// Server is a fake Binance. Create it with NewServer and Close it when done.
type Server struct {
	opts Options
	http *httptest.Server

	mu      sync.Mutex
	klines  map[string][]streams.Kline // by symbol + " " + interval, oldest first
	depth   map[string]streams.Snapshot
	tape    []frame
	next    int           // index of the next tape frame to play
	wake    chan struct{} // closed (and replaced) whenever the tape grows
	faults  Faults
	stats   Stats
	closed  bool
	closing chan struct{} // closed by Close: websocket handlers return
	conns   sync.WaitGroup
	trade   *trading // the trading half (orders.go, userdata.go)
}

// frame is one scripted websocket message.
type frame struct {
	stream      string // e.g. "btcusdt@kline_1m"
	data        []byte // the JSON payload, without the combined-stream wrapper
	closedKline bool   // a kline frame with "x":true (what Faults.SkipKlines discards)
}

// NewServer starts a fake Binance on 127.0.0.1 on a free port.
func NewServer(opts Options) *Server {
	s := &Server{
		opts:    opts,
		klines:  make(map[string][]streams.Kline),
		depth:   make(map[string]streams.Snapshot),
		wake:    make(chan struct{}),
		closing: make(chan struct{}),
	}
	mux := http.NewServeMux()
	for _, prefix := range []string{"/api/v3/", "/fapi/v1/"} {
		mux.HandleFunc(prefix+"ping", s.servePing)
		mux.HandleFunc(prefix+"time", s.serveTime)
		mux.HandleFunc(prefix+"exchangeInfo", s.serveExchangeInfo)
		mux.HandleFunc(prefix+"klines", s.serveKlines)
		mux.HandleFunc(prefix+"depth", s.serveDepth)
	}
	mux.HandleFunc("/stream", s.serveWebsocket)
	mux.HandleFunc("/ws/", s.serveWebsocket)
	s.routeTrading(mux)
	s.http = httptest.NewServer(mux)
	return s
}

// URL is the REST base URL, e.g. "http://127.0.0.1:40123" (go-binance's Client.BaseURL).
func (s *Server) URL() string { return s.http.URL }

// WebsocketURL is the websocket base URL, e.g. "ws://127.0.0.1:40123". Combined streams are
// at WebsocketURL()+"/stream?streams=...", single streams at WebsocketURL()+"/ws/<stream>".
func (s *Server) WebsocketURL() string { return "ws" + strings.TrimPrefix(s.http.URL, "http") }

// Close stops the server: open websocket connections are closed and Close waits for their
// handlers to return.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.closing)
	s.mu.Unlock()
	s.conns.Wait()
	s.http.Close()
}

// SetKlines sets the kline history REST serves for symbol and interval (sorted by open time
// here, so any order will do).
func (s *Server) SetKlines(symbol, interval string, ks []streams.Kline) {
	sorted := append([]streams.Kline(nil), ks...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].OpenTime < sorted[j].OpenTime })
	s.mu.Lock()
	defer s.mu.Unlock()
	s.klines[symbol+" "+interval] = sorted
}

// SetDepth sets the order-book snapshot REST serves for symbol.
func (s *Server) SetDepth(symbol string, snap streams.Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.depth[symbol] = snap
}

// SetFaults changes how the server misbehaves from now on.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Pending is the number of tape frames not played yet.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tape) - s.next
}

// SendKline queues a kline frame on stream <symbol>@kline_<interval>; closed sets "x".
func (s *Server) SendKline(k streams.Kline, closed bool) {
	s.push(frame{stream: streamName(k.Symbol, "kline_"+k.Interval), data: klineData(k, closed), closedKline: closed})
}

// SendTrade queues a raw trade frame on stream <symbol>@trade.
func (s *Server) SendTrade(t streams.Trade) {
	s.push(frame{stream: streamName(t.Symbol, "trade"), data: tradeData(t)})
}

// SendAggTrade queues an aggregate trade frame on stream <symbol>@aggTrade; TradeID is the
// aggregate trade ID.
func (s *Server) SendAggTrade(t streams.Trade) {
	s.push(frame{stream: streamName(t.Symbol, "aggTrade"), data: aggTradeData(t)})
}

// SendDepth queues a diff-depth frame on stream <symbol>@depth@100ms.
func (s *Server) SendDepth(d streams.Depth) {
	s.push(frame{stream: streamName(d.Symbol, "depth@100ms"), data: depthData(d, s.opts.Futures)})
}

// SendTicker queues a bookTicker frame on stream <symbol>@bookTicker.
func (s *Server) SendTicker(t streams.Ticker) {
	s.push(frame{stream: streamName(t.Symbol, "bookTicker"), data: tickerData(t, s.opts.Futures)})
}

// SendRaw queues data verbatim on stream, e.g. the "data" of a recorded frame.
func (s *Server) SendRaw(stream string, data []byte) {
	s.push(frame{stream: stream, data: append([]byte(nil), data...)})
}

func (s *Server) push(f frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tape = append(s.tape, f)
	close(s.wake)
	s.wake = make(chan struct{})
}

func streamName(symbol, suffix string) string { return strings.ToLower(symbol) + "@" + suffix }
