package binancetest

import "errors"

// ErrBadCSV means a kline CSV could not be read: a row has the wrong number of columns or a
// field that is not a number. The error names the line; check the file's layout (Binance
// Vision: 12 columns, optional header).
var ErrBadCSV = errors.New("bad kline csv")
