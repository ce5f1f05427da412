// Package config owns pipe's configuration: the typed application configs
// (PipeCD's pipecd.dev/v1beta1 kinds), the shared files under .pipe/ and the
// repository config .pipe/config.yaml. It decodes YAML strictly, reporting
// every problem of a file at once with file:line:column, the field path and a
// hint; it applies PipeCD's defaults; it validates each file and the repository
// as a whole. It never reads flags, the environment or the network.
package config
