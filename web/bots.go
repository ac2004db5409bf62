package web

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go"
)

// SubjectCommandRequests is where bots issue commands by NATS request/reply:
// req.commands.<name>, with the arguments POST /api/v1/commands/<name> takes as the body.
// A request is checked as the HTTP API checks a command (role, arguments, the rate limit)
// before anything goes on the log, so a bad one gets an error naming the field instead of
// an acknowledgement. It is outside the CMD stream, like req.orders.>.
const SubjectCommandRequests = "req.commands.>"

// BotCommandReply answers a command request: status "accepted" with the command's ID and
// its sequence on CMD, or "rejected" with the HTTP API's status code for the same request
// (400, 403, 404, 413, 429, 503), the error and the field it names, and for 429 how long to
// wait.
type BotCommandReply struct {
	Status      string `json:"status"`
	ID          string `json:"id,omitempty"`
	Seq         uint64 `json:"seq,omitempty"`
	Name        string `json:"name,omitempty"`
	Code        int    `json:"code,omitempty"`
	Error       string `json:"error,omitempty"`
	Field       string `json:"field,omitempty"`
	RetryAfterS int    `json:"retry_after_s,omitempty"`
}

// ServeCommandRequests answers command requests on nc until ctx ends, as the NATS user user
// with role role (the trader credential's: trader, so the models.* commands are refused as
// they are for a trader token). The user's commands share one rate limit.
func (g *Gateway) ServeCommandRequests(ctx context.Context, nc *nats.Conn, user string, role Role) error {
	id := Identity{Name: user, Role: role, nats: true}
	sub, err := nc.Subscribe(SubjectCommandRequests, func(m *nats.Msg) {
		name := strings.TrimPrefix(m.Subject, "req.commands.")
		body := func() ([]byte, *apiError) {
			if len(m.Data) > maxBody {
				return nil, &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes", maxBody), ""}
			}
			return m.Data, nil
		}
		issued, aerr, wait := g.issue(ctx, id, name, body)
		var r BotCommandReply
		switch {
		case wait > 0:
			secs := max(1, int(math.Ceil(wait.Seconds())))
			r = BotCommandReply{Status: "rejected", Code: http.StatusTooManyRequests, RetryAfterS: secs,
				Error: fmt.Sprintf("too many commands from this user: retry in %ds", secs)}
		case aerr != nil:
			r = BotCommandReply{Status: "rejected", Code: aerr.status, Error: aerr.msg, Field: aerr.field}
		default:
			r = BotCommandReply{Status: "accepted", ID: issued.ID, Seq: issued.Seq, Name: issued.Name}
		}
		data, _ := json.Marshal(r)
		_ = m.Respond(data)
	})
	if err != nil {
		return fmt.Errorf("subscribing to %s: %w", SubjectCommandRequests, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	<-ctx.Done()
	return nil
}
