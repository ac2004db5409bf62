package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/govalues/decimal"

	"github.com/synapse-trading/synapse/streams"
)

// SubmitFunc puts a validated command on the CMD stream and returns its sequence there
// once the log has stored it. An error answers 503: the command was not stored.
type SubmitFunc func(ctx context.Context, cmd *streams.Command) (seq uint64, err error)

// DecodeArgs decodes and checks a command's JSON arguments and returns the value to put
// in the command (normalised, e.g. defaults filled in). An invalid argument is a
// *FieldError.
type DecodeArgs func(body []byte) (any, error)

// CommandSpec is a registered command: the role it needs and how its arguments are checked.
type CommandSpec struct {
	Role   Role
	Decode DecodeArgs
}

// Validator is implemented by command argument types: Validate checks the decoded fields
// (and may fill in defaults) and returns a *FieldError naming a bad one.
type Validator interface{ Validate() error }

// Args returns a DecodeArgs for the argument type T: the body is decoded strictly into a T
// (unknown fields, wrong types and trailing data are errors naming the field; an empty body
// is {}), then T's Validate runs. Adding a command is one line:
//
//	g.HandleCommand("agents.halt", web.RoleTrader, web.Args[web.AgentArgs]())
func Args[T any, PT interface {
	*T
	Validator
}]() DecodeArgs {
	return func(body []byte) (any, error) {
		var v T
		if err := decodeStrict(body, &v); err != nil {
			return nil, err
		}
		if err := PT(&v).Validate(); err != nil {
			return nil, err
		}
		return &v, nil
	}
}

// FieldError is a bad argument: the field (a JSON path like "model"; empty for the body as a
// whole) and what is wrong. errors.Is(err, ErrBadCommand) holds for it.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Unwrap makes a FieldError match ErrBadCommand.
func (e *FieldError) Unwrap() error { return ErrBadCommand }

// decodeStrict decodes one JSON object from body into v, refusing unknown fields and names
// in another case than v's (encoding/json alone takes "Agent" for "agent"); an empty body
// decodes as {}. Errors are *FieldError.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := exactNames(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return &FieldError{Field: te.Field, Msg: fmt.Sprintf("must be a %s, not a JSON %s", jsonTypeName(te.Type.Kind().String()), te.Value)}
		case errors.As(err, &te):
			return &FieldError{Msg: fmt.Sprintf("the body must be a JSON object, not a JSON %s", te.Value)}
		case errors.As(err, &se):
			return &FieldError{Msg: fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, err)}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &FieldError{Field: field, Msg: "unknown field"}
		case errors.Is(err, io.ErrUnexpectedEOF):
			return &FieldError{Msg: "malformed JSON: the body ends early"}
		default:
			return &FieldError{Msg: "malformed JSON: " + err.Error()}
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &FieldError{Msg: "unexpected data after the JSON object"}
	}
	return nil
}

// exactNames refuses a member of the JSON object body whose name is not, to the letter, the
// JSON name of one of the fields of the struct v points to: the first such name in
// alphabetical order. A body that is not an object is left to the decoder to name.
func exactNames(body []byte, v any) error {
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil {
		return nil
	}
	names := jsonNames(reflect.TypeOf(v).Elem())
	for _, name := range slices.Sorted(maps.Keys(members)) {
		if slices.Contains(names, name) {
			continue
		}
		for _, want := range names {
			if strings.EqualFold(want, name) {
				return &FieldError{Field: name, Msg: fmt.Sprintf("unknown field: names are case-sensitive, this one is %q", want)}
			}
		}
		return &FieldError{Field: name, Msg: "unknown field"}
	}
	return nil
}

// jsonNames lists the names encoding/json gives the fields of struct type t: the json tag's
// name, else the Go name; "-" fields left out, embedded structs' fields promoted.
func jsonNames(t reflect.Type) []string {
	var out []string
	for _, f := range reflect.VisibleFields(t) {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case !f.IsExported() || tag == "-" || f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct:
		case tag != "":
			out = append(out, tag)
		default:
			out = append(out, f.Name)
		}
	}
	return out
}

