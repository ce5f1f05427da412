// Package initgc keeps the garbage collector off while the program's
// packages initialise, and gives it back to main.
//
// pipe links Kubernetes' API types, the AWS SDK, Helm and a JSON Schema
// compiler, whose package initialisation allocates about 9 MB. With the
// collector running, that start-up work triggers collections whose
// marking competes with it on the CI runner's few cores: every command
// paid about 8 ms for them (a quarter of `pipe version`). Nothing in
// initialisation needs memory back, so the collector waits for main.
//
// Go initialises packages in dependency order, taking the one whose
// import path sorts first among those ready. This package imports only
// runtime/debug, so it runs before every package of the module's
// dependencies whose path sorts after github.com/gitops-pipe (go-git,
// google.golang.org, helm.sh, k8s.io, sigs.k8s.io, the JSON Schema
// compiler...), which are most of the work. GOGC, GOMEMLIMIT and
// GODEBUG=gcpercent are honoured: Done restores the percentage the runtime
// had (GOGC=off stays off), and a memory limit applies throughout.
package initgc

import "runtime/debug"

// restored is the GC percentage to give back; set by init.
var restored = debug.SetGCPercent(-1)

// Done turns the collector back on as the environment configured it. main
// calls it first; later calls do nothing.
func Done() {
	if restored != -2 {
		debug.SetGCPercent(restored)
		restored = -2
	}
}
