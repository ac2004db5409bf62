package replay

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/synapse-trading/synapse/streams"
)

// MaxLineBytes is the longest line a Reader accepts (a 1000-level depth snapshot is about
// 60 KB). A longer line is skipped and counted as malformed.
const MaxLineBytes = 16 << 20

// maxLastErrors is how many malformed-line messages a Reader keeps.
const maxLastErrors = 5

// lookaheadLines is how many capture lines a Reader reads ahead to find the venue and the
// symbol before it decodes the first frame.
const lookaheadLines = 1000

// Record is one event read from a recording.
type Record struct {
	// At is when the event became known, in epoch ns: the capture's receive time for a
	// websocket frame, the close time for a kline. Replays are ordered on it.
	At     int64
	Event  streams.Event
	Source string // the file the event came from, as named to Open
	Format Format // that file's format
	Line   int    // its 1-based line in that file
}

// ReaderOptions override what a Reader would otherwise detect. Empty fields detect.
type ReaderOptions struct {
	Venue    string // VenueSpot or VenueFutures: the venue of every event
	Symbol   string // the symbol of the events whose file name (or frame) does not tell it
	Interval string // the kline interval (default: from the file name, or the candle span)
}

// Format names the two kinds of recording.
type Format string

// The recording formats.
const (
	FormatKlines  Format = "klines"  // a Binance kline CSV
	FormatCapture Format = "capture" // a websocket capture, "<recv_ns> <json>" a line
)

// FileStats counts what a Reader (or a Replay, per file) did with one file.
type FileStats struct {
	Source     string
	Format     Format
	Venue      string // the venue detected or given; "" until it is settled
	Records    int64  // events delivered
	Malformed  int64  // lines skipped because they could not be decoded (or read)
	OutOfOrder int64  // events dropped because their time or sequence went backwards
	Duplicates int64  // events dropped because their ID was already seen
	Stored     int64  // events left out because the log holds them already (Options.Skip)
	NonMarket  int64  // futures trades skipped because they are not order-book trades (X != MARKET)
	OpenKlines int64  // kline frames skipped because their candle was still open
	// OtherStreams counts frames of streams a replay does not read and replies to
	// subscription requests (see ErrOtherStream).
	OtherStreams int64
	LastErrors   []string // the last few malformed-line messages, "file:line: problem"
}

// Reader reads one recording file as Records. Bad lines are skipped and counted (see
// Stats); duplicate and out-of-order events are dropped and counted.
type Reader struct {
	name   string
	opts   ReaderOptions
	hints  nameHints
	format Format
	lines  *lineReader
	closer io.Closer // the gzip reader and/or the file this Reader opened; may be nil
	guard  *Guard    // nil when a Replay checks order across files instead
	input  *countingReader
	size   int64 // bytes in the file as stored; 0 if unknown

	venue  string // settled venue ("" until settled)
	symbol string // settled symbol for capture snapshots (may stay "")
	// bookIDs holds each symbol's last order-book update ID (depth, bookTicker, snapshot),
	// so that a bare REST snapshot in a capture of several symbols finds its symbol.
	bookIDs map[string]int64

	// kline files
	sawHeader bool

	// capture files: lines read ahead while settling the venue
	pending []pendingLine

	stats FileStats
}

type pendingLine struct {
	n    int
	line []byte
	err  error
}

