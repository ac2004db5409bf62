// Package benchmarks holds Synapse's load scenarios. Each scenario measures a figure of the
// engine and, in the same run, the baseline it is judged against (raw Hollywood sends, raw
// JetStream PublishAsync, ...), so a result is a ratio on this machine rather than a number
// that depends on it. `synapse bench SCENARIO [--json]` runs one; `make bench` runs them all
// briefly. See README.md beside this file.
package benchmarks
