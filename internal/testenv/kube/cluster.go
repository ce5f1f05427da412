package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure Start.
type Options struct {
	// Dir holds the control plane's files: pki/, etcd/ (data), logs/,
	// kubeconfig, kwok.yaml; it should be empty or absent. Empty: a new
	// temporary directory, removed by Stop unless Keep.
	Dir string
	// Keep leaves Dir in place after Stop (logs, etcd data) for debugging.
	Keep bool
	// Detach starts the processes so that they outlive this process (the
	// dev cluster): no parent-death signal. Stop them with StopDir.
	Detach bool
	// Logf receives start-up progress; nil discards it.
	Logf Logf
	// Binaries to run; nil builds or reuses the cached ones (EnsureBinaries).
	Binaries *Binaries
	// StartTimeout bounds the start-up once the binaries are there
	// (default 3 minutes; it takes 3-6 s on a busy 2-core machine).
	StartTimeout time.Duration
}

// NodeName is the fake node KWOK manages; every pod is scheduled onto it.
const NodeName = "kwok-node-0"

// Cluster is a running control plane: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and KWOK (as the kubelet of one
// fake node), all on 127.0.0.1 with free ports.
type Cluster struct {
	// Dir holds pki/, etcd/, logs/ and the kubeconfig.
	Dir string
	// Host is the apiserver URL, https://127.0.0.1:<port>.
	Host string
	// KubeconfigData is the kubeconfig (admin client certificate, CA and key
	// inlined as PEM), also written to Kubeconfig().
	KubeconfigData []byte
	// CAPEM, ClientCertPEM and ClientKeyPEM are the cluster CA and the admin
	// (system:masters) client credentials.
	CAPEM, ClientCertPEM, ClientKeyPEM []byte
	// Binaries are the programs the cluster runs (Kubectl for benchmarks).
	Binaries *Binaries

	keep      bool
	client    *Client
	pki       *pki
	mu        sync.Mutex
	procs     []*process // start order: etcd, apiserver, controller-manager, scheduler, kwok
	apiserver *process
	stopped   bool
}

// Kubeconfig returns the path of the kubeconfig file.
func (c *Cluster) Kubeconfig() string { return filepath.Join(c.Dir, "kubeconfig") }

// Client returns a REST client authenticated as the admin.
func (c *Cluster) Client() *Client { return c.client }

// LogDir is where each process writes <name>.log.
func (c *Cluster) LogDir() string { return filepath.Join(c.Dir, "logs") }

// Kubectl returns a kubectl command (the cached build) for this cluster.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.Binaries.Kubectl, append([]string{"--kubeconfig", c.Kubeconfig()}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig())
	return cmd
}

// Start starts a control plane and waits until it can run pods: /readyz
// answers, the KWOK node is Ready and the `default` ServiceAccount exists in
// the `default` namespace. A port taken between choosing and binding it is
// retried with new ports.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.Binaries == nil {
		b, err := EnsureBinaries(ctx, opts.Logf)
		if err != nil {
			return nil, err
		}
		opts.Binaries = b
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 3 * time.Minute
	}
	for attempt := 1; ; attempt++ {
		c, err := start(ctx, opts)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, errPortInUse) || attempt == 3 {
			return nil, err
		}
		opts.Logf("kube: %v; retrying with other ports", err)
	}
}

var errPortInUse = errors.New("a port was taken by another process")