// OpenFile opens a recording file; see NewReader.
func OpenFile(path string, opts ReaderOptions) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open recording: %w", err)
	}
	r, err := newReader(f, path, opts, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// OpenFileFS opens the recording name in fsys (such as recordings.FS()); see NewReader.
func OpenFileFS(fsys fs.FS, name string, opts ReaderOptions) (*Reader, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open recording: %w", err)
	}
	r, err := newReader(f, name, opts, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// NewReader reads the recording in src, gzipped or not (told by the gzip magic bytes).
// name is used in messages and, unless opts say otherwise, for the symbol and interval
// ("BTCUSDT-1m-2022-09-05.csv.gz"). The format is told from the content. Close does not
// close src.
func NewReader(src io.Reader, name string, opts ReaderOptions) (*Reader, error) {
	return newReader(src, name, opts, nil)
}

func newReader(src io.Reader, name string, opts ReaderOptions, owned io.Closer) (*Reader, error) {
	var size int64
	if st, ok := src.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if info, err := st.Stat(); err == nil {
			size = info.Size()
		}
	}
	input := &countingReader{r: src}
	br := newBufioReader(input)
	closer := owned
	hintName := name
	if magic, _ := br.Peek(4); bytes.Equal(magic, []byte("PK\x03\x04")) {
		entry, entryName, err := openZipEntry(src, size, name, &input.n)
		if err != nil {
			return nil, err
		}
		br = newBufioReader(entry)
		closer = closers{entry, owned}
		if hintsFromName(name).Symbol == "" {
			hintName = entryName // the zip was renamed; the CSV inside keeps Binance's name
		}
	} else if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: bad gzip header: %v", name, ErrTruncated, err)
		}
		br = newBufioReader(zr)
		closer = closers{zr, owned}
	}
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3) // a UTF-8 byte-order mark (spreadsheet exports) is not content
	}
	format, err := detectFormat(br, name)
	if err != nil {
		return nil, err
	}
	r := &Reader{
		name:   name,
		opts:   opts,
		hints:  hintsFromName(hintName),
		format: format,
		lines:  &lineReader{br: br},
		closer: closer,
		guard:  NewGuard(),
		input:  input,
		size:   size,
		stats:  FileStats{Source: name, Format: format},
	}
	if format == FormatKlines && opts.Symbol == "" && r.hints.Symbol == "" {
		return nil, fmt.Errorf("%s: %w: the file name does not start with a symbol (BTCUSDT-1m-...); name the file after its symbol (BTCUSDT-1m-2024-01.csv.gz) or pass --symbol", name, ErrNoSymbol)
	}
	return r, nil
}

// openZipEntry opens the one file in a zip archive, as Binance Vision publishes its daily and
// monthly files (BTCUSDT-1m-2024-01.zip holding BTCUSDT-1m-2024-01.csv). A zip keeps its
// directory at its end, so src must be a file that reads at any offset. consumed counts the
// entry's compressed bytes as they are read, for the progress of a replay (it ends a little
// short of the file's size: the headers and the directory are not counted).
func openZipEntry(src io.Reader, size int64, name string, consumed *atomic.Int64) (io.ReadCloser, string, error) {
	at, ok := src.(io.ReaderAt)
	if !ok || size <= 0 {
		return nil, "", fmt.Errorf("%s: %w: a zip archive must be read from a file, not a stream: unzip it first", name, ErrUnknownFormat)
	}
	zr, err := zip.NewReader(countingReaderAt{at, consumed}, size)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w: bad zip archive: %v", name, ErrTruncated, err)
	}
	consumed.Store(0) // what format detection and the directory took is not progress
	var files []*zip.File
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() {
			files = append(files, f)
		}
	}
	if len(files) != 1 {
		names := make([]string, len(files))
		for i, f := range files {
			names[i] = f.Name
		}
		return nil, "", fmt.Errorf("%s: %w: a zip archive must hold exactly one recording, as Binance Vision's do; it holds %d (%s): unzip it and pass the files", name, ErrUnknownFormat, len(files), strings.Join(names, ", "))
	}
	rc, err := files[0].Open()
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w: %s in the zip archive: %v", name, ErrTruncated, files[0].Name, err)
	}
	return rc, path.Base(files[0].Name), nil
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n *atomic.Int64
}

func (c countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// newBufioReader buffers enough to detect the format from the first lines.
func newBufioReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 64<<10) }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// closers closes a gzip reader and then the file under it.
type closers struct {
	zr   io.Closer
	file io.Closer
}

func (c closers) Close() error {
	err := c.zr.Close()
	if c.file != nil {
		err = errors.Join(err, c.file.Close())
	}
	return err
}

// Size is the size of the file in bytes as stored (compressed, if it is gzipped), or 0
// when unknown (a NewReader source with no Stat method). With Consumed it drives a
// progress bar.
func (r *Reader) Size() int64 { return r.size }

