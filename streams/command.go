package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// KindCommand names the command payload schema.
const KindCommand Kind = "command"

// Command is an instruction to the engine (deploy a model, halt an agent, ...), put on the CMD
// stream on cmd.<name> before it acts, so that a restart replays every command in order and
// rebuilds what they changed.
type Command struct {
	Name string `json:"name"` // e.g. "models.deploy"
	// CommandID identifies the command; sending it again is deduplicated by the log.
	CommandID string          `json:"id"`
	Args      json.RawMessage `json:"args"`
	Time      int64           `json:"time"` // when it was issued, epoch ms
	Issuer    string          `json:"issuer,omitempty"`
}

// Subject returns cmd.<name>.
func (c *Command) Subject() string { return "cmd." + c.Name }

// ID is the command's own ID.
func (c *Command) ID() string                  { return c.CommandID }
func (c *Command) Kind() Kind                  { return KindCommand }
func (c *Command) Key() (venue, symbol string) { return "", "" }
func (c *Command) EventTime() int64            { return c.Time }

// NewCommand builds a command with args marshalled to JSON and a fresh ID.
func NewCommand(name string, args any, issuer string) (*Command, error) {
	if name == "" || strings.ContainsAny(name, " *>") {
		return nil, fmt.Errorf("%w: command name %q", ErrBadEvent, name)
	}
	data, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	return &Command{Name: name, CommandID: name + "." + randomSecret()[:16], Args: data, Time: now.UnixMilli(), Issuer: issuer}, nil
}

// Sequenced command, with its place on the CMD stream.
type SequencedCommand struct {
	Seq uint64
	*Command
}

// ErrDuplicateCommand means a command's ID was on the CMD stream already: the command acted
// (or was refused) then, and is not applied again.
var ErrDuplicateCommand = errors.New("command sent again")

// ConsumeCommands calls apply for every command on the CMD stream, oldest first, then for
// each new one until ctx ends: a restart re-applies every command in order. A command that
// does not decode, whose subject is not cmd.<its name>, or that apply rejects, is reported to
// onError and skipped. So is a command whose ID an earlier command had (published on NATS
// without the Nats-Msg-Id header, or after the log's dedup window): the ID, not the log,
// makes it one command, live and on every restart alike. A command without a time takes the
// time the log stored it.
func ConsumeCommands(ctx context.Context, js jetstream.JetStream, apply func(SequencedCommand) error, onError func(SequencedCommand, error)) error {
	seen := map[string]uint64{} // command ID → the seq it was first on
	return Follow(ctx, js, StreamCommands, jetstream.OrderedConsumerConfig{}, 64, func(msgs []jetstream.Msg) error {
		for _, msg := range msgs {
			meta, err := msg.Metadata()
			if err != nil {
				continue
			}
			cmd := SequencedCommand{Seq: meta.Sequence.Stream, Command: &Command{}}
			if err := json.Unmarshal(msg.Data(), cmd.Command); err != nil || cmd.Name == "" {
				if err == nil {
					err = errors.New("no command name")
				}
				cmd.Name = strings.TrimPrefix(msg.Subject(), "cmd.")
				onError(cmd, fmt.Errorf("%w: %v", ErrBadEvent, err))
				continue
			}
			if msg.Subject() != cmd.Subject() {
				onError(cmd, fmt.Errorf("%w: command %q on %s: publish it on %s", ErrBadEvent, cmd.Name, msg.Subject(), cmd.Subject()))
				continue
			}
			if cmd.CommandID != "" {
				if first, dup := seen[cmd.CommandID]; dup {
					onError(cmd, fmt.Errorf("%w: id %q was command seq %d: give a new id to act again", ErrDuplicateCommand, cmd.CommandID, first))
					continue
				}
				seen[cmd.CommandID] = cmd.Seq
			}
			if cmd.Time == 0 {
				cmd.Time = meta.Timestamp.UnixMilli()
			}
			if err := apply(cmd); err != nil {
				onError(cmd, err)
			}
		}
		return nil
	})
}