func jsonTypeName(kind string) string {
	switch kind {
	case "struct", "map":
		return "JSON object"
	case "slice", "array":
		return "JSON array"
	case "bool":
		return "boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	}
	return kind
}

// Model names and modes of the models.* commands (as in package inference, which web does
// not import because it needs ONNX Runtime).
var (
	commandModels = []string{"direction", "range", "tp_sl"}
	deployModes   = []string{"live", "shadow"}
)

func oneOf(field, v string, allowed []string) error {
	if v == "" {
		return &FieldError{Field: field, Msg: fmt.Sprintf("is required (one of %s)", strings.Join(allowed, ", "))}
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return &FieldError{Field: field, Msg: fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", "))}
}

// Optional arguments are pointers: left out (nil) takes the default, while a value given is
// checked like any other, so an explicit 0 or "" out of range is a 400 naming the field rather
// than the default in silence.

// DeployArgs are the arguments of models.deploy (the same JSON as inference.DeployArgs).
type DeployArgs struct {
	Model string  `json:"model"` // direction, range or tp_sl
	Dir   string  `json:"dir"`   // the folder, on the server, with <model>.json and <model>.onnx
	Mode  *string `json:"mode"`  // live or shadow; left out, live
	// SHA256 is the .onnx's hash: given, the folder must hold that model; else the engine
	// fills it in, so a restart never serves another model from the same folder.
	SHA256 *string `json:"sha256,omitempty"`
}

// Validate checks the fields and fills in the default mode.
func (a *DeployArgs) Validate() error {
	if err := oneOf("model", a.Model, commandModels); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(a.Dir) == "":
		return &FieldError{Field: "dir", Msg: "is required: the folder holding <model>.json and <model>.onnx"}
	case len(a.Dir) > 1024 || strings.ContainsRune(a.Dir, 0):
		return &FieldError{Field: "dir", Msg: "must be a path of at most 1024 bytes without NUL"}
	}
	if a.Mode == nil {
		a.Mode = ptr("live")
	}
	if *a.Mode == "" {
		return &FieldError{Field: "mode", Msg: fmt.Sprintf(`"" is not one of %s (leave it out for live)`, strings.Join(deployModes, ", "))}
	}
	if err := oneOf("mode", *a.Mode, deployModes); err != nil {
		return err
	}
	if a.SHA256 != nil && !isSHA256(*a.SHA256) {
		return &FieldError{Field: "sha256", Msg: "must be 64 lowercase hex digits, the sha256 in the model's card (leave it out for the folder's)"}
	}
	// The engine loads the model from this machine's disk after the command is accepted: a
	// folder without the files would be a 202 for a deployment that cannot happen.
	for _, ext := range []string{".json", ".onnx"} {
		if f := filepath.Join(a.Dir, a.Model+ext); !isFile(f) {
			return &FieldError{Field: "dir", Msg: fmt.Sprintf("holds no %s on the engine's machine: give the folder `synapse train --out` wrote", f)}
		}
	}
	return nil
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// TrainArgs are the arguments of models.train: train a model on files of the engine's
// machine, as `synapse train --data DATA... --model MODEL --out OUT` does, in the engine.
type TrainArgs struct {
	Model   string   `json:"model"`             // direction, range or tp_sl
	Data    []string `json:"data"`              // market data files on the engine's machine (1m kline CSVs, captures)
	Out     string   `json:"out"`               // the folder to write <model>.onnx and <model>.json into
	Version *string  `json:"version,omitempty"` // written in the card; left out, "1"
	Epochs  *int     `json:"epochs,omitempty"`  // the most epochs (early stopping may end sooner), 1 to MaxTrainEpochs; left out, 30
	Seed    *uint64  `json:"seed,omitempty"`    // from 1; left out, the default seed
	Horizon *int     `json:"horizon,omitempty"` // label horizon in 1m candles, 1 to MaxTrainHorizon; left out, the default
}