// Consumed is how many bytes of the stored file have been read so far, read-ahead
// included. It is safe to call from any goroutine.
func (r *Reader) Consumed() int64 { return r.input.n.Load() }

// Format reports the file's format.
func (r *Reader) Format() Format { return r.format }

// Next returns the next event of the file, or io.EOF after the last one. It never returns
// another error: bad lines are skipped and counted, and so are duplicate and out-of-order
// events.
func (r *Reader) Next() (Record, error) {
	for {
		rec, err := r.next()
		if err != nil {
			return Record{}, err
		}
		switch r.guard.Check(rec.Event) {
		case Duplicate:
			r.stats.Duplicates++
		case OutOfOrder:
			r.stats.OutOfOrder++
		default:
			r.stats.Records++
			return rec, nil
		}
	}
}

// Stats reports what the Reader has done so far.
func (r *Reader) Stats() FileStats {
	s := r.stats
	s.Venue = r.venue
	s.LastErrors = append([]string(nil), r.stats.LastErrors...)
	return s
}

// Close releases the file (and gzip reader) the Reader opened.
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	err := r.closer.Close()
	r.closer = nil
	return err
}

// next decodes the next good line, without the order checks.
func (r *Reader) next() (Record, error) {
	if r.format == FormatKlines {
		return r.nextKline()
	}
	return r.nextCapture()
}

// malformed counts a skipped line and keeps its message.
func (r *Reader) malformed(line int, err error) {
	r.stats.Malformed++
	msg := (&LineError{File: r.name, Line: line, Err: err}).Error()
	if len(r.stats.LastErrors) == maxLastErrors {
		r.stats.LastErrors = append(r.stats.LastErrors[:0], r.stats.LastErrors[1:]...)
	}
	r.stats.LastErrors = append(r.stats.LastErrors, msg)
}

func (r *Reader) nextKline() (Record, error) {
	for {
		line, err := r.lines.next()
		if err == io.EOF {
			return Record{}, io.EOF
		}
		n := r.lines.n
		if err != nil {
			r.malformed(n, err)
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue // blank lines carry nothing
		}
		text := string(line)
		if n == 1 && IsKlineHeader(text) {
			r.sawHeader = true
			continue
		}
		k := &streams.Kline{}
		form, err := decodeKlineRow(text, k)
		if err != nil {
			r.malformed(n, err)
			continue
		}
		if r.venue == "" {
			r.settleKlineVenue(form)
		}
		k.Venue = r.venue
		k.Symbol = firstOf(r.hints.Symbol, r.opts.Symbol)
		// The candle's own span tells its interval before the file name does: a file of 5m
		// candles named -1m- (or the reverse) holds 5m candles.
		k.Interval = firstOf(r.opts.Interval, binanceInterval(k.OpenTime, k.CloseTime), r.hints.Interval)
		if k.Interval == "" {
			k.Interval = intervalFromSpan(k.OpenTime, k.CloseTime)
		}
		return Record{At: k.CloseTime * 1_000_000, Event: k, Source: r.name, Format: FormatKlines, Line: n}, nil
	}
}

// settleKlineVenue: a Binance Vision header with epoch ms means USDⓈ-M futures; no header,
// epoch µs (Binance Vision spot from 2025 on) or ISO times (the REST/pandas spot layout)
// mean spot.
func (r *Reader) settleKlineVenue(form timeForm) {
	switch {
	case r.opts.Venue != "":
		r.venue = r.opts.Venue
	case r.sawHeader && form == timesMillis:
		r.venue = VenueFutures
	default:
		r.venue = VenueSpot
	}
}

