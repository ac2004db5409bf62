package streams

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream describes one JetStream stream of the log: its subjects and how long it keeps them.
// Every stream Synapse uses is listed in Catalog; SUBJECTS.md documents each subject and
// payload.
type Stream struct {
	Name        string
	Subjects    []string
	Description string
	Storage     jetstream.StorageType
	MaxAge      time.Duration // 0: keep forever (bounded by MaxBytes)
	MaxBytes    int64         // -1: unbounded
	Duplicates  time.Duration // deduplication window for Nats-Msg-Id
}

// The streams of the log. Names are upper case, subjects lower case.
const (
	StreamMarketData = "MD"
	StreamFeatures   = "FEAT"
	StreamSignals    = "SIG"
	StreamOrders     = "ORD"
	StreamPortfolio  = "PF"
	StreamSystem     = "SYS"
	StreamCommands   = "CMD"
)

// Catalog is the one place where the log's streams, subjects and retention are defined.
func Catalog() []Stream {
	return []Stream{
		{
			Name: StreamMarketData, Subjects: []string{"md.>"},
			Description: "market data: md.<venue>.<symbol>.{trade,kline.<interval>,depth,snapshot,ticker}",
			Storage:     jetstream.FileStorage, MaxAge: 30 * 24 * time.Hour, MaxBytes: 20 << 30,
			Duplicates: time.Hour,
		},
		{
			Name: StreamFeatures, Subjects: []string{"feat.>", "corr.>"},
			Description: "features per symbol and interval: feat.<venue>.<symbol>.<interval>; correlations of pairs: corr.<venue_a>.<symbol_a>.<venue_b>.<symbol_b>.<interval>",
			Storage:     jetstream.FileStorage, MaxAge: 24 * time.Hour, MaxBytes: 2 << 30,
			Duplicates: 10 * time.Minute,
		},
		{
			Name: StreamSignals, Subjects: []string{"sig.>"},
			Description: "model signals: sig.<model>.<symbol>",
			Storage:     jetstream.FileStorage, MaxAge: 7 * 24 * time.Hour, MaxBytes: 2 << 30,
			Duplicates: 10 * time.Minute,
		},
		{
			Name: StreamOrders, Subjects: []string{"ord.>"},
			Description: "orders: ord.<agent>.<symbol>.{intent,ack,fill,cancel,reject}",
			Storage:     jetstream.FileStorage, MaxBytes: -1,
			Duplicates: 24 * time.Hour,
		},
		{
			Name: StreamPortfolio, Subjects: []string{"pf.>"},
			Description: "portfolio: pf.<agent>",
			Storage:     jetstream.FileStorage, MaxBytes: -1,
			Duplicates: 10 * time.Minute,
		},
		{
			Name: StreamSystem, Subjects: []string{"sys.>"},
			Description: "system events: sys.<component>.<event>",
			Storage:     jetstream.FileStorage, MaxAge: 7 * 24 * time.Hour, MaxBytes: 1 << 30,
			Duplicates: 10 * time.Minute,
		},
		{
			Name: StreamCommands, Subjects: []string{"cmd.>"},
			Description: "commands, persisted before they act: cmd.<name>",
			Storage:     jetstream.FileStorage, MaxBytes: -1,
			Duplicates: 24 * time.Hour,
		},
	}
}

// StreamFor returns the name of the stream that holds subject, or "" if none does.
func StreamFor(subject string) string {
	prefix := subject
	for i := 0; i < len(subject); i++ {
		if subject[i] == '.' {
			prefix = subject[:i]
			break
		}
	}
	for _, s := range Catalog() {
		for _, subj := range s.Subjects {
			if subj == prefix+".>" {
				return s.Name
			}
		}
	}
	return ""
}

func (s Stream) config() jetstream.StreamConfig {
	maxBytes := s.MaxBytes
	if maxBytes == 0 {
		maxBytes = -1
	}
	return jetstream.StreamConfig{
		Name:        s.Name,
		Description: s.Description,
		Subjects:    s.Subjects,
		Storage:     s.Storage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      s.MaxAge,
		MaxBytes:    maxBytes,
		Duplicates:  s.Duplicates,
	}
}
