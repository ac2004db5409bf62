package main

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/synapse-trading/synapse/actors"
	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/replay"
	"github.com/synapse-trading/synapse/web"
)

// DatasetsReport is the "datasets" query: what the log holds, per stream and per symbol.
// The counts and first/last events come from the streams' own per-subject index (no scan
// of the log; the first events kept between reads, see streams.Inventory); the gaps and the refused events from the symbol actors, which count them as
// the events pass; the bad lines from the replay that put the files on the log.
type DatasetsReport struct {
	AsOf         string           `json:"as_of"` // when it was read (the answer is kept datasetsFresh)
	Streams      []StreamDataset  `json:"streams"`
	Symbols      []SymbolDataset  `json:"symbols"`      // market data and features, by venue and symbol
	Correlations []SubjectDataset `json:"correlations"` // FEAT's corr.* subjects, one per pair and interval
	// Replay counts what the engine's replay did with its files; null when it replays none
	// (a live feed, synthetic data). `synapse ingest` prints the same counts when it runs.
	Replay *ReplayCounts `json:"replay"`
}

// StreamDataset is one stream of the log. Its times are when the messages were stored
// (the machine's clock), not market time.
type StreamDataset struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Messages    uint64 `json:"messages"`
	Bytes       uint64 `json:"bytes"`
	Subjects    uint64 `json:"subjects"`
	FirstSeq    uint64 `json:"first_seq"`
	LastSeq     uint64 `json:"last_seq"`
	FirstStored string `json:"first_stored,omitempty"` // ISO 8601 UTC; absent when empty
	LastStored  string `json:"last_stored,omitempty"`
}

// SubjectDataset is what the log holds of one subject. Times are market time, the events'
// own (a kline's close time, a feature's candle open time, a trade's time): epoch ms and
// ISO 8601 UTC; 0 and "" when the message could not be decoded.
type SubjectDataset struct {
	Stream       string `json:"stream"`
	Subject      string `json:"subject"`
	Kind         string `json:"kind"`               // trade, kline, depth, snapshot, ticker, features, correlation
	Interval     string `json:"interval,omitempty"` // klines, features and correlations
	Count        uint64 `json:"count"`
	FirstSeq     uint64 `json:"first_seq"`
	LastSeq      uint64 `json:"last_seq"`
	FirstTime    int64  `json:"first_time"`
	FirstTimeISO string `json:"first_time_iso"`
	LastTime     int64  `json:"last_time"`
	LastTimeISO  string `json:"last_time_iso"`
}

// SymbolDataset is one symbol's subjects on MD and FEAT, and what its symbol actor made of
// them (null until the actor has applied an event).
type SymbolDataset struct {
	Venue    string           `json:"venue"`
	Symbol   string           `json:"symbol"`
	Datasets []SubjectDataset `json:"datasets"`
	Actor    *SymbolCounts    `json:"actor"`
}

// SymbolCounts is what a symbol actor counted: the events it applied and refused, and its
// 1m candles with the minutes missing between them.
type SymbolCounts struct {
	Events      int64  `json:"events"`
	Malformed   int64  `json:"malformed"`
	Duplicates  int64  `json:"duplicates"`
	OutOfOrder  int64  `json:"out_of_order"`
	OtherTrades int64  `json:"other_trades"`
	LastProblem string `json:"last_problem,omitempty"`
	// Candles are the 1m candles taken, from the first's open time to the last's.
	Candles        int64  `json:"candles"`
	FirstCandle    int64  `json:"first_candle"`
	FirstCandleISO string `json:"first_candle_iso"`
	LastCandle     int64  `json:"last_candle"`
	LastCandleISO  string `json:"last_candle_iso"`
	// Gaps are the holes between them, MissingMinutes the minutes they lack; the largest
	// lacks LargestGap minutes from LargestGapStart (the open time of its first missing minute).
	Gaps               int64  `json:"gaps"`
	MissingMinutes     int64  `json:"missing_minutes"`
	LargestGap         int64  `json:"largest_gap"`
	LargestGapStart    int64  `json:"largest_gap_start"`
	LargestGapStartISO string `json:"largest_gap_start_iso"`
}

// ReplayCounts is what the replay did with each file, and the sums.
type ReplayCounts struct {
	Finished bool         `json:"finished"`
	Files    []ReplayFile `json:"files"`
	Total    ReplayFile   `json:"total"`
}

