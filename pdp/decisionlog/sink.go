package decisionlog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// New starts the Logger that cfg describes: its sink (stdout, a rotated file, an http
// receiver, or none) and what it keeps. dataDir holds the http sink's spill.
func New(cfg config.DecisionLog, dataDir string, deps Deps) (*Logger, error) {
	var s sink
	c := &counters{}
	switch cfg.Sink {
	case "none":
		return Discard(), nil
	case "stdout":
		s = newWriterSink(os.Stdout, nil, deps.Logger)
	case "file":
		f := &lumberjack.Logger{
			Filename: cfg.Path, MaxSize: cfg.MaxSizeMB, MaxBackups: cfg.MaxBackups, MaxAge: cfg.MaxAgeDays,
		}
		s = newWriterSink(f, f, deps.Logger)
	case "http":
		h, err := newHTTPSink(*cfg.HTTP, dataDir, c, deps.Logger)
		if err != nil {
			return nil, fmt.Errorf("decision_log.http: %w", err)
		}
		s = h
	default:
		return nil, fmt.Errorf("decision_log.sink: %q is not stdout, file, http or none", cfg.Sink)
	}
	return newLogger(optionsOf(cfg), s, c, deps)
}

// NewWriter starts a Logger writing JSON lines to w, for tests and embedders.
func NewWriter(w io.Writer, cfg config.DecisionLog, deps Deps) (*Logger, error) {
	return newLogger(optionsOf(cfg), newWriterSink(w, nil, deps.Logger), &counters{}, deps)
}

func optionsOf(cfg config.DecisionLog) Options {
	return Options{Buffer: cfg.Buffer, SampleAllowed: config.ValueOr(cfg.SampleAllowed, 1), Mask: cfg.Mask}
}

// writeBuffer is how much of the log is gathered into one write.
const writeBuffer = 64 << 10

// writerSink writes JSON lines to a writer (stdout, or a file lumberjack rotates by size).
// Each write holds whole lines only, so a rotation never splits a record between two files.
type writerSink struct {
	w      io.Writer
	buf    []byte
	closer io.Closer
	log    *slog.Logger
}

func newWriterSink(w io.Writer, closer io.Closer, log *slog.Logger) *writerSink {
	return &writerSink{w: w, buf: make([]byte, 0, writeBuffer), closer: closer, log: log}
}

// write writes the events as lines, in as few writes of up to writeBuffer bytes as they fit
// (a larger event is written alone). A failure loses all of them: some may be out, but none
// is known to be.
func (s *writerSink) write(events [][]byte) error {
	s.buf = s.buf[:0]
	for _, e := range events {
		if len(s.buf) > 0 && len(s.buf)+len(e)+1 > writeBuffer {
			if err := s.flush(len(events)); err != nil {
				return err
			}
		}
		s.buf = append(append(s.buf, e...), '\n')
	}
	return s.flush(len(events))
}

func (s *writerSink) flush(records int) error {
	_, err := s.w.Write(s.buf)
	s.buf = s.buf[:0]
	if err != nil {
		s.log.Error("decision log write failed", "records", records, "error", err)
	}
	return err
}

func (s *writerSink) close(context.Context) error {
	if s.closer == nil {
		return nil
	}
	return s.closer.Close()
}