// The bounds of models.train's arguments.
const (
	MaxTrainFiles   = 64
	MaxTrainEpochs  = 1000
	MaxTrainHorizon = 1440 // a day of 1m candles
)

var versionRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)

// Validate checks the fields against this machine's disk: every data file can be read and
// the out folder can be made, so a run the engine would fail at once is a 400, not a 202.
// It fills in the default version and epochs.
func (a *TrainArgs) Validate() error {
	if err := oneOf("model", a.Model, commandModels); err != nil {
		return err
	}
	if len(a.Data) == 0 {
		return &FieldError{Field: "data", Msg: "is required: a list of market data files on the engine's machine (1m kline CSVs, captures)"}
	}
	if len(a.Data) > MaxTrainFiles {
		return &FieldError{Field: "data", Msg: fmt.Sprintf("lists %d files, the most is %d", len(a.Data), MaxTrainFiles)}
	}
	for i, f := range a.Data {
		field := fmt.Sprintf("data[%d]", i)
		if strings.TrimSpace(f) == "" || len(f) > 1024 || strings.ContainsRune(f, 0) {
			return &FieldError{Field: field, Msg: "must be a path of 1 to 1024 bytes without NUL"}
		}
		if err := readable(f); err != nil {
			return &FieldError{Field: field, Msg: err.Error()}
		}
	}
	switch {
	case strings.TrimSpace(a.Out) == "":
		return &FieldError{Field: "out", Msg: "is required: the folder to write <model>.onnx and <model>.json into"}
	case len(a.Out) > 1024 || strings.ContainsRune(a.Out, 0):
		return &FieldError{Field: "out", Msg: "must be a path of at most 1024 bytes without NUL"}
	}
	if err := creatable(a.Out); err != nil {
		return &FieldError{Field: "out", Msg: err.Error()}
	}
	if a.Version == nil {
		a.Version = ptr("1")
	}
	if !versionRE.MatchString(*a.Version) {
		return &FieldError{Field: "version", Msg: fmt.Sprintf(`%q: must be 1-32 letters, digits, '.', '_' or '-' (leave it out for "1")`, *a.Version)}
	}
	if a.Epochs == nil {
		a.Epochs = ptr(30)
	}
	if e := *a.Epochs; e < 1 || e > MaxTrainEpochs {
		return &FieldError{Field: "epochs", Msg: fmt.Sprintf("%d is not from 1 to %d (leave it out for 30)", e, MaxTrainEpochs)}
	}
	if a.Seed != nil && *a.Seed == 0 {
		return &FieldError{Field: "seed", Msg: "0 is not a seed: seeds start at 1 (leave it out for the default)"}
	}
	if h := a.Horizon; h != nil && (*h < 1 || *h > MaxTrainHorizon) {
		return &FieldError{Field: "horizon", Msg: fmt.Sprintf("%d is not from 1 to %d candles (leave it out for the default)", *h, MaxTrainHorizon)}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// readable reports why path is not a regular file this process can open.
func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot be read on the engine's machine: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	switch {
	case err != nil:
		return fmt.Errorf("cannot be read on the engine's machine: %v", err)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s is not a file", path)
	}
	return nil
}

// creatable reports why dir is not a folder this process can write into, or make: it, or the
// nearest folder above it that exists, must be a writable folder.
func creatable(dir string) error {
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s is a file, not a folder", p)
			}
			probe, err := os.CreateTemp(p, ".synapse-train-*")
			if err != nil {
				return fmt.Errorf("the engine cannot write into %s: %v", p, err)
			}
			probe.Close()
			return os.Remove(probe.Name())
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: %v", p, err)
		}
		if filepath.Dir(p) == p {
			return fmt.Errorf("no folder of %s exists", dir)
		}
	}
}

// ModelArgs are the arguments of models.promote and models.retire_shadow.
type ModelArgs struct {
	Model string `json:"model"`
}

// Validate checks the model name.
func (a *ModelArgs) Validate() error { return oneOf("model", a.Model, commandModels) }