// ReplayFile counts one file's lines: put on the log, or skipped and why.
type ReplayFile struct {
	Source       string   `json:"source"`
	Format       string   `json:"format,omitempty"`
	Records      int64    `json:"records"`        // events put on the log
	AlreadyOnLog int64    `json:"already_on_log"` // left out: the log holds them already
	Malformed    int64    `json:"malformed"`      // lines that could not be read
	OutOfOrder   int64    `json:"out_of_order"`
	Duplicates   int64    `json:"duplicates"`
	OtherStreams int64    `json:"other_streams"`
	LastErrors   []string `json:"last_errors,omitempty"` // "file:line: problem"
}

// datasetsFresh is how long an answer is served again before the log is read anew.
const datasetsFresh = 3 * time.Second

// datasetsQuery answers the "datasets" query, reading the log at most every datasetsFresh.
type datasetsQuery struct {
	js       jetstream.JetStream
	inv      *streams.Inventory
	hub      *web.Hub // the symbol actors' states ("symbol/<venue>/<SYMBOL>")
	replayed *atomic.Pointer[ReplayCounts]

	mu     sync.Mutex // one reader at a time: concurrent requests share its answer
	readAt time.Time
	last   *DatasetsReport
}

func handleDatasetsQuery(gw *web.Gateway, js jetstream.JetStream, hub *web.Hub, replayed *atomic.Pointer[ReplayCounts]) {
	q := &datasetsQuery{js: js, inv: streams.NewInventory(js), hub: hub, replayed: replayed}
	gw.HandleQuery("datasets", func(r *http.Request) (any, error) {
		if _, err := params(r); err != nil {
			return nil, err
		}
		return q.report(r.Context())
	})
}

func (q *datasetsQuery) report(ctx context.Context) (*DatasetsReport, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.last != nil && time.Since(q.readAt) < datasetsFresh {
		return q.last, nil
	}
	rep, err := readDatasets(ctx, q.js, q.inv, q.hub)
	if err != nil {
		return nil, err
	}
	rep.Replay = q.replayed.Load()
	q.last, q.readAt = rep, time.Now()
	return rep, nil
}

// readDatasets reads the streams' state, the subjects of MD and FEAT, and the symbol
// actors' counts.
func readDatasets(ctx context.Context, js jetstream.JetStream, inv *streams.Inventory, hub *web.Hub) (*DatasetsReport, error) {
	rep := &DatasetsReport{AsOf: time.Now().UTC().Format(time.RFC3339Nano), Streams: []StreamDataset{},
		Symbols: []SymbolDataset{}, Correlations: []SubjectDataset{}}
	contents, err := streams.ReadStreamContent(ctx, js)
	if err != nil {
		return nil, err
	}
	descriptions := map[string]string{}
	for _, s := range streams.Catalog() {
		descriptions[s.Name] = s.Description
	}
	for _, c := range contents {
		sd := StreamDataset{Name: c.Name, Description: descriptions[c.Name], Messages: c.Messages, Bytes: c.Bytes,
			Subjects: c.Subjects, FirstSeq: c.FirstSeq, LastSeq: c.LastSeq}
		if c.Messages > 0 {
			sd.FirstStored, sd.LastStored = c.FirstTime.UTC().Format(time.RFC3339Nano), c.LastTime.UTC().Format(time.RFC3339Nano)
		}
		rep.Streams = append(rep.Streams, sd)
	}
	bySymbol := map[string]int{} // "venue/symbol", lower case → index in rep.Symbols
	for _, stream := range []string{streams.StreamMarketData, streams.StreamFeatures} {
		subjects, err := inv.Subjects(ctx, stream)
		if err != nil {
			return nil, err
		}
		for _, sc := range subjects {
			ds, venue, symbol := subjectDataset(sc)
			if ds.Kind == "correlation" {
				rep.Correlations = append(rep.Correlations, ds)
				continue
			}
			key := strings.ToLower(venue + "/" + symbol)
			i, ok := bySymbol[key]
			if !ok {
				i = len(rep.Symbols)
				bySymbol[key] = i
				rep.Symbols = append(rep.Symbols, SymbolDataset{Venue: venue, Symbol: symbol, Actor: symbolCounts(hub, venue, symbol)})
			}
			rep.Symbols[i].Datasets = append(rep.Symbols[i].Datasets, ds)
		}
	}
	for _, sym := range rep.Symbols {
		fromFeatures := func(d SubjectDataset) bool { return d.Stream == streams.StreamFeatures }
		slices.SortStableFunc(sym.Datasets, func(a, b SubjectDataset) int { // MD first, then FEAT; short intervals first
			return cmp.Or(compareBool(fromFeatures(a), fromFeatures(b)), cmp.Compare(a.Kind, b.Kind),
				cmp.Compare(intervalMs(a.Interval), intervalMs(b.Interval)))
		})
	}
	return rep, nil
}