func (r *Reader) nextCapture() (Record, error) {
	if r.venue == "" {
		r.settleCapture()
	}
	for {
		n, line, err := r.nextCaptureLine()
		if err == io.EOF {
			return Record{}, io.EOF
		}
		if err != nil {
			r.malformed(n, err)
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		recvNs, frame, err := splitCaptureLine(line)
		if err != nil {
			r.malformed(n, err)
			continue
		}
		ev, err := decodeFrameAs(r.venue, r.bareSnapshotSymbol, recvNs, frame)
		r.noteBookID(ev)
		if errors.Is(err, ErrNotMarketTrade) {
			r.stats.NonMarket++
			continue
		}
		if errors.Is(err, ErrOpenKline) {
			r.stats.OpenKlines++
			continue
		}
		if errors.Is(err, ErrOtherStream) {
			r.stats.OtherStreams++
			continue
		}
		if err != nil {
			r.malformed(n, err)
			continue
		}
		return Record{At: recvNs, Event: ev, Source: r.name, Format: FormatCapture, Line: n}, nil
	}
}

// noteBookID keeps ev's order-book update ID for bareSnapshotSymbol.
func (r *Reader) noteBookID(ev streams.Event) {
	var id int64
	switch e := ev.(type) {
	case *streams.Depth:
		id = e.FinalID
	case *streams.Ticker:
		id = e.UpdateID
	case *streams.Snapshot:
		id = e.LastUpdateID
	default:
		return
	}
	if r.bookIDs == nil {
		r.bookIDs = map[string]int64{}
	}
	_, sym := ev.Key()
	r.bookIDs[sym] = id
}

// bareSnapshotSymbol names the symbol of a bare REST depth snapshot, which names none: the
// symbol whose order-book update IDs are nearest its lastUpdateId (each symbol's IDs are
// their own series, far apart), among those seen so far, else among the next lines; else
// the file's symbol. A capture of one symbol gets that symbol, as before.
func (r *Reader) bareSnapshotSymbol(lastUpdateID int64) string {
	if sym := nearestBook(r.bookIDs, lastUpdateID); sym != "" {
		return sym
	}
	if sym := nearestBook(r.bookIDsAhead(), lastUpdateID); sym != "" {
		return sym
	}
	return r.symbol
}

// nearestBook returns the symbol whose update ID is nearest id, if it is within 0.1 % of id
// (hours of updates on the busiest books); "" if none is.
func nearestBook(ids map[string]int64, id int64) string {
	best, bestDist := "", id/1000+1
	for sym, last := range ids {
		d := last - id
		if d < 0 {
			d = -d
		}
		if d < bestDist || (d == bestDist && sym < best) {
			best, bestDist = sym, d
		}
	}
	return best
}

// bookIDsAhead reads up to lookaheadLines lines ahead (kept for nextCapture, as
// settleCapture's are) and returns the first order-book update ID each symbol shows there.
func (r *Reader) bookIDsAhead() map[string]int64 {
	ids := map[string]int64{}
	note := func(f *frameFields, kind frameKind) bool {
		if f.s == nil || (kind != frameDepth && kind != frameTicker && kind != framePartialDepth) {
			return true
		}
		sym, _ := jsonString(f.s)
		id, err := strconv.ParseInt(string(f.u), 10, 64)
		if _, seen := ids[sym]; !seen && err == nil {
			ids[sym] = id
		}
		return true
	}
	for _, p := range r.pending {
		if f, kind, ok := peekFrame(p.line, p.err); ok {
			note(f, kind)
		}
	}
	r.readAhead(note)
	return ids
}

// readAhead reads up to lookaheadLines lines, keeping them for nextCapture, and shows visit
// each frame whose kind it can tell, until visit returns false.
func (r *Reader) readAhead(visit func(f *frameFields, kind frameKind) (more bool)) {
	for i := 0; i < lookaheadLines; i++ {
		line, err := r.lines.next()
		if err == io.EOF {
			return
		}
		r.pending = append(r.pending, pendingLine{n: r.lines.n, line: bytes.Clone(line), err: err})
		if f, kind, ok := peekFrame(line, err); ok && !visit(f, kind) {
			return
		}
	}
}

// peekFrame parses a capture line's frame far enough to tell its kind (ok false: it cannot).
func peekFrame(line []byte, err error) (*frameFields, frameKind, bool) {
	if err != nil {
		return nil, 0, false
	}
	_, frame, err := splitCaptureLine(line)
	if err != nil {
		return nil, 0, false
	}
	var f frameFields
	if f.parse(frame) != nil {
		return nil, 0, false
	}
	kind, err := f.kind()
	return &f, kind, err == nil
}

func (r *Reader) nextCaptureLine() (int, []byte, error) {
	if len(r.pending) > 0 {
		p := r.pending[0]
		r.pending = r.pending[1:]
		return p.n, p.line, p.err
	}
	line, err := r.lines.next()
	return r.lines.n, line, err
}

// settleCapture reads ahead until a frame reveals the venue (and, for bare snapshots, the
// symbol), keeping the lines read for nextCapture. The frames decide the venue; the file
// name is the fallback, then spot. Options override both.
func (r *Reader) settleCapture() {
	venue, symbol := r.opts.Venue, r.hints.Symbol
	if venue == "" || symbol == "" {
		r.readAhead(func(f *frameFields, kind frameKind) bool {
			if venue == "" {
				venue = f.venue(kind)
			}
			if symbol == "" && f.s != nil {
				symbol, _ = jsonString(f.s)
			}
			return venue == "" || symbol == ""
		})
	}
	r.venue = firstOf(venue, r.hints.Venue, VenueSpot)
	r.symbol = firstOf(symbol, r.opts.Symbol)
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// detectFormat tells a kline CSV from a websocket capture by the first lines: a capture
// line starts "<digits> {", a kline row has 12 comma-separated columns. The file name's
// extension (.csv, .txt) is the fallback. An empty file reads as a kline file with no rows.
func detectFormat(br *bufio.Reader, name string) (Format, error) {
	head, _ := br.Peek(br.Size())
	if len(bytes.TrimSpace(head)) == 0 {
		return FormatKlines, nil
	}
	for rest := head; len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		switch {
		case looksLikeCapture(line):
			return FormatCapture, nil
		case bytes.Count(line, []byte(",")) == klineColumns-1:
			return FormatKlines, nil
		}
	}
	lower := strings.ToLower(name)
	switch {
	case strings.Contains(lower, ".csv"):
		return FormatKlines, nil
	case strings.Contains(lower, ".txt"):
		return FormatCapture, nil
	}
	return "", fmt.Errorf("%s: %w: want a Binance kline CSV or a websocket capture (\"<recv_ns> <json>\" lines)", name, ErrUnknownFormat)
}

func looksLikeCapture(line []byte) bool {
	i := 0
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	return i > 0 && i+1 < len(line) && line[i] == ' ' && line[i+1] == '{'
}

// lineReader reads lines of any length up to MaxLineBytes.
type lineReader struct {
	br   *bufio.Reader
	n    int    // number of the line last returned
	buf  []byte // holds a line longer than br's buffer
	done bool   // the input has ended (or failed); next returns io.EOF
}

// next returns the next line without its line ending. The slice is valid until the next
// call. It returns io.EOF at the end, and an error wrapping ErrTruncated when the input
// cannot be read to its end (a truncated gzip file): that line is lost and the reader
// then ends. A line longer than MaxLineBytes is skipped with ErrLineTooLong.
func (l *lineReader) next() ([]byte, error) {
	if l.done {
		return nil, io.EOF
	}
	l.n++
	l.buf = l.buf[:0]
	tooLong := false
	for {
		chunk, err := l.br.ReadSlice('\n')
		if err == nil && len(l.buf) == 0 && !tooLong {
			return trimEOL(chunk), nil // the common case: the line fits the buffer
		}
		if len(l.buf)+len(chunk) > MaxLineBytes {
			tooLong = true
			l.buf = l.buf[:0]
		}
		if !tooLong {
			l.buf = append(l.buf, chunk...)
		}
		switch {
		case err == nil:
			if tooLong {
				return nil, fmt.Errorf("%w: longer than %d bytes", ErrLineTooLong, MaxLineBytes)
			}
			return trimEOL(l.buf), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			l.done = true
			if tooLong {
				return nil, fmt.Errorf("%w: longer than %d bytes", ErrLineTooLong, MaxLineBytes)
			}
			if len(l.buf) == 0 {
				return nil, io.EOF
			}
			return trimEOL(l.buf), nil // a last line without a line ending
		default:
			l.done = true
			return nil, fmt.Errorf("%w: %v; the rest of the file is lost (re-download it?)", ErrTruncated, err)
		}
	}
}

func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}