func start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	dir, tempDir := opts.Dir, opts.Dir == ""
	if tempDir {
		if dir, err = os.MkdirTemp("", "pipe-kube-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, Binaries: opts.Binaries, keep: opts.Keep || !tempDir}
	defer func() {
		if err != nil {
			err = fmt.Errorf("kube: start control plane: %w%s", err, c.failedTails())
			c.stopProcesses()
			if tempDir && !opts.Keep {
				os.RemoveAll(dir)
			} else {
				// Its member and peer URL would not match the next attempt's.
				os.RemoveAll(filepath.Join(dir, "etcd"))
			}
		}
	}()

	for _, d := range []string{"pki", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return c, err
		}
	}
	if c.pki, err = newPKI(filepath.Join(dir, "pki")); err != nil {
		return c, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return c, err
	}
	etcdClient, etcdPeer, apiPort := ports[0], ports[1], ports[2]
	c.Host = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	c.CAPEM, c.ClientCertPEM, c.ClientKeyPEM = c.pki.caPEM, c.pki.adminCertPEM, c.pki.adminKeyPEM
	c.KubeconfigData = c.pki.kubeconfig(c.Host)
	if err := writeFileAtomic(c.Kubeconfig(), c.KubeconfigData); err != nil {
		return c, err
	}
	if c.client, err = newClient(c.Host, c.CAPEM, c.ClientCertPEM, c.ClientKeyPEM); err != nil {
		return c, err
	}
	kwokConfig := filepath.Join(dir, "kwok.yaml")
	if err := os.WriteFile(kwokConfig, kwokStages(), 0o644); err != nil {
		return c, err
	}

	b, p := opts.Binaries, c.pki
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)
	etcd := newProcess(dir, "etcd", b.Etcd,
		"--name=pipe-testenv",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=pipe-testenv="+peerURL,
		// Test data need not survive a power cut; fsync dominates etcd's
		// latency on a shared disk.
		"--unsafe-no-fsync",
		"--log-level=warn",
	)
	c.apiserver = newProcess(dir, "kube-apiserver", b.APIServer,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiPort),
		"--cert-dir="+filepath.Join(dir, "pki"),
		"--tls-cert-file="+p.servingCert, "--tls-private-key-file="+p.servingKey,
		"--client-ca-file="+p.caCert,
		"--authorization-mode=Node,RBAC",
		"--service-cluster-ip-range="+ServiceCIDR,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+p.saPub,
		"--service-account-signing-key-file="+p.saKey,
		"--allow-privileged=true",
		// The `kubernetes` Service's endpoints would be 127.0.0.1, which
		// endpoint validation rejects; nothing here routes to it.
		"--endpoint-reconciler-type=none",
		// Bounds how long SIGTERM waits for clients' watches to drain: the
		// apiserver then exits in ~1 s instead of hitting stopGrace.
		"--shutdown-watch-termination-grace-period=2s",
	)
	kubeconfig := c.Kubeconfig()
	kcm := newProcess(dir, "kube-controller-manager", b.ControllerManager,
		"--kubeconfig="+kubeconfig,
		"--authentication-kubeconfig="+kubeconfig, "--authorization-kubeconfig="+kubeconfig,
		"--secure-port=0",
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		// Every default controller (deployment, replicaset, namespace,
		// serviceaccount(-token), garbage-collector, ...) except those that
		// need a cloud provider.
		"--controllers=*,-cloud-node-lifecycle-controller,-node-route-controller,-service-lb-controller",
		"--service-account-private-key-file="+p.saKey,
		"--root-ca-file="+p.caCert,
		"--cluster-signing-cert-file="+p.caCert, "--cluster-signing-key-file="+p.caKey,
		"--service-cluster-ip-range="+ServiceCIDR,
		// Deployments of hundreds of objects (the benchmarks) should not
		// queue behind the default client rate limit of 20 QPS.
		"--kube-api-qps=200", "--kube-api-burst=400",
	)
	scheduler := newProcess(dir, "kube-scheduler", b.Scheduler,
		"--kubeconfig="+kubeconfig,
		"--authentication-kubeconfig="+kubeconfig, "--authorization-kubeconfig="+kubeconfig,
		"--secure-port=0",
		"--leader-elect=false",
	)
	kwok := newProcess(dir, "kwok", b.KWOK,
		"--kubeconfig="+kubeconfig,
		"--config="+kwokConfig,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--cidr="+PodCIDR,
		"--node-ip=127.0.0.1",
		// KWOK renews the node's Lease (what the node lifecycle controller
		// watches), the node-heartbeat-with-lease stage refreshes status.
		"--node-lease-duration-seconds=40",
	)
	for _, pr := range []*process{etcd, c.apiserver, kcm, scheduler, kwok} {
		pr.detach = opts.Detach
	}

	step := time.Now()
	if err := c.run(etcd); err != nil {
		return c, err
	}
	if err := c.waitFor(ctx, "etcd /health", func(ctx context.Context) error { return etcdHealthy(ctx, etcdURL) }); err != nil {
		return c, err
	}
	opts.Logf("kube: etcd up in %s", time.Since(step).Round(time.Millisecond))
	step = time.Now()
	if err := c.run(c.apiserver); err != nil {
		return c, err
	}
	if err := c.waitFor(ctx, "kube-apiserver /readyz", c.client.Ready); err != nil {
		return c, err
	}
	opts.Logf("kube: kube-apiserver ready in %s", time.Since(step).Round(time.Millisecond))
	step = time.Now()
	for _, pr := range []*process{kcm, scheduler, kwok} {
		if err := c.run(pr); err != nil {
			return c, err
		}
	}
	if err := c.createNode(ctx); err != nil {
		return c, err
	}
	if err := c.waitFor(ctx, "node "+NodeName+" Ready and untainted", c.nodeReady); err != nil {
		return c, err
	}
	if err := c.waitFor(ctx, "ServiceAccount default/default", func(ctx context.Context) error {
		return c.client.Get(ctx, "/api/v1/namespaces/default/serviceaccounts/default", nil)
	}); err != nil {
		return c, err
	}
	opts.Logf("kube: node Ready and default ServiceAccount in %s; control plane up in %s (%s)",
		time.Since(step).Round(time.Millisecond), time.Since(began).Round(time.Millisecond), dir)
	return c, nil
}

func (c *Cluster) run(p *process) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := p.start(); err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	if p.detach {
		return c.writePIDs()
	}
	return nil
}

// waitFor polls check until it succeeds, a process of the cluster exits
// (the error then carries its log tail), or ctx ends.
func (c *Cluster) waitFor(ctx context.Context, what string, check func(context.Context) error) error {
	delay := 20 * time.Millisecond
	var last error
	for {
		if err := c.exitedProcess(); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last: %v)", what, ctx.Err(), last)
		case <-time.After(delay):
		}
		if delay < 500*time.Millisecond {
			delay *= 2
		}
	}
}