// compareBool orders false before true.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// intervalMs is an interval's length ("1m", "15m", "1h", "1d") in ms; 0 when it has none.
func intervalMs(iv string) int64 {
	if iv == "" {
		return 0
	}
	units := map[byte]int64{'s': 1_000, 'm': 60_000, 'h': 3_600_000, 'd': 86_400_000, 'w': 7 * 86_400_000, 'M': 30 * 86_400_000}
	n, err := strconv.ParseInt(iv[:len(iv)-1], 10, 64)
	if err != nil {
		return 0
	}
	return n * units[iv[len(iv)-1]]
}

// subjectDataset names a subject's kind and interval from its tokens, and its venue and
// symbol as its events spell them (the subject has them in lower case).
func subjectDataset(sc streams.SubjectContent) (ds SubjectDataset, venue, symbol string) {
	ds = SubjectDataset{Stream: sc.Stream, Subject: sc.Subject, Count: sc.Count, FirstSeq: sc.FirstSeq, LastSeq: sc.LastSeq}
	tokens := strings.Split(sc.Subject, ".")
	switch {
	case tokens[0] == "corr":
		ds.Kind = "correlation"
		ds.Interval = tokens[len(tokens)-1]
	case tokens[0] == "feat" && len(tokens) == 4: // feat.<venue>.<symbol>.<interval>
		ds.Kind, ds.Interval = "features", tokens[3]
	case tokens[0] == "md" && len(tokens) >= 4: // md.<venue>.<symbol>.<kind>[.<interval>]
		ds.Kind = tokens[3]
		if len(tokens) == 5 {
			ds.Interval = tokens[4]
		}
	default:
		ds.Kind = "other"
	}
	if len(tokens) >= 3 {
		venue, symbol = tokens[1], strings.ToUpper(tokens[2])
	}
	for _, ev := range []streams.Event{sc.First, sc.Last} {
		if ev != nil && ds.Kind != "correlation" {
			venue, symbol = ev.Key()
		}
	}
	if sc.First != nil {
		ds.FirstTime, ds.FirstTimeISO = sc.First.EventTime(), isoMillis(sc.First.EventTime())
	}
	if sc.Last != nil {
		ds.LastTime, ds.LastTimeISO = sc.Last.EventTime(), isoMillis(sc.Last.EventTime())
	}
	return ds, venue, symbol
}

// symbolCounts reads the symbol actor's last state from the hub; nil when it has none yet.
func symbolCounts(hub *web.Hub, venue, symbol string) *SymbolCounts {
	raw, ok := hub.Get(actors.SymbolTopic(venue, symbol))
	if !ok {
		return nil
	}
	var st actors.SymbolState
	if json.Unmarshal(raw, &st) != nil {
		return nil
	}
	c := &SymbolCounts{Events: st.Events, Malformed: st.Malformed, Duplicates: st.Duplicates, OutOfOrder: st.OutOfOrder,
		OtherTrades: st.OtherTrades, LastProblem: st.LastProblem,
		Candles: st.Candles, Gaps: st.Gaps, MissingMinutes: st.Missing, LargestGap: st.LargestGap}
	if st.Candles > 0 {
		c.FirstCandle, c.FirstCandleISO = st.FirstCandle, isoMillis(st.FirstCandle)
		c.LastCandle, c.LastCandleISO = st.LastCandle, isoMillis(st.LastCandle)
	}
	if st.LargestGap > 0 {
		c.LargestGapStart, c.LargestGapStartISO = st.LargestGapStart, isoMillis(st.LargestGapStart)
	}
	return c
}

// replayCounts is the query's view of a replay's counts.
func replayCounts(st replay.Stats, finished bool) *ReplayCounts {
	file := func(f replay.FileStats) ReplayFile {
		return ReplayFile{Source: f.Source, Format: string(f.Format), Records: f.Records, AlreadyOnLog: f.Stored,
			Malformed: f.Malformed, OutOfOrder: f.OutOfOrder, Duplicates: f.Duplicates, OtherStreams: f.OtherStreams,
			LastErrors: f.LastErrors}
	}
	out := &ReplayCounts{Finished: finished, Files: []ReplayFile{}, Total: file(st.Total)}
	for _, f := range st.Files {
		out.Files = append(out.Files, file(f))
	}
	return out
}

// isoMillis writes epoch milliseconds as ISO 8601 UTC, to the millisecond.
func isoMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}
