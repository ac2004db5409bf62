package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/synapse-trading/synapse/streams"
	"github.com/synapse-trading/synapse/streams/recordings"
	"github.com/synapse-trading/synapse/streams/replay"
)

// loadRecordings reads the bundled real recordings whose names contain filter ("" for all)
// into memory, in event-time order.
func loadRecordings(filter string) ([]streams.Event, error) {
	var names []string
	for _, n := range recordings.Names() {
		if strings.Contains(n, filter) {
			names = append(names, n)
		}
	}
	rp, err := replay.OpenFS(recordings.FS(), names, replay.Options{})
	if err != nil {
		return nil, err
	}
	defer rp.Close()
	var out []streams.Event
	for {
		rec, err := rp.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec.Event)
	}
}

// klineSeries returns the bundled 1m kline series, one slice per symbol.
func klineSeries() ([][]*streams.Kline, error) {
	events, err := loadRecordings(".csv")
	if err != nil {
		return nil, err
	}
	bySymbol := map[string][]*streams.Kline{}
	var order []string
	for _, ev := range events {
		k, ok := ev.(*streams.Kline)
		if !ok {
			continue
		}
		key := k.Venue + "/" + k.Symbol
		if _, seen := bySymbol[key]; !seen {
			order = append(order, key)
		}
		bySymbol[key] = append(bySymbol[key], k)
	}
	out := make([][]*streams.Kline, 0, len(order))
	for _, key := range order {
		out = append(out, bySymbol[key])
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no kline recordings bundled")
	}
	return out, nil
}