// MaxReasonLen is the longest kill switch reason, in characters.
const MaxReasonLen = 200

// KillSwitchArgs are the arguments of killswitch.on.
type KillSwitchArgs struct {
	Reason string `json:"reason,omitempty"` // optional, at most MaxReasonLen characters
}

// Validate checks the reason's length and characters.
func (a *KillSwitchArgs) Validate() error {
	if n := utf8.RuneCountInString(a.Reason); n > MaxReasonLen {
		return &FieldError{Field: "reason", Msg: fmt.Sprintf("is %d characters, the most is %d", n, MaxReasonLen)}
	}
	if err := streams.CheckText(a.Reason); err != nil {
		return &FieldError{Field: "reason", Msg: err.Error()}
	}
	return nil
}

// NoArgs is the arguments of a command that takes none: only {} or an empty body.
type NoArgs struct{}

// Validate accepts it.
func (*NoArgs) Validate() error { return nil }

// AgentArgs are the arguments of agents.start, agents.stop, agents.halt and agents.resume.
type AgentArgs struct {
	Agent string `json:"agent"` // 1-64 letters, digits, '_' or '-'
}

var agentNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate checks the agent name.
func (a *AgentArgs) Validate() error {
	if a.Agent == "" {
		return &FieldError{Field: "agent", Msg: "is required"}
	}
	if !agentNameRE.MatchString(a.Agent) {
		return &FieldError{Field: "agent", Msg: "must be 1-64 letters, digits, '_' or '-'"}
	}
	return nil
}

// CancelAllArgs are the arguments of orders.cancel_all: one agent's orders, or, left out,
// every agent's.
type CancelAllArgs struct {
	Agent *string `json:"agent,omitempty"`
}

// Validate checks the agent name when one is given: "" is no agent (it does not mean all).
func (a *CancelAllArgs) Validate() error {
	if a.Agent != nil && !agentNameRE.MatchString(*a.Agent) {
		return &FieldError{Field: "agent", Msg: fmt.Sprintf("%q: must be 1-64 letters, digits, '_' or '-' (leave it out to cancel every agent's orders)", *a.Agent)}
	}
	return nil
}

// RebalanceArgs are the arguments of portfolio.rebalance: the risk profile whose weights the
// capital goes back to and the drift tolerated, both optional (the engine's configured
// profile, a drift of 0.05). The engine replaces the check with one that also knows its
// profiles and agents (cmd/synapse).
type RebalanceArgs struct {
	Profile   *string `json:"profile,omitempty"`
	Threshold *string `json:"threshold,omitempty"` // a decimal string from 0 to 1
}

var profileNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate checks the profile's name and the threshold when given.
func (a *RebalanceArgs) Validate() error {
	if a.Profile != nil && !profileNameRE.MatchString(*a.Profile) {
		return &FieldError{Field: "profile", Msg: fmt.Sprintf("%q: must be 1-64 letters, digits, '_' or '-' (leave it out for the engine's profile)", *a.Profile)}
	}
	if a.Threshold != nil {
		if err := fraction("threshold", *a.Threshold, "0.05: five points of weight; leave it out for the engine's"); err != nil {
			return err
		}
	}
	return nil
}

// DistributeArgs are the arguments of portfolio.distribute: the growth above its high-water
// mark each agent keeps (0: every profit above the mark is swept).
type DistributeArgs struct {
	Keep string `json:"keep"` // a decimal string from 0 to 1, required
}

// Validate checks keep.
func (a *DistributeArgs) Validate() error {
	if a.Keep == "" {
		return &FieldError{Field: "keep", Msg: `is required: the growth above its high-water mark each agent keeps, e.g. "0.05" (0: sweep every profit)`}
	}
	return fraction("keep", a.Keep, "0.05: each agent keeps 5% growth above its high-water mark")
}

// fraction checks that s is a decimal from 0 to 1.
func fraction(field, s, example string) error {
	d, err := streams.ParseDecimal(s)
	if err != nil || d.IsNeg() || d.Cmp(decimal.One) > 0 {
		return &FieldError{Field: field, Msg: fmt.Sprintf("%q is not a decimal from 0 to 1 of at most 19 significant digits (%s)", s, example)}
	}
	return nil
}