// exitedProcess returns an error naming a process that has exited, and
// errPortInUse when its log says it could not bind.
func (c *Cluster) exitedProcess() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if p.running() {
			continue
		}
		err := p.exitError()
		if strings.Contains(tailFile(p.logPath, 30), "address already in use") {
			return fmt.Errorf("%w: %w", errPortInUse, err)
		}
		return err
	}
	return nil
}

func etcdHealthy(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
		return fmt.Errorf("etcd /health: %d %s", resp.StatusCode, body)
	}
	return nil
}

// createNode registers the fake node; KWOK's node-initialize stage fills
// in its status (capacity 1k CPU, 1Ti memory, 1M pods) and keeps it Ready.
func (c *Cluster) createNode(ctx context.Context) error {
	node := map[string]any{
		"apiVersion": "v1",
		"kind":       "Node",
		"metadata": map[string]any{
			"name":        NodeName,
			"annotations": map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			"labels": map[string]string{
				"kubernetes.io/hostname": NodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
				"kubernetes.io/role": "agent", "node-role.kubernetes.io/agent": "", "type": "kwok",
			},
		},
	}
	err := c.client.Create(ctx, "/api/v1/nodes", node, nil)
	if IsAlreadyExists(err) {
		return nil
	}
	return err
}

// nodeReady checks that the node is Ready and that the controller manager
// has removed the node.kubernetes.io/not-ready taint the apiserver put on it
// at creation, so the first pods of a test schedule at once rather than
// after the scheduler's back-off.
func (c *Cluster) nodeReady(ctx context.Context) error {
	var node struct {
		Spec struct {
			Taints []struct{ Key, Effect string }
		}
		Status struct {
			Conditions []struct{ Type, Status string }
		}
	}
	if err := c.client.Get(ctx, "/api/v1/nodes/"+NodeName, &node); err != nil {
		return err
	}
	ready := false
	for _, cond := range node.Status.Conditions {
		if cond.Type == "Ready" && cond.Status == "True" {
			ready = true
		}
	}
	if !ready {
		return errors.New("node not Ready yet")
	}
	for _, t := range node.Spec.Taints {
		if strings.HasPrefix(t.Key, "node.kubernetes.io/") {
			return fmt.Errorf("node still has taint %s:%s", t.Key, t.Effect)
		}
	}
	return nil
}

// StopAPIServer stops kube-apiserver (SIGTERM, then SIGKILL after a grace
// period) and leaves the rest running: clients then get connection errors
// until StartAPIServer.
func (c *Cluster) StopAPIServer() {
	c.mu.Lock()
	p := c.apiserver
	c.mu.Unlock()
	p.stop()
}

// StartAPIServer starts kube-apiserver again on the same port and data,
// and waits for /readyz.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	c.mu.Lock()
	err := errors.New("kube: kube-apiserver is running")
	if !c.apiserver.running() {
		err = c.apiserver.start()
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := c.waitFor(ctx, "kube-apiserver /readyz", c.client.Ready); err != nil {
		return fmt.Errorf("kube: restart kube-apiserver: %w%s", err, c.failedTails())
	}
	return nil
}

// Stop stops every process (in reverse start order: SIGTERM to its process
// group, SIGKILL after a grace period) and removes the cluster's directory
// unless it is to be kept. It is safe to call more than once.
func (c *Cluster) Stop() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	c.mu.Unlock()
	c.stopProcesses()
	if !c.keep {
		os.RemoveAll(c.Dir)
	}
}

func (c *Cluster) stopProcesses() {
	c.mu.Lock()
	procs := append([]*process(nil), c.procs...)
	c.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop()
	}
}

// WriteLogTails writes the last n lines of every process's log to w.
func (c *Cluster) WriteLogTails(w io.Writer, n int) {
	c.mu.Lock()
	procs := append([]*process(nil), c.procs...)
	c.mu.Unlock()
	for _, p := range procs {
		fmt.Fprintf(w, "---- last %d lines of %s\n%s\n", n, p.logPath, tailFile(p.logPath, n))
	}
}

// failedTails is the log tail of the processes that exited, or of all of
// them when none did (a start-up timeout), for an error message.
func (c *Cluster) failedTails() string {
	c.mu.Lock()
	procs := append([]*process(nil), c.procs...)
	c.mu.Unlock()
	var sb strings.Builder
	var dead []*process
	for _, p := range procs {
		if !p.running() {
			dead = append(dead, p)
		}
	}
	if len(dead) == 0 {
		dead = procs
	}
	for _, p := range dead {
		fmt.Fprintf(&sb, "\n---- last 20 lines of %s\n%s", p.logPath, tailFile(p.logPath, 20))
	}
	return sb.String()
}

// freePorts picks n distinct free TCP ports on 127.0.0.1. They are free when
// chosen; another process may still take one before it is bound, which
// Start detects and retries.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
