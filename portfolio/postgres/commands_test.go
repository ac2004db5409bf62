package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/synapse-trading/synapse/streams"
)

// The training runs' commands are not deployments, nor refused: the engine applies them.
// A models.* command the engine does not know is refused, as the engine refuses it.
func TestCommandFoldLeavesTrainingRunsOut(t *testing.T) {
	cmd := func(seq uint64, name, args string) item {
		return item{seq: seq, ev: &streams.Command{Name: name, CommandID: name + ".1", Args: []byte(args), Time: 1769905140000}}
	}
	items := []item{
		cmd(1, "models.train", `{"model":"direction","data":["a.csv"],"out":"models/v3"}`),
		cmd(2, "models.train_failed", `{"run":"models.train.1","reason":"no rows"}`),
		cmd(3, "models.deploy", `{"model":"direction","dir":"models/v3","mode":"shadow"}`),
		cmd(4, "models.forget", `{"model":"direction"}`),
	}
	b := &pgx.Batch{}
	refused, err := commandFold{}.fold(context.Background(), nil, items, b)
	if err != nil || refused != 1 || b.Len() != 1 {
		t.Errorf("%d refused, %d rows queued (%v): want the unknown command refused and the deployment queued", refused, b.Len(), err)
	}
}