// registerDefaultCommands registers the commands that exist today. The models.* commands
// are applied by inference.Registry (models.train by the engine's training runner); they need admin because they load files from the
// server's disk. killswitch.*, agents.*, orders.* and portfolio.* are applied by the trading
// desk (actors.Desk).
func (g *Gateway) registerDefaultCommands() {
	g.HandleCommand("models.deploy", RoleAdmin, Args[DeployArgs]())
	g.HandleCommand("models.train", RoleAdmin, Args[TrainArgs]())
	g.HandleCommand("models.promote", RoleAdmin, Args[ModelArgs]())
	g.HandleCommand("models.retire_shadow", RoleAdmin, Args[ModelArgs]())
	g.HandleCommand("killswitch.on", RoleTrader, Args[KillSwitchArgs]())
	g.HandleCommand("killswitch.off", RoleTrader, Args[NoArgs]())
	g.HandleCommand("agents.halt", RoleTrader, Args[AgentArgs]())
	g.HandleCommand("agents.resume", RoleTrader, Args[AgentArgs]())
	g.HandleCommand("agents.start", RoleTrader, Args[AgentArgs]())
	g.HandleCommand("agents.stop", RoleTrader, Args[AgentArgs]())
	g.HandleCommand("orders.cancel_all", RoleTrader, Args[CancelAllArgs]())
	g.HandleCommand("portfolio.rebalance", RoleTrader, Args[RebalanceArgs]())
	g.HandleCommand("portfolio.distribute", RoleTrader, Args[DistributeArgs]())
}

// HandleCommand registers (or replaces) the command name: POST /api/v1/commands/{name}
// needs role (trader or admin) and arguments that decode passes. Call it before Handler.
func (g *Gateway) HandleCommand(name string, role Role, decode DecodeArgs) {
	if role.rank() < RoleTrader.rank() {
		role = RoleTrader // commands always need at least trader
	}
	g.commands[name] = CommandSpec{Role: role, Decode: decode}
}

// Commands returns the registered command names and the role each needs.
func (g *Gateway) Commands() map[string]Role {
	out := make(map[string]Role, len(g.commands))
	for name, s := range g.commands {
		out[name] = s.Role
	}
	return out
}

// maxBody is the largest request body the API reads.
const maxBody = 64 << 10

// bodyTimeout bounds reading a request's body: a client that trickles one holds a
// connection and a goroutine for no longer.
var bodyTimeout = 10 * time.Second

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyTimeout)) // the next request's is the server's again
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes", maxBody), ""}
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, &apiError{http.StatusRequestTimeout, fmt.Sprintf("the body did not arrive within %s", bodyTimeout), ""}
		}
		return nil, &apiError{http.StatusBadRequest, "reading the body: " + err.Error(), ""}
	}
	return body, nil
}

// serveCommand answers POST /api/v1/commands/{name}: 202 {"id","seq","name"} once the
// command is on the log; 400 naming the field for bad arguments, 415 for a body that is not
// application/json, 404 for an unknown command, 403 for a too-weak role, 429 over the rate
// limit, 503 when the log refuses. Nothing reaches the log unless every check passed.
func (g *Gateway) serveCommand(w http.ResponseWriter, r *http.Request) {
	id, _ := IdentityOf(r)
	issued, aerr, wait := g.issue(r.Context(), id, r.PathValue("name"), func() ([]byte, *apiError) {
		body, aerr := readBody(w, r)
		if aerr == nil && len(bytes.TrimSpace(body)) > 0 {
			aerr = jsonContentType(r)
		}
		return body, aerr
	})
	switch {
	case wait > 0:
		writeRateLimited(w, wait)
	case aerr != nil:
		writeError(w, aerr)
	default:
		writeJSON(w, http.StatusAccepted, issued)
	}
}

