package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synapse-trading/synapse/streams/recordings"
)

// The datasets query reports what the log holds, read from the log itself: a day of ETHUSDT
// 1m klines with two holes (5 and 2 minutes) and a malformed line, its first 600 klines put
// on the log by `synapse ingest` and the rest by the engine's replay of the whole file.
func TestDatasetsQueryReportsTheLog(t *testing.T) {
	raw, err := recordings.Read("ETHUSDT-1m-2022-08-14.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(rows) != 1440 {
		t.Fatalf("%d rows", len(rows))
	}
	openTime := func(row int) int64 {
		var ms int64
		fmt.Sscan(strings.SplitN(rows[row], ",", 2)[0], &ms)
		return ms
	}
	var kept []string
	for i, r := range rows {
		if (i >= 100 && i <= 104) || i == 500 || i == 501 { // the holes
			continue
		}
		kept = append(kept, r)
	}
	lines := slices.Insert(slices.Clone(kept), 10, "1660435800000,not,a,kline") // line 11
	dir := t.TempDir()
	write := func(name string, lines []string) string {
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	head := write("ETHUSDT-1m-2022-08-14.csv", lines[:601]) // the bad line and 600 klines
	if code, out, errs := synapse(t, "ingest", head, "--data-dir", dir, "--quiet"); code != 0 || !strings.Contains(out, "600 new on the log") || !strings.Contains(out, "skipped 1 malformed") {
		t.Fatalf("ingest: exit %d: %s %s", code, out, errs)
	}
	whole := write("ETHUSDT-1m-2022-08-14.csv", lines)
	addr, stop := runEngine(t, "--data-dir", dir, "--speed", "max", "--no-models", "--replay", whole)
	defer stop()

	var rep DatasetsReport
	checkFor(t, 60*time.Second, func() error {
		rep = DatasetsReport{}
		if err := getJSON(addr, "/api/v1/queries/datasets", &rep); err != nil {
			return err
		}
		if rep.Replay == nil || !rep.Replay.Finished {
			return fmt.Errorf("replay not finished: %+v", rep.Replay)
		}
		if len(rep.Symbols) != 1 || rep.Symbols[0].Actor == nil || rep.Symbols[0].Actor.Events != 1433 {
			return fmt.Errorf("the symbol actor has not applied the 1433 klines yet: %+v", rep.Symbols)
		}
		for _, ds := range rep.Symbols[0].Datasets {
			if ds.Subject == "feat.binance.ethusdt.1m" && ds.Count == 1433 {
				return nil
			}
		}
		return fmt.Errorf("the 1m features are not all on the log yet: %+v", rep.Symbols[0].Datasets)
	})

	md := rep.Streams[0]
	if md.Name != "MD" || md.Messages != 1433 || md.FirstSeq != 1 || md.LastSeq != 1433 || md.Subjects != 1 || md.Bytes == 0 || md.FirstStored == "" {
		t.Errorf("MD stream: %+v", md)
	}
	eth := rep.Symbols[0]
	if eth.Venue != "binance" || eth.Symbol != "ETHUSDT" {
		t.Errorf("symbol %s/%s", eth.Venue, eth.Symbol)
	}
	byInterval := map[string]SubjectDataset{}
	for _, ds := range eth.Datasets {
		byInterval[ds.Stream+" "+ds.Kind+" "+ds.Interval] = ds
	}
	klines := byInterval["MD kline 1m"]
	first, last := openTime(0), openTime(1439)
	if klines.Subject != "md.binance.ethusdt.kline.1m" || klines.Count != 1433 || klines.FirstSeq != 1 || klines.LastSeq != 1433 ||
		klines.FirstTime != first+59_999 || klines.LastTime != last+59_999 ||
		klines.FirstTimeISO != "2022-08-14T00:00:59.999Z" || klines.LastTimeISO != "2022-08-14T23:59:59.999Z" {
		t.Errorf("1m klines: %+v", klines)
	}
	feat := byInterval["FEAT features 1m"]
	if feat.Count != 1433 || feat.FirstTime != first || feat.LastTime != last {
		t.Errorf("1m features: %+v", feat)
	}
	if h := byInterval["FEAT features 1h"]; h.Count != 24 || h.FirstTime != first || h.LastTime != last-59*60_000 {
		t.Errorf("1h features: %+v", h)
	}
	a := eth.Actor
	if a.Candles != 1433 || a.FirstCandle != first || a.LastCandle != last || a.Malformed != 0 || a.Duplicates != 0 || a.OutOfOrder != 0 {
		t.Errorf("symbol actor: %+v", a)
	}
	if a.Gaps != 2 || a.MissingMinutes != 7 || a.LargestGap != 5 || a.LargestGapStart != openTime(100) || a.LargestGapStartISO != "2022-08-14T01:40:00.000Z" {
		t.Errorf("gaps: %d holes, %d minutes missing, largest %d from %d (%s); want 2, 7, 5 from %d",
			a.Gaps, a.MissingMinutes, a.LargestGap, a.LargestGapStart, a.LargestGapStartISO, openTime(100))
	}
	r := rep.Replay.Total
	if r.Records != 833 || r.AlreadyOnLog != 600 || r.Malformed != 1 || len(rep.Replay.Files) != 1 ||
		len(rep.Replay.Files[0].LastErrors) != 1 || !strings.Contains(rep.Replay.Files[0].LastErrors[0], ":11:") {
		t.Errorf("replay: %+v", rep.Replay)
	}

	// It takes no parameters: one is a 400 naming it.
	for _, q := range []string{"?symbol=ETHUSDT", "?stream=MD&stream=FEAT"} {
		resp, err := http.Get("http://" + addr + "/api/v1/queries/datasets" + q)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error, Field string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || e.Field != strings.SplitN(q[1:], "=", 2)[0] {
			t.Errorf("%s: %d %+v", q, resp.StatusCode, e)
		}
	}
}
