package postgres

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/synapse-trading/synapse/streams"
)

// commandFold folds the models.* commands of CMD into model_deployments; the other
// commands change nothing the read model keeps (their effects are on PF), nor do the
// training runs' (models.train, models.train_failed: the engine's training query shows them).
type commandFold struct{}

func (commandFold) committed() {}
func (commandFold) reset()     {}

// modelArgs are the arguments of models.deploy (model, dir, mode, sha256) and of models.promote and
// models.retire_shadow (model), as inference.DeployArgs and inference.ModelArgs read them.
type modelArgs struct {
	Model  string `json:"model"`
	Dir    string `json:"dir"`
	Mode   string `json:"mode"`
	SHA256 string `json:"sha256"`
}

func (commandFold) fold(_ context.Context, _ inTx, items []item, b *pgx.Batch) (int, error) {
	refused := 0
	for _, it := range items {
		cmd, ok := it.ev.(*streams.Command)
		if !ok {
			refused++
			continue
		}
		action, ok := strings.CutPrefix(cmd.Name, "models.")
		if !ok || action == "train" || action == "train_failed" {
			continue
		}
		var a modelArgs
		if (action != "deploy" && action != "promote" && action != "retire_shadow") || json.Unmarshal(cmd.Args, &a) != nil || a.Model == "" {
			refused++ // the engine refuses it too
			continue
		}
		if action == "deploy" && a.Mode == "" {
			a.Mode = "live"
		}
		b.Queue(`insert into model_deployments (seq, command_id, action, model, dir, mode, sha256, issuer, time) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			on conflict (seq) do nothing`, int64(it.seq), cmd.CommandID, action, a.Model, a.Dir, a.Mode, a.SHA256, cmd.Issuer, cmd.Time)
	}
	return refused, nil
}