// jsonContentType refuses (415) a request whose Content-Type is not application/json, with
// no parameter but charset=utf-8: a form or text body is not taken for JSON arguments. A
// command without arguments may come with no body, and then with any Content-Type or none.
func jsonContentType(r *http.Request) *apiError {
	const fix = `send the arguments as JSON with the header "Content-Type: application/json" (curl: -H 'Content-Type: application/json')`
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return &apiError{http.StatusUnsupportedMediaType, "no Content-Type: " + fix, ""}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &apiError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q is not application/json: %s", ct, fix), ""}
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return &apiError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: JSON is UTF-8, the only parameter taken is charset=utf-8: %s", ct, fix), ""}
		}
	}
	return nil
}

// issuedCommand is the answer to a command the log stored.
type issuedCommand struct {
	ID   string `json:"id"`
	Seq  uint64 `json:"seq"`
	Name string `json:"name"`
}

// issue checks the command name from id (rate limit, role, then the arguments body reads)
// and puts it on the log. It returns what was stored, or why not: an error with its HTTP
// status, or how long to wait when over the rate limit.
func (g *Gateway) issue(ctx context.Context, id Identity, name string, body func() ([]byte, *apiError)) (issuedCommand, *apiError, time.Duration) {
	spec, known := g.commands[name]
	label := name
	if !known {
		label = "unknown"
	}
	result := func(res string) { g.metrics.commands.WithLabelValues(label, res).Inc() }
	if wait, ok := g.limiter.allow(id.Name); !ok {
		result("rate_limited")
		return issuedCommand{}, nil, max(wait, time.Millisecond)
	}
	if !known {
		result("unknown")
		return issuedCommand{}, &apiError{http.StatusNotFound, fmt.Sprintf("no command %q (GET /api/v1/commands lists them)", name), ""}, 0
	}
	if !id.Role.Allows(spec.Role) {
		result("forbidden")
		return issuedCommand{}, &apiError{http.StatusForbidden, fmt.Sprintf("%s %q has role %s; %s needs %s", id.credential(), id.Name, id.Role, name, spec.Role), ""}, 0
	}
	data, aerr := body()
	if aerr != nil {
		result("invalid")
		return issuedCommand{}, aerr, 0
	}
	args, err := spec.Decode(data)
	if err != nil {
		result("invalid")
		return issuedCommand{}, badRequest(err), 0
	}
	cmd, err := streams.NewCommand(name, args, id.Name)
	if err != nil {
		result("invalid")
		return issuedCommand{}, badRequest(err), 0
	}
	if g.opts.Submit == nil {
		result("refused")
		return issuedCommand{}, &apiError{http.StatusServiceUnavailable, "commands are not enabled on this server (no log to put them on)", ""}, 0
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	seq, err := g.opts.Submit(ctx, cmd)
	if err != nil {
		result("refused")
		g.opts.Logger.Warn("command not stored", "command", name, "id", cmd.CommandID, "issuer", id.Name, "err", err)
		return issuedCommand{}, &apiError{http.StatusServiceUnavailable, "the log did not store the command, nothing was changed; retry: " + err.Error(), ""}, 0
	}
	result("accepted")
	g.opts.Logger.Info("command accepted", "command", name, "id", cmd.CommandID, "seq", seq, "issuer", id.Name)
	return issuedCommand{ID: cmd.CommandID, Seq: seq, Name: name}, nil, 0
}

// serveListCommands answers GET /api/v1/commands with each command and the role it needs.
func (g *Gateway) serveListCommands(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, g.Commands())
}

// apiError is an error answer: {"error": msg, "field": field}.
type apiError struct {
	status int
	msg    string
	field  string
}

func badRequest(err error) *apiError {
	var fe *FieldError
	if errors.As(err, &fe) {
		return &apiError{http.StatusBadRequest, fe.Error(), fe.Field}
	}
	return &apiError{http.StatusBadRequest, err.Error(), ""}
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]string{"error": e.msg}
	if e.field != "" {
		body["field"] = e.field
	}
	writeJSON(w, e.status, body)
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
