package web

import "errors"

var (
	// ErrTokenFile means the token file could not be read or written: the message names
	// the file, and the line for a malformed one.
	ErrTokenFile = errors.New("token file")
	// ErrTokenName means a token name is empty, too long or has characters other than
	// letters, digits, '.', '_' and '-'.
	ErrTokenName = errors.New("bad token name")
	// ErrTokenExists means a token with that name already exists: revoke it first or pick
	// another name.
	ErrTokenExists = errors.New("token name taken")
	// ErrNoSuchToken means no token has that name.
	ErrNoSuchToken = errors.New("no such token")
	// ErrLastAdmin means the token is the last admin token: revoking it would leave no one
	// able to manage tokens or deploy models.
	ErrLastAdmin = errors.New("last admin token")
	// ErrBadRole means a role is not one of viewer, trader, admin.
	ErrBadRole = errors.New("bad role")
	// ErrBadCommand means a command's arguments are invalid; the error is a *FieldError
	// naming the field.
	ErrBadCommand = errors.New("bad command")
	// ErrQueryFailed marks a query that failed for a reason of the engine's (a database that
	// does not answer), not of its parameters: the gateway answers 500 instead of 400.
	ErrQueryFailed = errors.New("query failed")
)
