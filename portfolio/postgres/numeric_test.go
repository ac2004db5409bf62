package postgres

import (
	"bytes"
	"context"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/govalues/decimal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/synapse-trading/synapse/migrations"
)

// decimalsToEncode are edge cases (zero at every scale, values below one, exact integers with
// a scale, the largest coefficient, negatives) and random decimals of every scale.
func decimalsToEncode() []decimal.Decimal {
	var ds []decimal.Decimal
	for scale := range 20 {
		for _, coef := range []int64{0, 1, 9, 10, 1234, 10000, 12340000, 100000000, 999999999999999999} {
			ds = append(ds, decimal.MustNew(coef, scale), decimal.MustNew(-coef, scale))
		}
	}
	ds = append(ds, decimal.MustParse("9999999999999999999"), decimal.MustParse("-0.9999999999999999999"))
	r := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		coef := int64(r.Uint64N(1 << 62))
		coef >>= r.IntN(62) // all magnitudes
		if r.IntN(2) == 0 {
			coef = -coef
		}
		ds = append(ds, decimal.MustNew(coef, r.IntN(20)))
	}
	return ds
}

// The decimal encoder writes the bytes pgx writes for the same value as a pgtype.Numeric.
func TestDecimalEncodesAsPgxNumeric(t *testing.T) {
	m := pgtype.NewMap()
	RegisterDecimal(m)
	plain := pgtype.NewMap()
	for _, d := range decimalsToEncode() {
		got, err := m.Encode(pgtype.NumericOID, pgtype.BinaryFormatCode, d, nil)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		c := new(big.Int).SetUint64(d.Coef())
		if d.IsNeg() {
			c.Neg(c)
		}
		want, err := plain.Encode(pgtype.NumericOID, pgtype.BinaryFormatCode, pgtype.Numeric{Int: c, Exp: -int32(d.Scale()), Valid: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: encoded % x, pgx encodes % x", d, got, want)
		}
		text, err := m.Encode(pgtype.NumericOID, pgtype.TextFormatCode, d, nil)
		if err != nil || string(text) != d.String() {
			t.Fatalf("%s in text: %q, %v", d, text, err)
		}
	}
}

// Postgres reads every encoded decimal back as the same number with the same scale.
func TestDecimalRoundTripsThroughPostgres(t *testing.T) {
	ctx := context.Background()
	conn, err := migrations.Connect(ctx, freshSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	RegisterDecimal(conn.TypeMap())
	ds := decimalsToEncode()
	if _, err := conn.Exec(ctx, "create temp table decimals (i int primary key, v numeric)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"decimals"}, []string{"i", "v"}, pgx.CopyFromSlice(len(ds), func(i int) ([]any, error) {
		return []any{i, ds[i]}, nil
	})); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, "select v::text from decimals order by i")
	if err != nil {
		t.Fatal(err)
	}
	texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(texts) != len(ds) {
		t.Fatalf("%d rows read back, %d copied", len(texts), len(ds))
	}
	for i, d := range ds {
		if texts[i] != d.String() {
			t.Fatalf("copied %s, Postgres read %s", d, texts[i])
		}
	}
	// As a query parameter.
	for _, d := range ds[:300] {
		var s string
		if err := conn.QueryRow(ctx, "select $1::numeric::text", d).Scan(&s); err != nil {
			t.Fatal(err)
		}
		if s != d.String() {
			t.Fatalf("sent %s, Postgres read %s", d, s)
		}
	}
}
