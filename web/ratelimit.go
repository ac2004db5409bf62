package web

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Default command rate limit per token.
const (
	DefaultCommandRate  = 10 // commands per second
	DefaultCommandBurst = 20
)

// limiter keeps one token bucket per API token name.
type limiter struct {
	every rate.Limit
	burst int
	mu    sync.Mutex
	perID map[string]*rate.Limiter
}

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{every: rate.Limit(perSecond), burst: burst, perID: map[string]*rate.Limiter{}}
}

// allow takes one event from name's bucket; when it is empty it returns how long until
// one is available and false.
func (l *limiter) allow(name string) (time.Duration, bool) {
	l.mu.Lock()
	lim, ok := l.perID[name]
	if !ok {
		lim = rate.NewLimiter(l.every, l.burst)
		l.perID[name] = lim
	}
	l.mu.Unlock()
	now := time.Now()
	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return time.Hour, false
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

// writeRateLimited answers 429 with Retry-After in whole seconds (at least 1).
func writeRateLimited(w http.ResponseWriter, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, &apiError{http.StatusTooManyRequests, fmt.Sprintf("too many commands from this token: retry in %ds", secs), ""})
}
