// Command testenv builds and runs the local Kubernetes control plane of
// internal/testenv/kube, and builds the OpenTofu and Terraform binaries of
// internal/testenv/tfbin, outside of tests:
//
//	testenv build            build all the binaries into the cache (CI does this first)
//	testenv build-kube       build only the Kubernetes control plane's binaries
//	testenv build-terraform  build only tofu and terraform
//	testenv up      start the dev cluster in the background; prints the
//	                `export KUBECONFIG=...` line on stdout
//	testenv down    stop the dev cluster
//	testenv cloud-up    start the AWS emulator of internal/testenv/awsemu and the
//	                    Cloud Run emulator of internal/testenv/runemu in the
//	                    background; prints the `export AWS_ENDPOINT_URL=...` and
//	                    `export PIPE_CLOUDRUN_ENDPOINT=...` lines
//	testenv cloud-down  stop it
//
// Progress goes to stderr.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
	"github.com/gitops-pipe/pipe/internal/testenv/kube"
	"github.com/gitops-pipe/pipe/internal/testenv/runemu"
	"github.com/gitops-pipe/pipe/internal/testenv/tfbin"
)

const usage = `usage: testenv build|build-kube|build-terraform|up|down|cloud-up|cloud-down

  build            build-kube, then build-terraform
  build-kube       build kube-apiserver, kube-controller-manager, kube-scheduler,
                   kubectl, etcd and kwok into the cache ($PIPE_TESTENV_CACHE, or
                   ${XDG_CACHE_HOME:-$HOME/.cache}/pipe/testenv) if they are not there
  build-terraform  build tofu ` + tfbin.TofuVersion + ` and terraform ` + tfbin.TerraformVersion + ` into the same
                   cache if they are not there
  up               start a control plane in the background (state in
                   <cache>/dev-cluster) and print the line that points kubectl
                   at it: eval "$(testenv up)"
  down             stop it
  cloud-up         start the AWS emulator (Lambda, S3, STS; internal/testenv/awsemu)
                   and the Cloud Run emulator (internal/testenv/runemu) in the background
                   on 127.0.0.1 (state in <cache>/dev-cloud) and print the lines that
                   point the AWS CLI and SDKs, and pipe's Cloud Run platform, at them:
                   eval "$(testenv cloud-up)"
  cloud-down       stop it
`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 3 && args[0] == "cloud-serve" {
		// Hidden: the detached emulators cloud-up starts: cloud-serve DIR ADDR.
		return cloudServe(args[1], args[2])
	}
	if len(args) != 1 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
	}
	var err error
	switch args[0] {
	case "build", "build-kube", "build-terraform":
		if args[0] != "build-terraform" {
			_, err = kube.EnsureBinaries(ctx, logf)
		}
		if err == nil && args[0] != "build-kube" {
			var bins *tfbin.Binaries
			if bins, err = tfbin.Ensure(ctx, logf); err == nil {
				logf("testenv: %s and %s ready", bins.Tofu, bins.Terraform)
			}
		}
		if err == nil {
			var dir string
			dir, err = kube.CacheDir()
			logf("testenv: binaries ready in %s", dir)
		}
	case "up":
		var dir, kubeconfig string
		if dir, err = kube.DevClusterDir(); err == nil {
			if kubeconfig, err = kube.StartDetached(ctx, dir, logf); err == nil {
				logf("testenv: dev cluster running (logs in %s/logs; stop it with `make dev-cluster-down`)", dir)
				fmt.Printf("export KUBECONFIG=%s\n", kubeconfig)
			}
		}
	case "down":
		var dir string
		if dir, err = kube.DevClusterDir(); err == nil {
			if err = kube.StopDir(dir); err == nil {
				err = os.RemoveAll(dir)
				logf("testenv: dev cluster stopped")
			}
		}
	case "cloud-up":
		var dir, exe, url string
		if dir, err = devCloudDir(); err == nil {
			if exe, err = os.Executable(); err == nil {
				if url, err = awsemu.StartDetached(ctx, dir, exe, "cloud-serve", dir); err == nil {
					var runURL string
					if runURL, err = cloudRunURL(dir); err == nil {
						logf("testenv: AWS emulator running at %s, Cloud Run emulator at %s (log in %s/log; stop them with `make dev-cloud-down`)", url, runURL, dir)
						fmt.Println(awsemu.ExportLine(url, awsemu.DefaultRegion))
						fmt.Println(runemu.ExportLine(runURL, runemu.DefaultProject))
					}
				}
			}
		}
	case "cloud-down":
		var dir string
		if dir, err = devCloudDir(); err == nil {
			if err = awsemu.StopDetached(dir); err == nil {
				logf("testenv: AWS and Cloud Run emulators stopped")
			}
		}
	default:
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	return 0
}

func devCloudDir() (string, error) {
	cache, err := kube.CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "dev-cloud"), nil
}

// cloudRunAddrFile is where cloud-serve writes the Cloud Run emulator's address.
const cloudRunAddrFile = "cloudrun-addr"

// cloudRunURL returns the URL of the Cloud Run emulator of the dev cloud running from dir.
func cloudRunURL(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, cloudRunAddrFile))
	if err != nil {
		return "", fmt.Errorf("the dev cloud running from %s has no Cloud Run emulator (started by an older testenv? `make dev-cloud-down` first): %w", dir, err)
	}
	return "http://" + strings.TrimSpace(string(b)), nil
}

// cloudServe serves the AWS emulator on addr, and the Cloud Run emulator on
// a free 127.0.0.1 port whose address it writes to dir, until SIGTERM or SIGINT.
func cloudServe(dir, addr string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, cloudRunAddrFile), []byte(ln.Addr().String()+"\n"), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	now := time.Now().Format("15:04:05")
	fmt.Fprintf(os.Stderr, "%s testenv: AWS emulator serving on %s, Cloud Run emulator on %s\n", now, addr, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- serve(ctx, ln, runemu.New(runemu.Options{ReadyDelay: time.Second})) }()
	awsLn, err := net.Listen("tcp", addr)
	if err == nil {
		err = serve(ctx, awsLn, awsemu.New(awsemu.Options{UpdateDelay: time.Second}))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	stop()
	if err := <-errc; err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	return 0
}

// serve serves h on ln until ctx ends.
func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
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
