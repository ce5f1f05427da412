package runemu

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Serve serves an emulator on ln until ctx ends (the dev cloud).
func Serve(ctx context.Context, ln net.Listener, opts Options) error {
	srv := &http.Server{Handler: New(opts), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ExportLine is the shell line that points pipe at an emulator at url.
func ExportLine(url, project string) string {
	return "export PIPE_CLOUDRUN_ENDPOINT=" + url + " PIPE_CLOUDRUN_PROJECT=" + project
}
