package streams

import (
	"strconv"
	"strings"

	"github.com/govalues/decimal"
)

// KindPeak names the peak payload schema.
const KindPeak Kind = "peak"

// Peak is a new high of an agent's equity, on pf.<agent>.peak: the level its drawdown is
// measured from. The agent records one, acknowledged by the log, whenever a mark or a fill
// lifts its equity above the peak it recorded last; a capital move resets the peak to the
// move's equity instead. A restart takes the newest of the two from the log, so the drawdown
// after it equals the one before to the last digit: the peak depends on the prices the
// ledger was marked at in between, which the log's fills alone do not give.
// ID: <agent>.peak.<time>.<peak> (two highs in one market minute are two events).
type Peak struct {
	Agent string          `json:"agent"`
	Peak  decimal.Decimal `json:"peak"`
	Time  int64           `json:"time"` // market time of the mark or fill that made it, epoch ms
}

// Subject returns pf.<agent>.peak, lower case.
func (p *Peak) Subject() string { return "pf." + strings.ToLower(p.Agent) + ".peak" }

// ID is <agent>.peak.<time>.<peak>.
func (p *Peak) ID() string {
	return strings.ToLower(p.Agent) + ".peak." + strconv.FormatInt(p.Time, 10) + "." + p.Peak.String()
}
func (p *Peak) Kind() Kind                  { return KindPeak }
func (p *Peak) Key() (venue, symbol string) { return "", "" }
func (p *Peak) EventTime() int64            { return p.Time }
