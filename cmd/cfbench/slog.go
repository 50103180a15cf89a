package main

import (
	"context"
	"errors"
	"log/slog"
)

// teeHandler sends each record to every handler that is enabled for its level.
type teeHandler []slog.Handler

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range t {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(teeHandler, len(t))
	for i, h := range t {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	out := make(teeHandler, len(t))
	for i, h := range t {
		out[i] = h.WithGroup(name)
	}
	return out
}

// terminalHandler passes records to its handler except librdkafka's own log lines (records with
// a "librdkafka" attribute): they are in run.log, and on the terminal an unreachable broker
// would repeat them for every connection attempt, burying the one error that says what to do.
type terminalHandler struct{ slog.Handler }

func (h terminalHandler) Handle(ctx context.Context, r slog.Record) error {
	fromLibrdkafka := false
	r.Attrs(func(a slog.Attr) bool {
		fromLibrdkafka = a.Key == "librdkafka"
		return !fromLibrdkafka
	})
	if fromLibrdkafka {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h terminalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return terminalHandler{h.Handler.WithAttrs(as)}
}

func (h terminalHandler) WithGroup(name string) slog.Handler {
	return terminalHandler{h.Handler.WithGroup(name)}
}
