// Package replay reads recorded Binance market data and plays it back as streams events.
//
// Two kinds of recording are understood, detected from the content (gzipped or not, found
// by the gzip magic bytes rather than the file name):
//
//   - kline CSV files: the Binance Vision spot layout (no header, epoch ms or, from 2025 on,
//     epoch µs), the Binance Vision USDⓈ-M futures layout (a header row, epoch ms) and the
//     pandas/REST layout (a header row, ISO-8601 UTC times). Columns are mapped by position.
//     Each row becomes a *streams.Kline; its event time is the close time.
//   - websocket captures: one frame a line, "<receive time, epoch ns> <json>", holding
//     combined-stream envelopes for @trade, @aggTrade, @depth and @bookTicker, and bare REST
//     depth snapshots. Each frame becomes a *streams.Trade, *streams.Depth,
//     *streams.Snapshot or *streams.Ticker. DecodeFrame is exported so that a live feed can
//     decode the same frames.
//
// A Reader reads one file as a sequence of Records. A Replay merges several files (several
// symbols) into one sequence ordered by the time each event became known (Record.At), paced
// at a chosen speed. Bad lines are skipped and counted, never fatal; duplicate and
// out-of-order events are counted and dropped (see Guard).
//
// Typical use:
//
//	r, err := replay.OpenFS(recordings.FS(), recordings.Names(), replay.Options{Speed: 60})
//	if err != nil { ... }
//	defer r.Close()
//	for {
//		rec, err := r.Next(ctx)
//		if errors.Is(err, io.EOF) { break }
//		if err != nil { ... } // the context was cancelled
//		publish(rec.Event)
//	}
package replay
